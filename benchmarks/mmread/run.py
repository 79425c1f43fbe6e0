#!/usr/bin/env python3
"""Matrix Market parse benchmark: Sparrow's reader against scipy.io.mmread
(fast_matrix_market backend) on the R-MAT scale-16 file (edge factor 16,
seed 1), fresh process per contender, interleaved, in one run; plus the
distributed load (`sparrow info`, parse + distribution) at P = 1 and 2.

Writes benchmarks/mmread/results.csv, results.md and results.png.
"""
import csv, json, os, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "mmread")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
bench = os.path.join(root, ".build", "release", "sparrow-bench")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none")
SCIPY = r'''
import sys, time, scipy.io
for rep in range(int(sys.argv[2])):
    t = time.perf_counter(); a = scipy.io.mmread(sys.argv[1]); t1 = time.perf_counter(); c = a.tocsr(); t2 = time.perf_counter()
    print(f"{rep},{t1 - t:.6f},{t2 - t1:.6f},{c.nnz}", flush=True)
'''

def main():
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "rmat16.mtx")
    if not os.path.exists(path):
        subprocess.run([sparrow, "generate", "rmat", "--scale", "16", "--edge-factor", "16", "--seed", "1", "-o", path, "--quiet"], check=True)
    reps = 8
    rows = []
    for round_ in range(2):
        for contender, threads, cmd in [("sparrow", 1, [bench, "mmread", path, str(reps), "1"]),
                                        ("scipy", 2, [sys.executable, "-c", SCIPY, path, str(reps)]),
                                        ("sparrow", 2, [bench, "mmread", path, str(reps), "2"])]:
            for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines():
                f = line.split(",")
                if contender == "sparrow":
                    parse, assemble = float(f[3]), float(f[4])
                else:
                    parse, assemble = float(f[1]), float(f[2])
                rows.append(dict(benchmark="mmread", contender=contender, ranks=1, threads=threads, problem="rmat16",
                                 repetition=round_ * reps + int(f[1] if contender == "sparrow" else f[0]),
                                 seconds=parse, to_csr_seconds=assemble))
        for ranks in [1, 2]:
            report = os.path.join(work, f"mmread-{ranks}.json")
            for rep in range(3):
                subprocess.run(["mpirun", "-q", "-n", str(ranks), sparrow, "info", path, "--threads", "1", "--report", report],
                               check=True, capture_output=True, env=env)
                t = json.load(open(report))["timings"]["read"]
                rows.append(dict(benchmark="distributed-load", contender="sparrow", ranks=ranks, threads=1, problem="rmat16",
                                 repetition=round_ * 3 + rep, seconds=t, to_csr_seconds=""))
    # The user-facing load path: `sparrow info` (its report's timings.read: map, parse, CSR) against
    # scipy.io.mmread(...).tocsr(), one fresh process each, interleaved.
    SCIPY_ONCE = "import sys, time, scipy.io\nt = time.perf_counter(); c = scipy.io.mmread(sys.argv[1]).tocsr(); print(time.perf_counter() - t)"
    report = os.path.join(work, "load-path.json")
    for rep in range(10):
        subprocess.run([sparrow, "info", path, "--report", report], check=True, capture_output=True, env=env)
        rows.append(dict(benchmark="load-path", contender="sparrow", ranks=1, threads=os.cpu_count(), problem="rmat16",
                         repetition=rep, seconds=json.load(open(report))["timings"]["read"], to_csr_seconds=""))
        out = subprocess.run([sys.executable, "-c", SCIPY_ONCE, path], check=True, capture_output=True, text=True).stdout
        rows.append(dict(benchmark="load-path", contender="scipy", ranks=1, threads=os.cpu_count(), problem="rmat16",
                         repetition=rep, seconds=float(out), to_csr_seconds=""))
    with open(os.path.join(here, "results.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds", "to_csr_seconds"])
        w.writeheader()
        w.writerows(rows)
    size = os.path.getsize(path)
    def med(b, c, t=None, r=None, key="seconds"):
        v = [x[key] for x in rows if x["benchmark"] == b and x["contender"] == c and (t is None or x["threads"] == t) and (r is None or x["ranks"] == r)]
        return statistics.median(v), min(v)
    s_med, s_min = med("mmread", "scipy")
    lines = [f"R-MAT scale 16 file: {size / 1e6:.1f} MB, 955,518 entries. Medians over {2 * reps} fresh-process repetitions.", "",
             "| contender | threads | parse to coordinates, median s | min s | MB/s | vs scipy (median) | then to CSR, median s |", "|---|---|---|---|---|---|---|"]
    for c, t in [("scipy", 2), ("sparrow", 1), ("sparrow", 2)]:
        m, mn = med("mmread", c, t)
        csr, _ = med("mmread", c, t, key="to_csr_seconds")
        lines.append(f"| {c} | {t} | {m:.4f} | {mn:.4f} | {size / m / 1e6:.0f} | {s_med / m:.2f}× | {csr:.4f} |")
    lines += ["", "| distributed load (`sparrow info`: parse + distribute + CSR) | ranks | median s |", "|---|---|---|"]
    for r in [1, 2]:
        m, _ = med("distributed-load", "sparrow", r=r)
        lines.append(f"| rmat16 | {r} | {m:.4f} |")
    sp, _ = med("load-path", "sparrow")
    sc, _ = med("load-path", "scipy")
    lines += ["", "| load path, fresh process, medians of 10 interleaved | seconds |", "|---|---|",
              f"| `sparrow info` timings.read (map, parse, CSR) | {sp:.4f} |", f"| `scipy.io.mmread(...).tocsr()` | {sc:.4f} |",
              f"| ratio sparrow / scipy | **{sp / sc:.2f}** |"]
    with open(os.path.join(here, "results.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels = ["scipy (2 thr)", "sparrow (1 thr)", "sparrow (2 thr)", "sparrow load P=1", "sparrow load P=2"]
        values = [med("mmread", "scipy")[0], med("mmread", "sparrow", 1)[0], med("mmread", "sparrow", 2)[0],
                  med("distributed-load", "sparrow", r=1)[0], med("distributed-load", "sparrow", r=2)[0]]
        ax.bar(labels, values, color=["gray", "C0", "C0", "C1", "C1"])
        ax.set_ylabel("seconds (median)"); ax.set_title("Matrix Market read, R-MAT 16 (28 MB)")
        plt.xticks(fontsize=7); fig.tight_layout(); fig.savefig(os.path.join(here, "results.png"), dpi=110)
    except ImportError:
        pass

if __name__ == "__main__":
    main()
