#!/usr/bin/env python3
"""Atomic merging of heavy rows: when does splitting one row over threads and
merging into a shared table by atomics beat the private per-row accumulators?

Each input is multiplied with the atomic path forced off (no row heavy),
forced on (every row of at least 2^16 multiply-adds heavy) and with the
default threshold, interleaved multiply by multiply in one process
(`sparrow-bench`, the matrix read once): 1 repetition cold + 7 warm (median
reported), T = 1 and 2 threads.

Inputs:
- portfolio-NK-kK: the normal-equations product A·Aᵀ of an interior-point
  method for a portfolio-style LP: one budget row over all N assets plus
  20,000 group constraints of k random assets each. The budget row of A·Aᵀ
  holds a share of all multiply-adds that falls as 20,000·k/N grows (91 % at
  4 M assets and k = 10, 1.5 % at 62,500 and k = 200): the sweep locates the
  crossover.
- rmat16: A² of R-MAT 16, a power-law graph whose heaviest row holds 0.16 %
  of the multiply-adds (hub rows, but many of them).

Writes benchmarks/spgemm/atomic.csv, atomic.md and atomic.png.
Usage: python3 benchmarks/spgemm/atomic.py [--quick]
"""
import argparse, csv, os, statistics, subprocess, sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tables import pyplot, write_markdown  # noqa: E402

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "spgemm")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
bench = os.path.join(root, ".build", "release", "sparrow-bench")
NEVER = str(2**63 - 1)
ALWAYS = str(1 << 16)


def write_mtx(path, a):
    a = a.tocoo()
    with open(path, "w") as out:
        out.write("%%MatrixMarket matrix coordinate real general\n")
        out.write(f"{a.shape[0]} {a.shape[1]} {a.nnz}\n")
        np.savetxt(out, np.column_stack([a.row + 1, a.col + 1, a.data]), fmt="%d %d %.17g")


def portfolio(path, assets, groups, per_group, seed=1):
    """Budget row over every asset, then `groups` rows of `per_group` random assets."""
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.zeros(assets, dtype=np.int64), np.repeat(np.arange(1, groups + 1), per_group)])
    cols = np.concatenate([np.arange(assets), rng.integers(0, assets, groups * per_group)])
    a = sp.csr_matrix((rng.uniform(0.5, 1.5, rows.size), (rows, cols)), shape=(groups + 1, assets))
    a.sum_duplicates()
    if not os.path.exists(path):
        write_mtx(path, a)
    return a


def top_share(a, transpose):
    """Share of all multiply-adds held by the heaviest row of A·Aᵀ (transpose) or A·A."""
    b_row_lengths = np.diff(a.tocsc().indptr) if transpose else np.diff(a.indptr)
    weighted = a.copy()
    weighted.data = b_row_lengths[a.indices].astype(float)
    flops = np.asarray(weighted.sum(axis=1)).ravel()
    return flops.max() / flops.sum()


def run(mode, path, threads, thresholds):
    out = subprocess.run([bench, mode, path, "8", str(threads), "unsorted", ",".join(thresholds)], check=True,
                         capture_output=True, text=True).stdout
    return [line.split(",") for line in out.strip().splitlines()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a quarter of the assets and R-MAT 14 for a smoke run")
    args = parser.parse_args()
    os.makedirs(work, exist_ok=True)
    scale_down = 4 if args.quick else 1
    inputs = []
    # (assets, k): 4 M assets down to a budget-row share of 17 %, then fewer assets
    # (more group entries per asset) for the 10, 6, 4 and 1.5 % points.
    for assets, k in [(4_000_000, 10), (4_000_000, 25), (4_000_000, 50), (4_000_000, 100), (4_000_000, 200),
                      (4_000_000, 400), (4_000_000, 800), (1_000_000, 400), (1_000_000, 800), (250_000, 300),
                      (62_500, 200)]:
        assets //= scale_down
        path = os.path.join(work, f"portfolio-{assets}-k{k}.mtx")
        a = portfolio(path, assets, 20_000, k)
        inputs.append((f"portfolio-{assets / 1000:g}K-k{k}", "spgemm-aat", path, top_share(a, True)))
    scale = 14 if args.quick else 16
    rmat = os.path.join(work, f"rmat{scale}.mtx")
    if not os.path.exists(rmat):
        subprocess.run([sparrow, "generate", "rmat", "--scale", str(scale), "--edge-factor", "16", "--seed", "1",
                        "-o", rmat, "--quiet"], check=True)
    import scipy.io
    inputs.append((f"rmat{scale}", "spgemm", rmat, top_share(scipy.io.mmread(rmat).tocsr(), False)))

    rows = []
    choices = {NEVER: "off", ALWAYS: "on", "auto": "default"}
    for name, mode, path, share in inputs:
        for threads in [1, 2]:
            for fields in run(mode, path, threads, list(choices)):
                rows.append(dict(input=name, top_row_share=f"{share:.4f}", threads=threads, atomic=choices[fields[11]],
                                 repetition=int(fields[1]), seconds=float(fields[4]), symbolic=float(fields[5]),
                                 numeric=float(fields[6]), flops=int(fields[7]), nnz_c=int(fields[8]),
                                 heavy_rows=int(fields[9])))
            for choice in choices.values():
                sel = [r for r in rows if r["input"] == name and r["threads"] == threads and r["atomic"] == choice]
                print(f"{name} (top row {100 * share:.1f} %) T={threads} atomic {choice}: median "
                      f"{statistics.median(r['seconds'] for r in sel if r['repetition'] > 0):.4f} s, "
                      f"heavy rows {sel[-1]['heavy_rows']}", flush=True)
    with open(os.path.join(here, "atomic.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    summarize(rows, inputs)


def summarize(rows, inputs):
    def warm(name, threads, choice):
        sel = [r for r in rows if r["input"] == name and r["threads"] == threads and r["atomic"] == choice]
        return statistics.median(r["seconds"] for r in sel if r["repetition"] > 0), sel[-1]["heavy_rows"]
    lines = ["| input | heaviest row's share of flops | threads | off s | on s (heavy rows) | default s (heavy rows) | on vs off |",
             "|---|---|---|---|---|---|---|"]
    shares, ratios = [], []
    for name, _, _, share in inputs:
        for threads in [1, 2]:
            off, _ = warm(name, threads, "off")
            on, on_heavy = warm(name, threads, "on")
            auto, auto_heavy = warm(name, threads, "default")
            lines.append(f"| {name} | {100 * share:.1f} % | {threads} | {off:.4f} | {on:.4f} ({on_heavy}) | "
                         f"{auto:.4f} ({auto_heavy}) | {off / on:.2f}× |")
            if threads == 2 and name.startswith("portfolio"):
                shares.append(share); ratios.append(off / on)
    write_markdown(os.path.join(here, "atomic.md"), lines)
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([100 * s for s in shares], ratios, "o-")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("heaviest row's share of all multiply-adds (%)")
    ax.set_ylabel("time with atomic path off / on (T = 2)")
    ax.set_title("A·Aᵀ, portfolio LP normal equations")
    fig.tight_layout()
    fig.savefig(os.path.join(here, "atomic.png"), dpi=110)

if __name__ == "__main__":
    main()
