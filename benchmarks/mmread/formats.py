#!/usr/bin/env python3
"""Load time by file format: R-MAT scale 18 (edge factor 16, seed 1) as Matrix
Market text, PETSc binary and gzip-compressed Matrix Market, loaded by
`sparrow info` (its report's timings.read: read, distribute, build the CSR
blocks) at P = 1 and 2, beside PETSc's own MatLoad of the same .petsc file
(Debian's python3-petsc4py under /usr/bin/python3, where installed),
interleaved, 5 repetitions, in one run.

Writes benchmarks/mmread/formats.csv, formats.md and formats.png.
"""
import csv, glob, json, os, statistics, subprocess, sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "mmread")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")
petsc_dirs = glob.glob("/usr/lib/petscdir/petsc3.*/x86_64-linux-gnu-real")
if petsc_dirs:
    env["PETSC_DIR"] = petsc_dirs[0]
MATLOAD = """
import sys, time
from petsc4py import PETSc
t = time.perf_counter()
A = PETSc.Mat().load(PETSc.Viewer().createBinary(sys.argv[1], 'r'))
PETSc.COMM_WORLD.barrier()
if PETSc.COMM_WORLD.getRank() == 0: print(time.perf_counter() - t)
"""

def main():
    os.makedirs(work, exist_ok=True)
    text = os.path.join(work, "rmat18.mtx")
    if not os.path.exists(text):
        subprocess.run([sparrow, "generate", "rmat", "--scale", "18", "--edge-factor", "16", "--seed", "1", "-o", text, "--quiet"], check=True)
    files = {"mtx": text, "petsc": text[:-4] + ".petsc", "mtx.gz": text + ".gz"}
    if not os.path.exists(files["petsc"]):
        subprocess.run([sparrow, "convert", text, "-o", files["petsc"], "--quiet"], check=True)
    if not os.path.exists(files["mtx.gz"]):
        subprocess.run(f"gzip -6 -c {text} > {files['mtx.gz']}", shell=True, check=True)
    has_petsc = subprocess.run(["/usr/bin/python3", "-c", "import petsc4py"], env=env, capture_output=True).returncode == 0
    rows = []
    report = os.path.join(work, "formats.json")
    for rep in range(5):
        for ranks in [1, 2]:
            for fmt, path in files.items():
                subprocess.run(["mpirun", "-q", "-n", str(ranks), sparrow, "info", path, "--threads", "1", "--quiet", "--report", report],
                               check=True, capture_output=True, env=env)
                rows.append(dict(benchmark="load", contender="sparrow", ranks=ranks, threads=1, problem="rmat18", repetition=rep,
                                 seconds=json.load(open(report))["timings"]["read"], format=fmt))
            if has_petsc:
                out = subprocess.run(["mpirun", "-q", "-n", str(ranks), "/usr/bin/python3", "-c", MATLOAD, files["petsc"]],
                                     check=True, capture_output=True, text=True, env=env).stdout
                rows.append(dict(benchmark="load", contender="petsc-matload", ranks=ranks, threads=1, problem="rmat18", repetition=rep,
                                 seconds=float(out.strip().splitlines()[-1]), format="petsc"))
    with open(os.path.join(here, "formats.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds", "format"])
        w.writeheader()
        w.writerows(rows)
    def med(contender, fmt, ranks):
        return statistics.median(x["seconds"] for x in rows if x["contender"] == contender and x["format"] == fmt and x["ranks"] == ranks)
    sizes = {fmt: os.path.getsize(p) / 1e6 for fmt, p in files.items()}
    lines = [f"R-MAT scale 18, edge factor 16: {sizes['mtx']:.0f} MB as .mtx, {sizes['petsc']:.0f} MB as .petsc, "
             f"{sizes['mtx.gz']:.0f} MB as .mtx.gz. Medians of 5 interleaved repetitions.", "",
             "| ranks | .mtx s | .petsc s | .mtx.gz s | .mtx / .petsc | PETSc MatLoad of the .petsc s |", "|---|---|---|---|---|---|"]
    for ranks in [1, 2]:
        m, p, g = med("sparrow", "mtx", ranks), med("sparrow", "petsc", ranks), med("sparrow", "mtx.gz", ranks)
        pm = f"{med('petsc-matload', 'petsc', ranks):.3f}" if has_petsc else "not installed"
        lines.append(f"| {ranks} | {m:.3f} | {p:.3f} | {g:.3f} | **{m / p:.1f}×** | {pm} |")
    with open(os.path.join(here, "formats.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.5))
        labels, values, colors = [], [], []
        for ranks in [1, 2]:
            for fmt, color in [("mtx", "C0"), ("petsc", "C1"), ("mtx.gz", "C2")]:
                labels.append(f"{fmt} P={ranks}"); values.append(med("sparrow", fmt, ranks)); colors.append(color)
            if has_petsc:
                labels.append(f"MatLoad P={ranks}"); values.append(med("petsc-matload", "petsc", ranks)); colors.append("gray")
        ax.bar(labels, values, color=colors)
        ax.set_ylabel("seconds (median)"); ax.set_title("Load R-MAT 18 by format")
        plt.xticks(fontsize=7, rotation=30); fig.tight_layout(); fig.savefig(os.path.join(here, "formats.png"), dpi=110)
    except ImportError:
        pass

if __name__ == "__main__":
    main()
