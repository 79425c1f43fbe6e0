"""A synthetic problem the size of MovieLens-20M for the robust-vs-exact sweep
comparison: 138,000 × 27,000, about 20 M observed entries whose row and column
counts follow power laws (Zipf-like weights, exponent 0.8), values from a rank-64
model plus Gaussian noise (σ = 0.1 of the signal's RMS). 2 % of the entries are
held out as a test set. Usage: synthetic.py OUT_DIR [SEED]."""
import os, sys, time
import numpy as np


def write_mtx(path, m, n, r, c, v):
    with open(path, "w") as f:
        f.write("%%MatrixMarket matrix coordinate real general\n")
        f.write(f"{m} {n} {len(r)}\n")
        chunk = 2_000_000
        for s in range(0, len(r), chunk):
            block = np.column_stack([r[s:s + chunk] + 1, c[s:s + chunk] + 1, v[s:s + chunk]])
            f.write("\n".join(f"{int(a)} {int(b)} {x:.6g}" for a, b, x in block.tolist()))
            f.write("\n")


def main(out, seed=1, m=138_000, n=27_000, target=20_000_000, k=64):
    rng = np.random.default_rng(seed)
    start = time.time()
    row_weight = (np.arange(1, m + 1) ** -0.8)[rng.permutation(m)]
    col_weight = (np.arange(1, n + 1) ** -0.8)[rng.permutation(n)]
    row_weight /= row_weight.sum(); col_weight /= col_weight.sum()
    # Draw with replacement, then drop repeats; draw a little more than needed.
    draw = int(target * 1.25)
    rows = rng.choice(m, size=draw, p=row_weight)
    cols = rng.choice(n, size=draw, p=col_weight)
    keys = np.unique(rows.astype(np.int64) * n + cols)
    keys = rng.permutation(keys)[:target]
    keys.sort()
    rows, cols = keys // n, keys % n
    U = rng.standard_normal((m, k)) / k ** 0.25
    V = rng.standard_normal((n, k)) / k ** 0.25
    values = np.empty(len(rows))
    for s in range(0, len(rows), 1_000_000):
        e = slice(s, s + 1_000_000)
        values[e] = np.einsum("ij,ij->i", U[rows[e]], V[cols[e]])
    values += 0.1 * values.std() * rng.standard_normal(len(values))
    test = rng.random(len(rows)) < 0.02
    os.makedirs(out, exist_ok=True)
    write_mtx(os.path.join(out, "train.mtx"), m, n, rows[~test], cols[~test], values[~test])
    write_mtx(os.path.join(out, "test.mtx"), m, n, rows[test], cols[test], values[test])
    counts = np.bincount(rows, minlength=m)
    print(f"{len(rows)} entries ({test.sum()} test), mean {counts.mean():.1f} per row, max {counts.max()} per row, "
          f"max {np.bincount(cols, minlength=n).max()} per column, {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
