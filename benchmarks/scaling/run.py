"""The scaling suite: one command for every landed algorithm.

    python3 benchmarks/scaling/run.py [--ranks 1,2,4] [--quick] [--out benchmarks/scaling] [--no-model]

Strong scaling (fixed problem, P = 1, 2, 4, …) and weak scaling (problem ∝ P)
for SpGEMM and distributed PCG; strong scaling for SpMV, Sinkhorn-Newton-
Sparse (`sparrow ot`), ALS (`sparrow complete`) and dynamic sparsifier updates
(`sparrow sparsify --updates`); and the memory check (R-MAT 18 A² and a
2^22-row banded SpMV: peak resident memory per rank against what the rank owns
and receives). Every run is `mpirun -n P sparrow VERB … --report R.json`; the
figures come from the report (phase times, bytes received, flops, and each
rank's VmHWM); `seconds` is the scaled phase (the product, the PCG
iterations, the Sinkhorn + Newton steps, the ALS sweeps, the update batch),
`wall` the whole verb. Writes results.csv, memory.csv, strong.png, weak.png and
memory.png next to this file, then runs model.py (model.csv, model.md,
model.png); docs/scaling.md shows them. About 8 minutes here. Ranks beyond the
machine's cores are oversubscribed (this VM has 2): past P = 2 the times show
the model's communication volume and memory, not speed-up.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sparrow = os.environ.get("SPARROW", os.path.join(root, ".build", "release", "sparrow"))
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")
COLUMNS = ["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds", "wall", "mode",
           "read", "compute", "communication", "write", "bytes", "max_bytes_per_rank", "flops", "max_flops_per_rank", "fetched_rows_max",
           "peak_rss_max", "peak_rss_per_rank", "owned_bytes_per_rank", "iterations"]


def run(args, ranks, work, threads=1):
    report = os.path.join(work, "report.json")
    if os.path.exists(report):
        os.remove(report)
    command = (["mpirun", "-q", "-n", str(ranks), "--oversubscribe"] if ranks > 1 else []) + \
        [sparrow] + args + ["--threads", str(threads), "--quiet", "--report", report]
    started = time.time()
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")
    r = json.load(open(report))
    r["wall"] = time.time() - started
    return r


def row(benchmark, problem, mode, ranks, report, repetition=1):
    t = report.get("timings", {})
    per = report.get("per_rank", [])
    received = [p.get("bytes_received", 0) for p in per]
    # The phase each benchmark scales (reading and writing are reported apart).
    phase = {"spgemm": "total_multiply", "spmv": "multiply", "pcg": "solve", "als": "sweeps",
             "sparsify-updates": "updates"}.get(benchmark)
    compute = t.get(phase, 0) if phase else t.get("sinkhorn", 0) + t.get("newton", 0)
    metrics = report.get("metrics", {})
    return {"benchmark": benchmark, "contender": "sparrow", "ranks": ranks, "threads": 1, "problem": problem,
            "repetition": repetition, "seconds": compute, "wall": t.get("total", 0), "mode": mode,
            "read": t.get("read", 0), "compute": compute, "communication": t.get("communication", 0),
            "write": t.get("write", 0), "bytes": sum(received), "max_bytes_per_rank": max(received or [0]),
            "flops": metrics.get("flops", ""),
            "max_flops_per_rank": max([p.get("flops", 0) for p in per] or [0]),
            "fetched_rows_max": max([p.get("fetched_rows", 0) for p in per] or [0]),
            "peak_rss_max": max([p.get("peak_resident_bytes", 0) for p in per] or [0]),
            "peak_rss_per_rank": ";".join(str(p.get("peak_resident_bytes", 0)) for p in per),
            "owned_bytes_per_rank": ";".join(str(p.get("owned_bytes", "")) for p in per),
            "iterations": metrics.get("iterations", metrics.get("newton_iterations", metrics.get("sweeps", "")))}


def write_points(path, points):
    n, d = points.shape
    with open(path, "w") as f:
        f.write(f"%%MatrixMarket matrix array real general\n{n} {d}\n")
        f.write("\n".join(repr(float(v)) for v in points.T.reshape(-1)) + "\n")


def write_ratings(path, m, n, count, k, seed):
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    keys = np.unique(rng.integers(0, m * n, size=count))
    i, j = keys // n, keys % n
    values = np.einsum("ij,ij->i", u[i], v[j]) + 0.01 * rng.standard_normal(len(keys))
    with open(path, "w") as f:
        f.write(f"%%MatrixMarket matrix coordinate real general\n{m} {n} {len(keys)}\n")
        f.write("".join(f"{a + 1} {b + 1} {c:.6f}\n" for a, b, c in zip(i, j, values)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", default="1,2,4")
    parser.add_argument("--quick", action="store_true", help="smaller problems (a smoke run)")
    parser.add_argument("--out", default=here)
    parser.add_argument("--reps", type=int, default=int(os.environ.get("REPS", "1")))
    parser.add_argument("--no-model", action="store_true", help="skip model.py (the α–β–γ fit and projections)")
    parser.add_argument("--plot-only", action="store_true", help="redraw the PNGs from the CSVs in --out")
    options = parser.parse_args()
    ranks = [int(p) for p in options.ranks.split(",")]
    if options.plot_only:
        import csv
        rows = [dict(r, ranks=int(r["ranks"])) for r in csv.DictReader(open(os.path.join(options.out, "results.csv")))]
        memory_rows = [dict(m, ranks=int(m["ranks"]), peak_resident_bytes=int(m["peak_resident_bytes"]),
                            explained_bytes=int(m["explained_bytes"])) for m in csv.DictReader(open(os.path.join(options.out, "memory.csv")))]
        plot(rows, memory_rows, options.out)
        return
    small = options.quick
    rows, memory_rows = [], []
    with tempfile.TemporaryDirectory(prefix="sparrow-scaling-") as work:
        def generate(kind, out, **kw):
            extra = sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in kw.items()), [])
            subprocess.run([sparrow, "generate", kind, "-o", os.path.join(work, out), "--quiet"] + extra, check=True, env=env)
            return out

        # SpGEMM: strong (R-MAT 15, edge factor 8) and weak (scale 13 + log2 P).
        a = generate("rmat", "rmat-strong.mtx", scale=13 if small else 15, edge_factor=8, seed=1)
        for rep in range(1, options.reps + 1):
            for p in ranks:
                rows.append(row("spgemm", "rmat15-ef8 A^2" if not small else "rmat13-ef8 A^2", "strong", p,
                                run(["spgemm", a, a, "--balance", "flops"], p, work), rep))
            for p in ranks:
                scale = (11 if small else 13) + int(np.log2(p))
                b = generate("rmat", f"rmat-weak-{p}.mtx", scale=scale, edge_factor=8, seed=1)
                rows.append(row("spgemm", f"rmat{scale}-ef8 A^2", "weak", p, run(["spgemm", b, b, "--balance", "flops"], p, work), rep))
            # Distributed PCG (Jacobi) on a 2-D Laplacian: strong n = 400², weak n = (283·√P)².
            g = generate("grid2d", "grid-strong.mtx", n=200 if small else 400, shift=0.001)
            for p in ranks:
                rows.append(row("pcg", f"grid2d {200 if small else 400}^2", "strong", p,
                                run(["solve", g, "--method", "pcg", "--rhs", "ones", "--tol", "1e-8", "--max-iterations", "5000"], p, work), rep))
            for p in ranks:
                side = int(round((140 if small else 283) * p ** 0.5))
                w = generate("grid2d", f"grid-weak-{p}.mtx", n=side, shift=0.001)
                rows.append(row("pcg", f"grid2d {side}^2", "weak", p,
                                run(["solve", w, "--method", "pcg", "--rhs", "ones", "--tol", "1e-8", "--max-iterations", "5000"], p, work), rep))
            # Sinkhorn-Newton-Sparse on 2-D point clouds (squared distances, normalized to [0, 1]).
            rng = np.random.default_rng(7)
            n_points = 400 if small else 1500
            write_points(os.path.join(work, "X.mtx"), rng.random((n_points, 2)))
            write_points(os.path.join(work, "Y.mtx"), rng.random((n_points, 2)))
            for p in ranks:
                rows.append(row("sns", f"points {n_points}x{n_points} eta=200", "strong", p,
                                run(["ot", "--source-points", "X.mtx", "--target-points", "Y.mtx", "--normalize", "--eta", "200",
                                     "--method", "sns", "--tol", "1e-8"], p, work), rep))
            # ALS on synthetic rank-8 ratings.
            m_users, n_items, count = (4000, 1000, 100_000) if small else (20_000, 5_000, 600_000)
            write_ratings(os.path.join(work, "R.mtx"), m_users, n_items, count, 8, seed=3)
            for p in ranks:
                rows.append(row("als", f"ratings {m_users}x{n_items}, {count} entries, k=8", "strong", p,
                                run(["complete", "R.mtx", "--rank", "8", "--lambda", "0.01", "--sweeps", "8", "-o", "fit"], p, work), rep))
            # Dynamic sparsifier updates on a 2-D mesh Laplacian's graph.
            side = 120 if small else 250
            graph = generate("grid2d", "mesh.mtx", n=side, shift=0.0)
            subprocess.run([sys.executable, os.path.join(root, "benchmarks", "sparsify", "stream.py"), os.path.join(work, graph),
                            "--insert", "0.05", "--delete", "0.02", "--seed", "1", "-o", os.path.join(work, "stream.txt")],
                           check=True, env=env)
            for p in ranks:
                rows.append(row("sparsify-updates", f"grid2d {side}^2 graph, 5% insertions + 2% deletions", "strong", p,
                                run(["sparsify", graph, "--density", "1.1", "--updates", "stream.txt", "--seed", "3", "-o", "H.mtx"], p, work), rep))

        # Memory: peak resident per rank against owned + received (issue 13's acceptance).
        r18 = generate("rmat", "rmat18.mtx", scale=14 if small else 18, edge_factor=4, seed=1)
        band = generate("grid2d", "band22.mtx", n=512 if small else 2048, shift=0.0)
        baseline = {}
        for p in ranks:
            tiny = os.path.join(work, "tiny.mtx")
            with open(tiny, "w") as f:
                f.write("%%MatrixMarket matrix coordinate real general\n4 4 4\n1 1 1\n2 2 1\n3 3 1\n4 4 1\n")
            baseline[p] = max(x["peak_resident_bytes"] for x in run(["spmv", "tiny.mtx"], p, work)["per_rank"])
        for name, args in [("rmat18-ef4 A^2" if not small else "rmat14-ef4 A^2", ["spgemm", r18, r18]),
                           ("banded 2^22 SpMV" if not small else "banded 2^18 SpMV", ["spmv", band, "--x", "ones", "--repeat", "5"])]:
            reports = {p: run(args, p, work) for p in ranks}
            one = reports[1]["per_rank"][0]
            h1, o1, b1 = one["peak_resident_bytes"], one["owned_bytes"], baseline[1]
            for p in ranks:
                for x in reports[p]["per_rank"]:
                    share = x["owned_bytes"] / o1
                    explained = baseline[p] + share * (h1 - b1) + x.get("bytes_received", 0)
                    memory_rows.append({"problem": name, "ranks": p, "rank": x["rank"], "peak_resident_bytes": x["peak_resident_bytes"],
                                        "owned_bytes": x["owned_bytes"], "bytes_received": x.get("bytes_received", 0),
                                        "baseline_bytes": baseline[p], "explained_bytes": int(explained),
                                        "unexplained_fraction_of_p1": (x["peak_resident_bytes"] - explained) / h1})

    import csv
    with open(os.path.join(options.out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(options.out, "memory.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(memory_rows[0].keys()))
        w.writeheader()
        w.writerows(memory_rows)
    plot(rows, memory_rows, options.out)
    worst = max(r["unexplained_fraction_of_p1"] for r in memory_rows)
    print(f"wrote {options.out}/results.csv, memory.csv, strong.png, weak.png, memory.png; "
          f"largest unexplained memory: {100 * worst:.2f} % of the P = 1 peak")
    if not options.no_model and options.out == here:
        # The cost model reads results.csv: fitted and projected in the same command (≈ 3 min).
        subprocess.run([sys.executable, os.path.join(here, "model.py")], check=True, env=dict(env, MAX_SCALE="16" if small else "20"))


def plot(rows, memory_rows, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def median(values):
        return float(np.median(values))

    for mode, name in (("strong", "strong.png"), ("weak", "weak.png")):
        benchmarks = sorted({r["benchmark"] for r in rows if r["mode"] == mode})
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for b in benchmarks:
            sel = [r for r in rows if r["mode"] == mode and r["benchmark"] == b]
            ps = sorted({r["ranks"] for r in sel})
            times = [median([float(r["seconds"]) for r in sel if r["ranks"] == p]) for p in ps]
            walls = [median([float(r["wall"]) for r in sel if r["ranks"] == p]) for p in ps]
            comm = [median([float(r["communication"]) for r in sel if r["ranks"] == p]) for p in ps]
            metric = [times[0] / t for t in times] if mode == "strong" else [times[0] / t for t in times]
            axes[0].plot(ps, metric, marker="o", label=b)
            axes[1].plot(ps, [c / w if w else 0 for c, w in zip(comm, walls)], marker="o", label=b)
        ps_all = sorted({r["ranks"] for r in rows})
        if mode == "strong":
            axes[0].plot(ps_all, ps_all, "k:", label="ideal")
        axes[0].set_xlabel("ranks P (2 cores: P > 2 oversubscribed)")
        axes[0].set_ylabel("speed-up T(1)/T(P) of the scaled phase" if mode == "strong" else "weak efficiency T(1)/T(P)")
        axes[1].set_xlabel("ranks P")
        axes[1].set_ylabel("communication share of wall time")
        for ax in axes:
            ax.set_xscale("log", base=2)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{mode} scaling, measured on this 2-core VM")
        fig.tight_layout()
        fig.savefig(os.path.join(out, name), dpi=110)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    for problem in sorted({m["problem"] for m in memory_rows}):
        sel = [m for m in memory_rows if m["problem"] == problem]
        ps = sorted({m["ranks"] for m in sel})
        ax.plot(ps, [max(m["peak_resident_bytes"] for m in sel if m["ranks"] == p) / 2**20 for p in ps], marker="o",
                label=f"{problem}: peak per rank (max)")
        ax.plot(ps, [max(m["explained_bytes"] for m in sel if m["ranks"] == p) / 2**20 for p in ps], "--",
                label=f"{problem}: baseline + owned share + received")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("ranks P")
    ax.set_ylabel("MiB per rank")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "memory.png"), dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
