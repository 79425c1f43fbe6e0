"""Peer for benchmarks/spgemm: C = A @ A with scipy (SMMP, unsorted output).
Prints rep,seconds,nnz per repetition; repetition 0 is the cold single shot."""
import sys, time
import scipy.io

a = scipy.io.mmread(sys.argv[1]).tocsr()
for rep in range(int(sys.argv[2])):
    start = time.perf_counter()
    c = a @ a
    seconds = time.perf_counter() - start
    print(f"{rep},{seconds:.6f},{c.nnz}", flush=True)
    del c
