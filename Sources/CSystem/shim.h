// glibc allocator tuning, which Swift's Glibc module does not expose.
#ifndef SPARROW_CSYSTEM_SHIM_H
#define SPARROW_CSYSTEM_SHIM_H
#include <malloc.h>

// Serve large blocks from the heap and never trim it, so freed buffers are
// reused warm instead of being unmapped and faulted in again.
static inline void sparrow_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20); // glibc's maximum: 4 MiB · sizeof(long)
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}
#endif
