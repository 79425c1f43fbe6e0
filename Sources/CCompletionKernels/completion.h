#ifndef SPARROW_COMPLETION_KERNELS_H
#define SPARROW_COMPLETION_KERNELS_H
// Row kernels of matrix completion's conjugate-gradient row solves. A is a
// row's design, n rows of d doubles side by side. Each kernel is one pass over
// A (row e: a dot product, then an update with the same row while it is in
// L1). Swift's default target is baseline x86-64 (SSE2, no FMA), on which
// these passes ran at a third of OpenBLAS's speed, so they are written here
// twice: for AVX2+FMA (chosen at run time by CPUID) and in portable C.
#include <stdint.h>
#include "../CSystem/cpu.h"
#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline double sparrow_dot_avx2(const double *a, const double *b, long d) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(), s3 = _mm256_setzero_pd();
    long l = 0;
    for (; l + 16 <= d; l += 16) {
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + l), _mm256_loadu_pd(b + l), s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + l + 4), _mm256_loadu_pd(b + l + 4), s1);
        s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a + l + 8), _mm256_loadu_pd(b + l + 8), s2);
        s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a + l + 12), _mm256_loadu_pd(b + l + 12), s3);
    }
    for (; l + 4 <= d; l += 4) s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + l), _mm256_loadu_pd(b + l), s0);
    __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double total = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; l < d; l++) total += a[l] * b[l];
    return total;
}

__attribute__((target("avx2,fma")))
static inline void sparrow_axpy_avx2(double s, const double *a, double *y, long d) {
    __m256d v = _mm256_set1_pd(s);
    long l = 0;
    for (; l + 4 <= d; l += 4) _mm256_storeu_pd(y + l, _mm256_fmadd_pd(v, _mm256_loadu_pd(a + l), _mm256_loadu_pd(y + l)));
    for (; l < d; l++) y[l] += s * a[l];
}

__attribute__((target("avx2,fma")))
static inline void sparrow_normal_apply_avx2(const double *A, long n, long d, double ridge, const double *p, double *q,
                                             double *projections) {
    for (long l = 0; l < d; l++) q[l] = ridge * p[l];
    for (long e = 0; e < n; e++) {
        double s = sparrow_dot_avx2(A + e * d, p, d);
        if (projections) projections[e] = s;
        sparrow_axpy_avx2(s, A + e * d, q, d);
    }
}

__attribute__((target("avx2,fma")))
static inline double sparrow_fit_squares_avx2(const double *A, long n, long d, const double *t, const double *x) {
    double sum = 0;
    for (long e = 0; e < n; e++) { double r = t[e] - sparrow_dot_avx2(A + e * d, x, d); sum += r * r; }
    return sum;
}
#endif

static inline double sparrow_dot_portable(const double *a, const double *b, long d) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long l = 0;
    for (; l + 4 <= d; l += 4) { s0 += a[l] * b[l]; s1 += a[l + 1] * b[l + 1]; s2 += a[l + 2] * b[l + 2]; s3 += a[l + 3] * b[l + 3]; }
    double s = (s0 + s1) + (s2 + s3);
    for (; l < d; l++) s += a[l] * b[l];
    return s;
}

/// q = ridge·p + Aᵀ(A p), keeping A p in `projections` when it is not NULL.
static inline void sparrow_normal_apply(const double *A, long n, long d, double ridge, const double *p, double *q,
                                        double *projections) {
#if defined(__x86_64__)
    if (sparrow_has_avx2_fma()) { sparrow_normal_apply_avx2(A, n, d, ridge, p, q, projections); return; }
#endif
    for (long l = 0; l < d; l++) q[l] = ridge * p[l];
    for (long e = 0; e < n; e++) {
        const double *a = A + e * d;
        double s = sparrow_dot_portable(a, p, d);
        if (projections) projections[e] = s;
        for (long l = 0; l < d; l++) q[l] += s * a[l];
    }
}

