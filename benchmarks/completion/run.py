#!/usr/bin/env python3
"""Matrix completion benchmark, in one run:

1. MovieLens-100k (recbole 1.2.1 wheel; five seeded 80/20 splits, see movielens.py):
   scikit-surprise 1.1.5 SVD (n_factors = 20, as in the issue's measurement; its
   other settings default) against `sparrow complete`
   (ALS-WR with biases), interleaved per split. For Sparrow, the time to a test
   RMSE is its fit time (spectral initialization + sweeps, from the report;
   reading excluded, as Surprise's fit excludes loading) until the sweep whose
   test RMSE first reaches the target.
2. Exact (als) against inexact sweeps (1 or 3 CG steps per row) for k in
   {10, 50, 100, 200} on split 1: median seconds per sweep and the test RMSE after
   10 sweeps. The paper's robust solve against both, also on the ML-20M-sized
   synthetic problem: robust.py.

Writes results.csv, results.md and results.png in benchmarks/completion.
"""
import csv, json, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paths import here, root, sparrow, work  # noqa: E402,F401
import movielens  # noqa: E402

SURPRISE = r'''
import sys, time, json
import numpy as np
from surprise import SVD, Dataset, Reader
# The .mtx files written by movielens.py: banner, one comment line, the size line, then "user item rating".
reader = Reader(line_format="user item rating", sep=" ", skip_lines=3, rating_scale=(1, 5))
data = Dataset.load_from_file(sys.argv[1], reader=reader).build_full_trainset()
test = [l.split() for l in open(sys.argv[2]).read().splitlines()[3:]]
algo = SVD(n_factors=20, random_state=int(sys.argv[3]))
t = time.perf_counter(); algo.fit(data); fit = time.perf_counter() - t
pred = np.array([algo.predict(u, i).est for u, i, _ in test])
truth = np.array([float(r) for _, _, r in test])
print(json.dumps({"fit": fit, "rmse": float(np.sqrt(np.mean((pred - truth) ** 2)))}))
'''


def run_sparrow(base, test, k, sweeps, method="als", extra=()):
    report = os.path.join(work, "report.json")
    cmd = [sparrow, "complete", base, "--rank", str(k), "--lambda", "0.1", "--biases", "--sweeps", str(sweeps),
           "--method", method, "--test", test, "--report", report, "--quiet", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - start
    with open(report) as f:
        r = json.load(f)
    return r, wall


def time_to(report, target):
    """Fit seconds (init + sweeps) until the first sweep whose test RMSE ≤ target, or None."""
    elapsed = report["timings"].get("init", 0.0)
    for h in report["history"]:
        elapsed += h["seconds"]
        if h["test_rmse"] <= target:
            return elapsed
    return None


def movielens_part(rows):
    splits = movielens.splits(os.path.join(work, "cache"), work)
    for s, (base, test, *_rest) in enumerate(splits, start=1):
        for round_ in range(2):
            out = subprocess.run([sys.executable, "-c", SURPRISE, base, test, str(s)], check=True, capture_output=True, text=True)
            surprise = json.loads(out.stdout)
            for k in (10, 50):
                r, wall = run_sparrow(base, test, k, 20)
                rows.append({"part": "movielens", "split": s, "round": round_, "contender": f"sparrow als k={k}",
                             "fit_seconds": r["timings"]["init"] + r["timings"]["sweeps"], "wall_seconds": wall,
                             "test_rmse": r["metrics"]["test_rmse"],
                             "time_to_surprise_rmse": time_to(r, surprise["rmse"]), "time_to_0.915": time_to(r, 0.915)})
            rows.append({"part": "movielens", "split": s, "round": round_, "contender": "surprise svd k=20",
                         "fit_seconds": surprise["fit"], "wall_seconds": "", "test_rmse": surprise["rmse"],
                         "time_to_surprise_rmse": surprise["fit"], "time_to_0.915": ""})
    return splits


def sweep_part(rows, base, test, ks=(10, 50, 100, 200), part="sweep-vs-k", sweeps=10, extra_methods=()):
    for k in ks:
        for method, extra in [("als", ()), ("inexact", ("--inner-iterations", "1")), ("inexact", ("--inner-iterations", "3"))] + list(extra_methods):
            r, _ = run_sparrow(base, test, k, sweeps, method, extra)
            label = method + ("" if not extra else " cg" + extra[1])
            rows.append({"part": part, "k": k, "contender": label,
                         "sweep_seconds": statistics.median(h["seconds"] for h in r["history"]),
                         "test_rmse": r["metrics"]["test_rmse"], "init_seconds": r["timings"]["init"]})
            print(part, k, label, rows[-1]["sweep_seconds"], rows[-1]["test_rmse"], flush=True)


def write(rows, name):
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(here, name), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def main():
    os.makedirs(work, exist_ok=True)
    rows = []
    splits = movielens_part(rows)
    sweep_part(rows, splits[0][0], splits[0][1])
    write(rows, "results.csv")
    ml = [r for r in rows if r["part"] == "movielens"]
    def mean(contender, key):
        values = [r[key] for r in ml if r["contender"] == contender and r[key] not in ("", None)]
        return statistics.mean(values) if values else float("nan")
    def median(contender, key):
        values = [r[key] for r in ml if r["contender"] == contender and r[key] not in ("", None)]
        return statistics.median(values) if values else float("nan")
    lines = ["# Matrix completion: MovieLens-100k (5 seeded 80/20 splits, 2 interleaved rounds) and sweep cost against k", "",
             "| contender | mean test RMSE | median fit s | median s to Surprise's RMSE | median s to RMSE ≤ 0.915 |", "|---|---|---|---|---|"]
    for c in ["surprise svd k=20", "sparrow als k=10", "sparrow als k=50"]:
        lines.append(f"| {c} | {mean(c, 'test_rmse'):.4f} | {median(c, 'fit_seconds'):.4f} | {median(c, 'time_to_surprise_rmse'):.4f} | "
                     f"{median(c, 'time_to_0.915'):.4f} |")
    sweeps = [r for r in rows if r["part"] == "sweep-vs-k"]
    lines += ["", "| k | als s/sweep | inexact cg1 s/sweep | inexact cg3 s/sweep | speed-up cg1 / cg3 | test RMSE after 10 sweeps: als / cg1 / cg3 |",
              "|---|---|---|---|---|---|"]
    for k in sorted({r["k"] for r in sweeps}):
        a, b, c = (next(r for r in sweeps if r["k"] == k and r["contender"] == name) for name in ("als", "inexact cg1", "inexact cg3"))
        lines.append(f"| {k} | {a['sweep_seconds']:.4f} | {b['sweep_seconds']:.4f} | {c['sweep_seconds']:.4f} | "
                     f"{a['sweep_seconds'] / b['sweep_seconds']:.1f}× / {a['sweep_seconds'] / c['sweep_seconds']:.1f}× | "
                     f"{a['test_rmse']:.4f} / {b['test_rmse']:.4f} / {c['test_rmse']:.4f} |")
    with open(os.path.join(here, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(sweeps, "results.png", "MovieLens-100k (split 1): seconds per sweep")


def plot(sweeps, name, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for contender in sorted({r["contender"] for r in sweeps}):
        pts = sorted((r["k"], r["sweep_seconds"]) for r in sweeps if r["contender"] == contender)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=contender)
    ax.set_xlabel("rank k"); ax.set_ylabel("seconds per sweep (median)"); ax.set_yscale("log"); ax.set_title(title, fontsize=9)
    ax.legend(); fig.tight_layout(); fig.savefig(os.path.join(here, name), dpi=110)


if __name__ == "__main__":
    main()
