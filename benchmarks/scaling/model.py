"""The α–β–γ cost model of Sparrow's 1D sparsity-aware row-wise SpGEMM,
fitted to this machine's measurements and projected to R-MAT scale 20–26 A²
at 16 … 1024 ranks, next to Sparse SUMMA (2D, CombBLAS) and split-3D.

    python3 benchmarks/scaling/model.py      (after run.py; reads results.csv)

    T(P) = γ · f_max(P) · max(1, P / cores)  +  α · m(P)  +  β · V_max(P)

γ (seconds per flop of the local kernel) comes from the 1-rank products, α
(seconds per message) and β (seconds per byte) from a ping-pong between two
ranks (pingpong.c, the same OpenMPI transport); every product at P ≥ 2 is
then predicted, none having entered the fit. m = 5 (P − 1) messages per rank (one count all-to-all, the index
requests, then row lengths, columns and values) and V_max, the largest
per-rank byte volume in the reports. f_max and V_max for the projections are
computed exactly from R-MAT edge sets sampled here with Sparrow's generator
parameters (a, b, c, d = 0.57, 0.19, 0.19, 0.05; edge factor 16; the rows
flop-balanced in contiguous blocks as `--balance flops` does), up to scale
20; larger scales continue the total flops' and V_max's growth per two
scales from 18 to 20, the busiest rank keeping scale 20's imbalance. Writes model.csv, model.md and model.png.
"""
import csv
import os
import sys

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
CORES = int(os.environ.get("CORES", os.cpu_count() or 2))
RANKS = [16, 32, 64, 128, 256, 512, 1024]


def load(path):
    with open(path) as f:
        return [r for r in csv.DictReader(f)]


def pingpong():
    """α and β from pingpong.c between two ranks (the transport Sparrow's ranks use here)."""
    import subprocess
    import tempfile
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    with tempfile.TemporaryDirectory() as work:
        exe = os.path.join(work, "pingpong")
        subprocess.run(["mpicc", "-O2", os.path.join(here, "pingpong.c"), "-o", exe], check=True)
        out = subprocess.run(["mpirun", "-n", "2", "--mca", "btl_vader_single_copy_mechanism", "none", exe],
                             check=True, capture_output=True, text=True, env=env).stdout
    points = [tuple(map(float, line.split())) for line in out.split("\n") if line.strip()]
    alpha = min(t for b, t in points if b <= 128)
    large = [(b, t) for b, t in points if b >= 1 << 20]
    beta = float(np.polyfit([b for b, _ in large], [t for _, t in large], 1)[0])
    return alpha, beta, points


def fit(rows):
    spgemm = [r for r in rows if r["benchmark"] == "spgemm"]
    for r in spgemm:
        for k in ("ranks", "max_flops_per_rank", "max_bytes_per_rank"):
            r[k] = float(r[k])
        r["seconds"], r["communication"] = float(r["seconds"]), float(r["communication"])
    singles = [r for r in spgemm if r["ranks"] == 1]
    gamma = float(np.median([r["seconds"] / r["max_flops_per_rank"] for r in singles]))
    alpha, beta, points = pingpong()
    # Every product at P ≥ 2 is held out: none of them entered γ, α or β.
    held = [r for r in spgemm if r["ranks"] > 1]
    return gamma, alpha, beta, held, singles, points


def predict(gamma, alpha, beta, ranks, flops_max, bytes_max, cores=None):
    oversubscribed = max(1.0, ranks / cores) if cores else 1.0
    return gamma * flops_max * oversubscribed + alpha * 5 * (ranks - 1) + beta * bytes_max


def rmat_edges(scale, edge_factor=16, seed=1):
    rng = np.random.default_rng(seed)
    m = edge_factor << scale
    row = np.zeros(m, dtype=np.int64)
    col = np.zeros(m, dtype=np.int64)
    for _ in range(scale):
        u = rng.random(m)
        row = row * 2 + (u >= 0.76)
        col = col * 2 + (((u >= 0.57) & (u < 0.76)) | (u >= 0.95))
    keys = np.unique(row << scale | col)
    return keys >> scale, keys & ((1 << scale) - 1)


def one_d_volume(scale, ranks_list):
    """Per rank of a flop-balanced contiguous 1D partition: flops and bytes fetched."""
    n = 1 << scale
    row, col = rmat_edges(scale)
    row_len = np.bincount(row, minlength=n)
    multiply_adds = row_len[col]                      # each entry (i, j) meets row j of B
    per_row = np.bincount(row, weights=multiply_adds, minlength=n) + 1
    prefix = np.cumsum(per_row)
    total_flops = 2 * float(multiply_adds.sum())
    out = {}
    for p in ranks_list:
        splits = np.searchsorted(prefix, prefix[-1] * np.arange(1, p) / p)
        block = np.searchsorted(splits, row, side="right")
        flops = 2 * np.bincount(block, weights=multiply_adds, minlength=p)
        pairs = np.unique(block * n + col)
        fetched_block, fetched_col = pairs // n, pairs % n
        owner = np.searchsorted(splits, fetched_col, side="right")
        remote = fetched_block != owner
        volume = np.bincount(fetched_block[remote], weights=12.0 * row_len[fetched_col[remote]] + 8.0, minlength=p)
        out[p] = (float(flops.max()), float(volume.max()))
    return total_flops, len(row), out


