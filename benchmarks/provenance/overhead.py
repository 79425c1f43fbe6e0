#!/usr/bin/env python3
"""What recording provenance costs: `sparrow info FILE` on R-MAT 18 (the
benchmarks/mmread files: .mtx, .petsc, .mtx.gz) at P = 1 and 2, one thread per
rank, with --report (rank 0 hashes the input with SHA-256 on a background
thread while the ranks read it, and the report waits for the digest) and
without (no report, nothing hashed), interleaved, 5 repetitions, wall time of
the whole command; beside coreutils' sha256sum of the same file.

Writes benchmarks/provenance/overhead.csv and overhead.md.
"""
import csv, json, os, statistics, subprocess, time

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
here = os.path.join(root, "benchmarks", "provenance")
work = os.path.join(root, "benchmarks", "work")
sparrow = os.path.join(root, ".build", "release", "sparrow")
env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none", OMP_NUM_THREADS="1")

def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start

def main():
    text = os.path.join(work, "rmat18.mtx")
    files = {"mtx": text, "petsc": text[:-4] + ".petsc", "mtx.gz": text + ".gz"}
    if not all(os.path.exists(p) for p in files.values()):
        subprocess.run(["python3", os.path.join(root, "benchmarks", "mmread", "formats.py")], check=True)
    report = os.path.join(work, "provenance.json")
    rows = []
    for rep in range(5):
        for fmt, path in files.items():
            rows.append(dict(benchmark="provenance", contender="sha256sum", ranks=1, threads=1, problem="rmat18", repetition=rep,
                             seconds=timed(["sha256sum", path]), format=fmt, bytes=os.path.getsize(path)))
            for ranks in [1, 2]:
                base = ["mpirun", "-q", "-n", str(ranks), sparrow, "info", path, "--threads", "1", "--quiet"]
                for contender, extra in [("sparrow-no-report", []), ("sparrow-report", ["--report", report])]:
                    rows.append(dict(benchmark="provenance", contender=contender, ranks=ranks, threads=1, problem="rmat18", repetition=rep,
                                     seconds=timed(base + extra), format=fmt, bytes=os.path.getsize(path)))
                    if extra:
                        digest = json.load(open(report))["provenance"]["inputs"]["matrix"]["sha256"]
                        assert digest == subprocess.run(["sha256sum", path], capture_output=True, text=True).stdout[:64]
    with open(os.path.join(here, "overhead.csv"), "w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=["benchmark", "contender", "ranks", "threads", "problem", "repetition", "seconds", "format", "bytes"])
        w.writeheader()
        w.writerows(rows)
    def med(contender, fmt, ranks=1):
        return statistics.median(x["seconds"] for x in rows if x["contender"] == contender and x["format"] == fmt and x["ranks"] == ranks)
    lines = ["`sparrow info` of R-MAT 18, whole command wall time, medians of 5 interleaved repetitions (one thread per rank).", "",
             "| file | MB | ranks | no report s | with --report (hashed) s | added s | sha256sum alone s |", "|---|---|---|---|---|---|---|"]
    for fmt, path in files.items():
        for ranks in [1, 2]:
            a, b = med("sparrow-no-report", fmt, ranks), med("sparrow-report", fmt, ranks)
            lines.append(f"| .{fmt} | {os.path.getsize(path) / 1e6:.0f} | {ranks} | {a:.3f} | {b:.3f} | {b - a:+.3f} | {med('sha256sum', fmt):.3f} |")
    with open(os.path.join(here, "overhead.md"), "w") as out:
        out.write("\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
