#ifndef SPARROW_CSYSTEM_CPU_H
#define SPARROW_CSYSTEM_CPU_H
// Whether this CPU (and the OS, through XGETBV) supports AVX2 and FMA: the
// algorithm kernels (CCompletionKernels, CTransportKernels) choose their
// AVX2+FMA or portable paths by it at run time.
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
static inline int sparrow_has_avx2_fma(void) {
    static int known = -1;
    if (known >= 0) return known;
    unsigned a, b, c, d;
    int ok = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 12)) && (c & (1u << 27)) && (c & (1u << 28))) {
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 6u) == 6u && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 5))) ok = 1;
    }
    known = ok;
    return ok;
}

#else
static inline int sparrow_has_avx2_fma(void) { return 0; }
#endif
#endif
