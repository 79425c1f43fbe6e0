#!/usr/bin/env python3
"""Factorization benchmark: analyze + factorize + solve A x = 1, Sparrow against
scipy.sparse.linalg.spsolve (SuperLU), scikit-sparse's CHOLMOD when it is
installed, and the same CHOLMOD calls made from a small C program (the Swift
layer's overhead). Same inputs, fresh process per contender, repetition 0 is
cold, the median of the rest is warm; contenders interleaved in one run.

Writes benchmarks/factor/results.csv, results.md and results.png.
Usage: python3 benchmarks/factor/run.py [--reps 6]
"""
import argparse, csv, os, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "factor")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
bench = os.path.join(root, ".build", "release", "sparrow-bench")
direct = os.path.join(work, "cholmod_direct")

SCIPY = r'''
import sys, time, numpy as np, scipy.io, scipy.sparse.linalg as sl
a = scipy.io.mmread(sys.argv[1]).tocsc(); b = np.ones(a.shape[0])
for rep in range(int(sys.argv[2])):
    t = time.perf_counter(); x = sl.spsolve(a, b); s = time.perf_counter() - t
    print(f"{rep},{s:.6f},{np.linalg.norm(a @ x - b) / np.linalg.norm(b):.3e}", flush=True)
'''
SKSPARSE = r'''
import sys, time, numpy as np, scipy.io
from sksparse.cholmod import cholesky
a = scipy.io.mmread(sys.argv[1]).tocsc(); b = np.ones(a.shape[0])
for rep in range(int(sys.argv[2])):
    t = time.perf_counter(); x = cholesky(a, ordering_method="amd")(b); s = time.perf_counter() - t
    print(f"{rep},{s:.6f},{np.linalg.norm(a @ x - b) / np.linalg.norm(b):.3e}", flush=True)
'''

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=6)
    args = parser.parse_args()
    os.makedirs(work, exist_ok=True)
    subprocess.run(["cc", "-O2", os.path.join(here, "cholmod_direct.c"), "-I/usr/include/suitesparse", "-lcholmod", "-lopenblas",
                    "-o", direct], check=True)
    lap = os.path.join(work, "lap40.mtx")
    if not os.path.exists(lap):
        subprocess.run([sparrow, "generate", "grid3d", "--n", "40", "--shift", "0.01", "-o", lap, "--quiet"], check=True)
    fixtures = os.path.join(root, "Tests", "Fixtures")
    problems = [("bcsstk13", os.path.join(fixtures, "bcsstk13.mtx"), "cholesky"), ("lap40", lap, "cholesky"),
                ("bayer10", os.path.join(fixtures, "bayer10.mtx"), "lu")]
    try:
        import sksparse  # noqa: F401
        have_sksparse = True
    except ImportError:
        have_sksparse = False
    # Every contender under the same threading: one BLAS thread, SuiteSparse's
    # OpenMP capped at one thread (what the sparrow executable sets for itself).
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OMP_THREAD_LIMIT="1")
    rows = []
    for name, path, method in problems:
        # SuperLU takes about a minute per solve of the 40³ Laplacian: cold + 2 warm there.
        scipy_reps = 3 if name == "lap40" else args.reps
        contenders = [("sparrow", [bench, "factor", path, str(args.reps), method]),
                      ("scipy-spsolve", [sys.executable, "-c", SCIPY, path, str(scipy_reps)])]
        if method == "cholesky":
            contenders.append(("cholmod-from-c", [direct, path, str(args.reps)]))
            if have_sksparse:
                contenders.append(("scikit-sparse", [sys.executable, "-c", SKSPARSE, path, str(args.reps)]))
        for contender, cmd in contenders:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
            for line in out.strip().splitlines():
                f = line.split(",")
                if contender == "sparrow":
                    rows.append(dict(benchmark="factor", contender=contender, ranks=1, threads=1, problem=name, method=method,
                                     repetition=int(f[1]), seconds=float(f[2]), error=float(f[3])))
                else:
                    rows.append(dict(benchmark="factor", contender=contender, ranks=1, threads=1, problem=name, method=method,
                                     repetition=int(f[0]), seconds=float(f[1]), error=f[2] if len(f) > 2 else ""))
            print(name, contender, [round(r["seconds"], 4) for r in rows if r["problem"] == name and r["contender"] == contender], flush=True)
    with open(os.path.join(here, "results.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=["benchmark", "contender", "ranks", "threads", "problem", "method", "repetition", "seconds", "error"])
        w.writeheader()
        w.writerows(rows)
    lines = ["| problem | method | contender | cold s | warm median s | Sparrow speed-up (warm) | relative residual |", "|---|---|---|---|---|---|---|"]
    for name, _, method in problems:
        def times(c):
            t = [r["seconds"] for r in rows if r["problem"] == name and r["contender"] == c]
            return (t[0], statistics.median(t[1:])) if t else (None, None)
        _, sparrow_warm = times("sparrow")
        for c in ["sparrow", "scipy-spsolve", "cholmod-from-c", "scikit-sparse"]:
            cold, warm = times(c)
            if cold is None:
                continue
            err = next((r["error"] for r in rows if r["problem"] == name and r["contender"] == c), "")
            ratio = "" if c == "sparrow" else (f"{warm / sparrow_warm:.2f}×" if c != "cholmod-from-c" else f"overhead {100 * (sparrow_warm / warm - 1):+.1f} %")
            lines.append(f"| {name} | {method} | {c} | {cold:.4f} | {warm:.4f} | {ratio} | {err} |")
    if not have_sksparse:
        lines.append("")
        lines.append("scikit-sparse was not importable here, so it is not in the table.")
    with open(os.path.join(here, "results.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(8, 4))
        names = [p[0] for p in problems]
        contenders = ["sparrow", "cholmod-from-c", "scikit-sparse", "scipy-spsolve"]
        width = 0.2
        for k, c in enumerate(contenders):
            values = []
            for name in names:
                t = [r["seconds"] for r in rows if r["problem"] == name and r["contender"] == c]
                values.append(statistics.median(t[1:]) if len(t) > 1 else 0)
            ax.bar([i + (k - 1.5) * width for i in range(len(names))], values, width, label=c)
        ax.set_xticks(range(len(names))); ax.set_xticklabels(names); ax.set_yscale("log"); ax.set_ylabel("seconds (warm median)")
        ax.set_title("analyze + factorize + solve"); ax.legend(fontsize=8)
        fig.tight_layout(); fig.savefig(os.path.join(here, "results.png"), dpi=110)
    except ImportError:
        pass

if __name__ == "__main__":
    main()
