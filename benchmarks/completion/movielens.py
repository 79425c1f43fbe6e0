"""MovieLens-100k from the recbole 1.2.1 wheel (downloaded at benchmark time, never
committed), as Matrix Market train/test files for `sparrow complete`.

The wheel ships ml-100k.inter (user, item, rating, timestamp) but not GroupLens'
u1..u5 files, so the splits are seeded 80/20 splits of all 100,000 ratings:
split s uses numpy.random.default_rng(s).permutation. Users and items keep their
MovieLens ids (1-based), so the shape is 943 × 1682 in every split.
"""
import io, os, subprocess, sys, zipfile
import numpy as np

WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"


def ratings(cache):
    wheel = os.path.join(cache, WHEEL_NAME)
    if not os.path.exists(wheel):
        os.makedirs(cache, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "recbole==1.2.1", "--no-deps", "-q", "-d", cache], check=True)
    with zipfile.ZipFile(wheel) as z:
        text = z.read(MEMBER).decode()
    rows = np.loadtxt(io.StringIO(text), skiprows=1, usecols=(0, 1, 2), dtype=np.int64)
    return rows[:, 0], rows[:, 1], rows[:, 2].astype(float)


def write_mtx(path, m, n, users, items, values):
    order = np.lexsort((items, users))
    with open(path, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write("%% MovieLens-100k (recbole 1.2.1 wheel), seeded split\n")
        f.write(f"{m} {n} {len(users)}\n")
        np.savetxt(f, np.column_stack([users[order], items[order], values[order]]), fmt="%d %d %g")


def splits(cache, out, count=5):
    users, items, values = ratings(cache)
    m, n = int(users.max()), int(items.max())
    paths = []
    for s in range(1, count + 1):
        perm = np.random.default_rng(s).permutation(len(users))
        cut = int(0.8 * len(users))
        train, test = perm[:cut], perm[cut:]
        base, probe = os.path.join(out, f"s{s}.base.mtx"), os.path.join(out, f"s{s}.test.mtx")
        write_mtx(base, m, n, users[train], items[train], values[train])
        write_mtx(probe, m, n, users[test], items[test], values[test])
        paths.append((base, probe, users, items, values, train, test))
    return paths


if __name__ == "__main__":
    for p in splits(sys.argv[1] if len(sys.argv) > 1 else "/tmp/sparrow-bench-cache", sys.argv[2] if len(sys.argv) > 2 else "."):
        print(p[0], p[1])