def main():
    rows = load(os.path.join(here, "results.csv"))
    gamma, alpha, beta, held, singles, points = fit(rows)
    lines = [f"γ = {gamma:.3e} s/flop ({1e-9 / gamma:.2f} GFLOP/s per rank, one thread), the median of {len(singles)} one-rank products",
             f"α = {alpha:.3e} s/message, β = {beta:.3e} s/byte ({1e-9 / beta:.2f} GB/s), from a 2-rank ping-pong (pingpong.c)",
             f"held out: all {len(held)} products at P ≥ 2 (none entered the fit); compute is scaled by max(1, P / {CORES} cores)"]
    checks = []
    for r in held:
        p = r["ranks"]
        t = predict(gamma, alpha, beta, p, r["max_flops_per_rank"], r["max_bytes_per_rank"], CORES)
        checks.append((True, f"{r['problem']} ({r['mode']})", int(p), r["seconds"], t))
    # Projections.
    scales = [s for s in (16, 18, 20, 22) if s <= int(os.environ.get("MAX_SCALE", "22"))]
    exact = {}
    for s in scales:
        total, nnz, per = one_d_volume(s, RANKS)
        exact[s] = (total, nnz, per)
        print(f"scale {s}: nnz {nnz}, flops {total:.3e}", file=sys.stderr)
    last, before = scales[-1], scales[-2]
    projections = []
    for s in list(range(20, 27, 2)):
        for p in RANKS:
            if s in exact:
                total, nnz, per = exact[s]
                fmax, vmax = per[p]
                source = "sampled"
            else:
                steps = (s - last) // 2
                t1, n1, per1 = exact[last]
                t0, n0, per0 = exact[before]
                total = t1 * (t1 / t0) ** steps
                nnz = n1 * (n1 / n0) ** steps
                # The busiest rank keeps scale 20's share of the flops (its imbalance), so f_max ≥ total / P always.
                fmax = total / p * (per1[p][0] / (t1 / p))
                vmax = per1[p][1] * (per1[p][1] / per0[p][1]) ** steps
                source = "extrapolated"
            one_d = predict(gamma, alpha, beta, p, fmax, vmax)
            root = np.sqrt(p)
            # Sparse SUMMA on a √P × √P grid: √P stages, each broadcasting an A and a B block along grid rows/columns.
            summa_bytes = 2 * root * (12.0 * nnz / p)
            summa = gamma * total / p + alpha * 2 * root * np.log2(max(2, root)) + beta * summa_bytes
            # Split-3D with c = 4 layers: SUMMA on √(P/c) grids over a c-way split of the inner dimension, plus merging C across layers.
            c = 4
            grid = np.sqrt(p / c)
            nnz_c = total / 2 / 2.45           # measured compression factor of R-MAT scale 16 (docs/benchmarks.md)
            split_bytes = 2 * grid * (12.0 * nnz / p) + 12.0 * nnz_c * (c - 1) / p
            split3d = gamma * total / p + alpha * (2 * grid * np.log2(max(2, grid)) + c) + beta * split_bytes
            projections.append({"scale": s, "ranks": p, "source": source, "nnz": int(nnz), "flops": total,
                                "flops_max_rank": fmax, "bytes_max_rank_1d": vmax, "seconds_1d": one_d,
                                "seconds_2d_summa": summa, "seconds_split3d_c4": split3d,
                                "bytes_rank_2d": summa_bytes, "bytes_rank_3d": split_bytes})
    with open(os.path.join(here, "model.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(projections[0].keys()))
        w.writeheader()
        w.writerows(projections)
    md = ["# α–β–γ model (written by benchmarks/scaling/model.py)", ""] + [f"- {l}" for l in lines] + ["",
          "| held out | problem | P | measured s | model s | model/measured |", "|---|---|---|---|---|---|"]
    for is_held, problem, p, measured, modelled in checks:
        md.append(f"| {'**yes**' if is_held else 'no'} | {problem} | {p} | {measured:.4f} | {modelled:.4f} | {modelled / measured:.2f} |")
    md += ["", "| scale | P | source | 1D bytes/rank (max) | 1D s | 2D SUMMA s | split-3D (c=4) s | 1D volume vs P/2 |",
           "|---|---|---|---|---|---|---|---|"]
    for k, q in enumerate(projections):
        prev = projections[k - 1] if k and projections[k - 1]["scale"] == q["scale"] else None
        ratio = f"{q['bytes_max_rank_1d'] / prev['bytes_max_rank_1d']:.2f}" if prev else ""
        md.append(f"| {q['scale']} | {q['ranks']} | {q['source']} | {q['bytes_max_rank_1d'] / 2**20:.1f} MiB | "
                  f"{q['seconds_1d']:.3f} | {q['seconds_2d_summa']:.3f} | {q['seconds_split3d_c4']:.3f} | {ratio} |")
    open(os.path.join(here, "model.md"), "w").write("\n".join(md) + "\n")
    print("\n".join(md))
    plot(projections, checks)


def plot(projections, checks):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for s in sorted({q["scale"] for q in projections}):
        sel = [q for q in projections if q["scale"] == s]
        ps = [q["ranks"] for q in sel]
        line = axes[0].plot(ps, [q["seconds_1d"] for q in sel], marker="o", label=f"1D, scale {s}")[0]
        axes[0].plot(ps, [q["seconds_2d_summa"] for q in sel], ls="--", color=line.get_color(), label=f"2D SUMMA, scale {s}")
        axes[1].plot(ps, [q["bytes_max_rank_1d"] / 2**20 for q in sel], marker="o", color=line.get_color(), label=f"1D, scale {s}")
        axes[1].plot(ps, [q["bytes_rank_2d"] / 2**20 for q in sel], ls="--", color=line.get_color())
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("ranks P")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("modelled seconds for A² (R-MAT, edge factor 16)")
    axes[1].set_ylabel("MiB received by the busiest rank (dashed: 2D)")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("α–β–γ model fitted on this VM: 1D row-wise (solid) vs Sparse SUMMA 2D (dashed)")
    fig.tight_layout()
    fig.savefig(os.path.join(here, "model.png"), dpi=110)


if __name__ == "__main__":
    main()
