#ifndef SPARROW_TRANSPORT_H
#define SPARROW_TRANSPORT_H
// Row kernels of entropic optimal transport (SparrowTransport). Every pass of
// Sinkhorn and of the Newton steps evaluates plan entries
//     P_ij = exp(eta * (x_i + y_j - C_ij) - 1)
// over a row of the cost (dense, or the columns `cols` of a sparse kernel), so
// the exponential is the whole cost: the AVX2+FMA exponential below (Cody-Waite
// reduction, degree-13 Taylor polynomial, relative error below 1e-15) does four
// at a time, chosen at run time by CPUID like the completion kernels (CCompletionKernels);
// the portable path calls libm. Results below exp(-708) are returned as 0.
#include <math.h>
#include <stdint.h>
#include "../CSystem/cpu.h"

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static inline __m256d sparrow_exp4(__m256d x) {
    const __m256d low = _mm256_set1_pd(-708.0), high = _mm256_set1_pd(709.0);
    __m256d tiny = _mm256_cmp_pd(x, low, _CMP_LT_OQ);
    x = _mm256_min_pd(_mm256_max_pd(x, low), high);
    __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(6.93147180369123816490e-01), x);
    r = _mm256_fnmadd_pd(n, _mm256_set1_pd(1.90821492927058770002e-10), r);
    __m256d p = _mm256_set1_pd(1.0 / 6227020800.0);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 479001600.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 39916800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 3628800.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 362880.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    // 2^n from n's bits: adding 1.5 * 2^52 puts n in the low mantissa bits.
    const __m256d magic = _mm256_set1_pd(6755399441055744.0);
    __m256i e = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(n, magic)), _mm256_castpd_si256(magic));
    e = _mm256_slli_epi64(_mm256_add_epi64(e, _mm256_set1_epi64x(1023)), 52);
    return _mm256_andnot_pd(tiny, _mm256_mul_pd(p, _mm256_castsi256_pd(e)));
}

__attribute__((target("avx2,fma")))
static inline __m256d sparrow_gather4(const double *y, const int32_t *cols, long j) {
    return _mm256_set_pd(y[cols[j + 3]], y[cols[j + 2]], y[cols[j + 1]], y[cols[j]]);
}

__attribute__((target("avx2,fma")))
static inline double sparrow_ot_plan_row_avx2(const double *cost, const int32_t *cols, long len, const double *y, double xi,
                                              double eta, double *plan, double *colsum) {
    const __m256d ve = _mm256_set1_pd(eta), vb = _mm256_set1_pd(eta * xi - 1.0);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    long j = 0;
    for (; j + 8 <= len; j += 8) {
        __m256d y0 = cols ? sparrow_gather4(y, cols, j) : _mm256_loadu_pd(y + j);
        __m256d y1 = cols ? sparrow_gather4(y, cols, j + 4) : _mm256_loadu_pd(y + j + 4);
        __m256d p0 = sparrow_exp4(_mm256_fmadd_pd(ve, _mm256_sub_pd(y0, _mm256_loadu_pd(cost + j)), vb));
        __m256d p1 = sparrow_exp4(_mm256_fmadd_pd(ve, _mm256_sub_pd(y1, _mm256_loadu_pd(cost + j + 4)), vb));
        s0 = _mm256_add_pd(s0, p0);
        s1 = _mm256_add_pd(s1, p1);
        if (plan) { _mm256_storeu_pd(plan + j, p0); _mm256_storeu_pd(plan + j + 4, p1); }
        if (colsum) {
            if (cols) {
                double t[8];
                _mm256_storeu_pd(t, p0); _mm256_storeu_pd(t + 4, p1);
                for (int k = 0; k < 8; k++) colsum[cols[j + k]] += t[k];
            } else {
                _mm256_storeu_pd(colsum + j, _mm256_add_pd(_mm256_loadu_pd(colsum + j), p0));
                _mm256_storeu_pd(colsum + j + 4, _mm256_add_pd(_mm256_loadu_pd(colsum + j + 4), p1));
            }
        }
    }
    __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double total = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    if (j < len) {
        double yt[8] = {0}, ct[8] = {0}, pt[8];
        long rest = len - j;
        for (long k = 0; k < rest; k++) { yt[k] = y[cols ? cols[j + k] : j + k]; ct[k] = cost[j + k]; }
        __m256d p0 = sparrow_exp4(_mm256_fmadd_pd(ve, _mm256_sub_pd(_mm256_loadu_pd(yt), _mm256_loadu_pd(ct)), vb));
        __m256d p1 = sparrow_exp4(_mm256_fmadd_pd(ve, _mm256_sub_pd(_mm256_loadu_pd(yt + 4), _mm256_loadu_pd(ct + 4)), vb));
        _mm256_storeu_pd(pt, p0); _mm256_storeu_pd(pt + 4, p1);
        for (long k = 0; k < rest; k++) {
            total += pt[k];
            if (plan) plan[j + k] = pt[k];
            if (colsum) colsum[cols ? cols[j + k] : j + k] += pt[k];
        }
    }
    return total;
}
#endif

/// Evaluates one row's plan entries exp(eta*(xi + y_c - cost_c) - 1) for the
/// row's columns c (0..<len when `cols` is NULL); stores them in `plan` and adds
/// them to `colsum[c]` when those are given; returns their sum.
static inline double sparrow_ot_plan_row(const double *cost, const int32_t *cols, long len, const double *y, double xi,
                                         double eta, double *plan, double *colsum) {
#if defined(__x86_64__)
    if (sparrow_has_avx2_fma()) return sparrow_ot_plan_row_avx2(cost, cols, len, y, xi, eta, plan, colsum);
#endif
    double total = 0;
    for (long j = 0; j < len; j++) {
        long c = cols ? cols[j] : j;
        double z = eta * (xi + y[c] - cost[j]) - 1.0;
        double p = z < -708.0 ? 0.0 : exp(z);
        total += p;
        if (plan) plan[j] = p;
        if (colsum) colsum[c] += p;
    }
    return total;
}

/// max over the row's columns of y_c - cost_c (the row's largest exponent, less xi).
static inline double sparrow_ot_row_max(const double *cost, const int32_t *cols, long len, const double *y) {
    double best = -INFINITY;
    for (long j = 0; j < len; j++) {
        double v = y[cols ? cols[j] : j] - cost[j];
        best = v > best ? v : best;
    }
    return best;
}

/// colmax[c] = max(colmax[c], xi - cost_c) over the row's columns.
static inline void sparrow_ot_column_max(const double *cost, const int32_t *cols, long len, double xi, double *colmax) {
    for (long j = 0; j < len; j++) {
        long c = cols ? cols[j] : j;
        double v = xi - cost[j];
        colmax[c] = v > colmax[c] ? v : colmax[c];
    }
}
#endif