/// y += s·a (d values): one column of a sparse embedding added into its sketch row.
static inline void sparrow_scaled_add(double s, const double *a, double *y, long d) {
#if defined(__x86_64__)
    if (sparrow_has_avx2_fma()) { sparrow_axpy_avx2(s, a, y, d); return; }
#endif
    for (long l = 0; l < d; l++) y[l] += s * a[l];
}

/// Σ_e (t_e − a_e·x)²
static inline double sparrow_fit_squares(const double *A, long n, long d, const double *t, const double *x) {
#if defined(__x86_64__)
    if (sparrow_has_avx2_fma()) return sparrow_fit_squares_avx2(A, n, d, t, x);
#endif
    double sum = 0;
    for (long e = 0; e < n; e++) { double r = t[e] - sparrow_dot_portable(A + e * d, x, d); sum += r * r; }
    return sum;
}

/// Copies a row's design side by side: row e is the partner row at slots[e]
/// (its first `rank` values), then a 1 when `biases`; and its target
/// t_e = values[e] − offset − (the partner's bias, stored after its factor
/// row, when `biases`). The partner rows lie scattered over a block larger than
/// the cache, so the rows a few entries ahead are prefetched (the hardware
/// prefetcher cannot guess the jumps), and each row is touched here first.
static inline void sparrow_gather_design(const double *partners, const int32_t *slots, long n, long width, long rank,
                                         int biases, double *design, const double *values, double offset, double *targets) {
    const long ahead = 6, lines = (width * 8 + 63) / 64;
    long d = rank + (biases ? 1 : 0);
    for (long e = 0; e < n; e++) {
        if (e + ahead < n) {
            const char *next = (const char *)(partners + (long)slots[e + ahead] * width);
            for (long c = 0; c <= lines; c++) __builtin_prefetch(next + 64 * c, 0, 3);
        }
        const double *source = partners + (long)slots[e] * width;
        double *target = design + e * d;
        for (long l = 0; l < rank; l++) target[l] = source[l];
        if (biases) { target[rank] = 1.0; targets[e] = values[e] - offset - source[rank]; }
        else targets[e] = values[e] - offset;
    }
}

/// The robust solver's first pass, fused with the copy: gathers the design
/// and its targets (as `sparrow_gather_design`), accumulates its column sums of squares into
/// `squares` (for the Jacobi preconditioner), the per-observation misfits
/// fits[e] = t_e − a_e·x, and the residual r = Aᵀ(t − A x) − ridge·x, while
/// each row is still in L1; returns Σ t².
static inline double sparrow_gather_residual(const double *partners, const int32_t *slots, long n, long width, long rank,
                                             int biases, double *design, const double *values, double offset, double *t,
                                             const double *x, double ridge, double *r, double *squares, double *fits) {
    long d = rank + (biases ? 1 : 0);
    for (long l = 0; l < d; l++) { r[l] = -ridge * x[l]; squares[l] = 0; }
    double tt = 0;
    const long block = 64;
    for (long start = 0; start < n; start += block) {
        long count = n - start < block ? n - start : block;
        sparrow_gather_design(partners, slots + start, count, width, rank, biases, design + start * d, values + start, offset,
                              t + start);
        for (long e = start; e < start + count; e++) {
            const double *a = design + e * d;
            tt += t[e] * t[e];
#if defined(__x86_64__)
            if (sparrow_has_avx2_fma()) {
                fits[e] = t[e] - sparrow_dot_avx2(a, x, d);
                sparrow_axpy_avx2(fits[e], a, r, d);
                for (long l = 0; l < d; l++) squares[l] += a[l] * a[l];
                continue;
            }
#endif
            fits[e] = t[e] - sparrow_dot_portable(a, x, d);
            for (long l = 0; l < d; l++) { r[l] += fits[e] * a[l]; squares[l] += a[l] * a[l]; }
        }
    }
    return tt;
}
#endif
