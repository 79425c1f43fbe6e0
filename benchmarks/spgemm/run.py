#!/usr/bin/env python3
"""SpGEMM benchmark: C = A·A on R-MAT and Erdős–Rényi matrices, Sparrow against
scipy (A @ A) and SuiteSparse:GraphBLAS 7.4 (GrB_mxm, plus-times), measured the
same way in one run: each contender in a fresh process, repetition 0 is the
cold single shot, repetitions 1..5 are warm (median reported). Contenders run
interleaved so a slow phase of the machine hits all of them alike.

Writes benchmarks/spgemm/results.csv, results.md and results.png.
Usage: python3 benchmarks/spgemm/run.py [--quick] [--mpi-ranks 1,2]
"""
import argparse, csv, os, statistics, subprocess, sys, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "spgemm")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
bench = os.path.join(root, ".build", "release", "sparrow-bench")
graphblas = os.path.join(work, "graphblas_mxm")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")

def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return out.stdout

def streaming_bandwidth():
    """Bytes/s of a large copy (read + write), best of 5, as the bandwidth bound's yardstick."""
    import numpy as np
    a = np.ones(1 << 27); b = np.empty_like(a); b[:] = a
    best = min((lambda: (lambda t: (np.copyto(b, a), time.perf_counter() - t)[1])(time.perf_counter()))() for _ in range(5))
    return 2 * a.nbytes / best

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small problems (scale 13/14) for a smoke run")
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--mpi-ranks", default="1,2")
    args = parser.parse_args()
    os.makedirs(work, exist_ok=True)
    subprocess.run(["cc", "-O2", os.path.join(here, "graphblas_mxm.c"), "-lgraphblas", "-o", graphblas], check=True)
    problems = [("rmat", 14 if args.quick else 16), ("er", 15 if args.quick else 18)]
    rows = []
    bandwidth = streaming_bandwidth()
    print(f"streaming bandwidth: {bandwidth / 1e9:.1f} GB/s", flush=True)
    for kind, scale in problems:
        name = f"{kind}{scale}"
        path = os.path.join(work, f"{name}.mtx")
        if not os.path.exists(path):
            run([sparrow, "generate", kind, "--scale", str(scale), "--edge-factor", "16", "--seed", "1", "-o", path, "--quiet"])
        contenders = [
            ("sparrow", 1, "unsorted", [bench, "spgemm", path, str(args.reps), "1", "unsorted"]),
            ("scipy", 1, "unsorted", [sys.executable, os.path.join(here, "scipy_matmul.py"), path, str(args.reps)]),
            ("sparrow", 2, "unsorted", [bench, "spgemm", path, str(args.reps), "2", "unsorted"]),
            ("graphblas-7.4", 2, "sorted", [graphblas, path, str(args.reps)]),
            ("sparrow", 2, "sorted", [bench, "spgemm", path, str(args.reps), "2", "sorted"]),
            ("sparrow", 1, "sorted", [bench, "spgemm", path, str(args.reps), "1", "sorted"]),
        ]
        for contender, threads, order, cmd in contenders:
            for line in run(cmd).strip().splitlines():
                fields = line.split(",")
                if contender == "sparrow":
                    rep, seconds, flops, nnz = int(fields[1]), float(fields[4]), int(fields[7]), int(fields[8])
                else:
                    rep, seconds, nnz = int(fields[0]), float(fields[1]), int(fields[2])
                rows.append(dict(benchmark="spgemm", contender=contender, ranks=1, threads=threads, problem=name,
                                 repetition=rep, seconds=seconds, output=order, nnz_c=nnz))
            print(f"{name} {contender} T={threads} {order}: " +
                  " ".join(f"{r['seconds']:.3f}" for r in rows if r["problem"] == name and r["contender"] == contender
                           and r["threads"] == threads and r["output"] == order), flush=True)
        # Flops (2 × multiply-adds) from Sparrow's own count, shared by every contender.
        flops = int(run([bench, "spgemm", path, "1", "1", "unsorted"]).split(",")[7])
        for r in rows:
            if r["problem"] == name:
                r["flops"] = flops
                r["gflops"] = flops / r["seconds"] / 1e9
        # Distributed: the real CLI under mpirun, warm average of --repeat multiplies.
        for ranks in [int(p) for p in args.mpi_ranks.split(",")]:
            report = os.path.join(work, f"report-{name}-{ranks}.json")
            subprocess.run(["mpirun", "-q", "-n", str(ranks), sparrow, "spgemm", path, path, "--threads", "1",
                            "--repeat", "3", "--balance", "flops", "--quiet", "--report", report], check=True, env=env)
            import json
            rep = json.load(open(report))
            rows.append(dict(benchmark="spgemm-mpi", contender="sparrow", ranks=ranks, threads=1, problem=name, repetition=0,
                             seconds=rep["timings"]["total_multiply"], output="unsorted", nnz_c=rep["metrics"]["nnz_c"],
                             flops=rep["metrics"]["flops"], gflops=rep["metrics"]["gflops"],
                             communication=rep["timings"]["communication"], imbalance=rep["metrics"]["imbalance"]))
            print(f"{name} mpirun -n {ranks}: {rep['timings']['total_multiply']:.3f} s", flush=True)
    fields = ["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds", "gflops", "flops", "nnz_c",
              "output", "communication", "imbalance"]
    with open(os.path.join(here, "results.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    summarize(rows, bandwidth)

def summarize(rows, bandwidth):
    def pick(problem, contender, threads, order):
        times = [r["seconds"] for r in rows if r["benchmark"] == "spgemm" and r["problem"] == problem and r["contender"] == contender
                 and r["threads"] == threads and r["output"] == order]
        return times[0], statistics.median(times[1:]) if len(times) > 1 else times[0]
    lines = ["| problem | contender | threads | output | cold s | warm median s | warm GFLOPS | vs scipy (warm) | vs GraphBLAS (warm) | bandwidth-bound fraction |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    problems = sorted({r["problem"] for r in rows})
    for problem in problems:
        flops = next(r["flops"] for r in rows if r["problem"] == problem)
        nnz = next(r["nnz_c"] for r in rows if r["problem"] == problem and r["contender"] == "sparrow")
        cf = flops / 2 / nnz
        bound = bandwidth / (6 + 6 / cf)  # flops/s the row-wise product could reach if purely bandwidth bound
        _, scipy_warm = pick(problem, "scipy", 1, "unsorted")
        _, gb_warm = pick(problem, "graphblas-7.4", 2, "sorted")
        for contender, threads, order in [("scipy", 1, "unsorted"), ("graphblas-7.4", 2, "sorted"), ("sparrow", 1, "unsorted"),
                                          ("sparrow", 2, "unsorted"), ("sparrow", 1, "sorted"), ("sparrow", 2, "sorted")]:
            cold, warm = pick(problem, contender, threads, order)
            ratio_scipy = f"{scipy_warm / warm:.2f}×" if order == "unsorted" else ""
            ratio_gb = f"{gb_warm / warm:.2f}×" if order == "sorted" else ""
            lines.append(f"| {problem} (cf {cf:.2f}) | {contender} | {threads} | {order} | {cold:.3f} | {warm:.3f} | {flops / warm / 1e9:.3f} | "
                         f"{ratio_scipy} | {ratio_gb} | {flops / warm / bound:.2f} |")
    lines.append("")
    lines.append("| problem | ranks | multiply s (warm avg of 3) | communication s | GFLOPS | imbalance |")
    lines.append("|---|---|---|---|---|---|")
    for r in rows:
        if r["benchmark"] == "spgemm-mpi":
            lines.append(f"| {r['problem']} | {r['ranks']} | {r['seconds']:.3f} | {r['communication']:.3f} | {r['gflops']:.3f} | {r['imbalance']:.2f} |")
    lines.append("")
    lines.append(f"Streaming bandwidth (numpy copy, read+write): {bandwidth / 1e9:.1f} GB/s. Bandwidth-bound fraction: achieved flops/s "
                 f"divided by bandwidth / (6 + 6/cf) bytes per flop.")
    with open(os.path.join(here, "results.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, len(problems), figsize=(6 * len(problems), 4))
        for ax, problem in zip(axes if len(problems) > 1 else [axes], problems):
            labels, cold, warm = [], [], []
            for contender, threads, order in [("scipy", 1, "unsorted"), ("sparrow", 1, "unsorted"), ("sparrow", 2, "unsorted"),
                                              ("graphblas-7.4", 2, "sorted"), ("sparrow", 2, "sorted")]:
                c, w = pick(problem, contender, threads, order)
                labels.append(f"{contender}\nT={threads} {order}"); cold.append(c); warm.append(w)
            x = range(len(labels))
            ax.bar([i - 0.2 for i in x], cold, 0.4, label="cold (fresh process)")
            ax.bar([i + 0.2 for i in x], warm, 0.4, label="warm (median of 5)")
            ax.set_xticks(list(x)); ax.set_xticklabels(labels, fontsize=7); ax.set_ylabel("seconds"); ax.set_title(f"C = A·A, {problem}")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(here, "results.png"), dpi=110)
    except ImportError:
        print("matplotlib not installed: no plot (pip install matplotlib)")

if __name__ == "__main__":
    main()
