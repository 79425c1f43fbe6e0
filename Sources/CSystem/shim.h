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
// Software prefetch for latency-bound gathers (rows of B in SpGEMM).
static inline void sparrow_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
#endif
