// glibc allocator tuning, which Swift's Glibc module does not expose.
#ifndef SPARROW_CSYSTEM_SHIM_H
#define SPARROW_CSYSTEM_SHIM_H
#include <malloc.h>

// Serve every block from the heap (no per-allocation mmap) and never trim it,
// so freed buffers are reused warm instead of being unmapped, handed back to
// the hypervisor and faulted in again at ~1.4 s/GiB.
static inline void sparrow_keep_freed_memory(void) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    mallopt(M_TOP_PAD, 64 << 20);
}
#include <stdlib.h>
#include <unistd.h>

// SuiteSparse (Debian's build uses OpenMP) asks for up to 4 OpenMP threads
// inside CHOLMOD's supernodal factorization whatever omp_set_num_threads says;
// on 2 cores with several ranks they spin and thrash (BCSSTK13: 25 ms → 11 ms,
// 40³ Laplacian: 2.2 s → 1.2 s with the cap). libgomp reads OMP_THREAD_LIMIT
// only when it loads, so the process sets it and re-executes itself once,
// before MPI starts. A limit the user set is kept.
// OpenBLAS (pulled in by SuiteSparse) likewise starts a pool of cores − 1
// threads when it loads, which spin in sched_yield and took a quarter of the
// CPU from the Matrix Market parser (R-MAT 16 load: 0.12 s → 0.08 s without
// them; a 64,000-row Cholesky factorization is unchanged, 1.43 s vs 1.44 s),
// so the same re-execution sets OPENBLAS_NUM_THREADS=1 unless the user did.
// The same re-execution turns off the Swift runtime's crash backtracer
// (SWIFT_BACKTRACE=enable=no) unless the user set SWIFT_BACKTRACE: it starts a
// helper process that can outlive the crash holding standard error, and
// prints pages where the CLI contract wants one line (ProcessSignals.swift
// prints that line).
static inline void sparrow_cap_openmp_threads(char **argv) {
    int changed = 0;
    if (getenv("OMP_THREAD_LIMIT") == NULL) {
        setenv("OMP_THREAD_LIMIT", "1", 1);
        if (getenv("OPENBLAS_NUM_THREADS") == NULL) setenv("OPENBLAS_NUM_THREADS", "1", 1);
        changed = 1;
    }
    if (getenv("SWIFT_BACKTRACE") == NULL) {
        setenv("SWIFT_BACKTRACE", "enable=no", 1);
        changed = 1;
    }
    if (changed) execv("/proc/self/exe", argv);
    // If re-execution is impossible, carry on uncapped.
}

// Software prefetch for latency-bound gathers (rows of B in SpGEMM).
static inline void sparrow_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
