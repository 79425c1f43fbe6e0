// SuiteSparse 5.x (Debian 12) installs its headers under /usr/include/suitesparse
// and ships no pkg-config file; the quoted includes inside these headers resolve
// relative to that directory. The dense kernels inside them are OpenBLAS's.
#ifndef SPARROW_CSUITESPARSE_SHIM_H
#define SPARROW_CSUITESPARSE_SHIM_H
#include <suitesparse/cholmod.h>
#include <suitesparse/umfpack.h>
#include <suitesparse/SuiteSparseQR_C.h>
#include <suitesparse/klu.h>

// From OpenBLAS (declared here rather than through <cblas.h>, which Debian's
// alternatives may point at another BLAS's header).
void openblas_set_num_threads(int num_threads);
// From libgomp, which Debian's SuiteSparse is built with.
void omp_set_num_threads(int num_threads);

// Dense kernels for small per-row systems (matrix completion), from OpenBLAS.
// The LAPACK routines are Fortran: every argument by reference, and a hidden
// length for each character argument, passed explicitly here.
#include <stddef.h>
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda,
             double *b, const int *ldb, int *info, size_t uplo_len);
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobz_len, size_t uplo_len);
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc,
            size_t uplo_len, size_t trans_len);
void dgemv_(const char *trans, const int *m, const int *n, const double *alpha, const double *a,
            const int *lda, const double *x, const int *incx, const double *beta, double *y,
            const int *incy, size_t trans_len);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
            const double *beta, double *c, const int *ldc, size_t transa_len, size_t transb_len);
void dtrsv_(const char *uplo, const char *trans, const char *diag, const int *n, const double *a,
            const int *lda, double *x, const int *incx, size_t uplo_len, size_t trans_len, size_t diag_len);

// SuiteSparse_long is a macro; give Swift a name for the "empty" marker values.
static inline int sparrow_cholmod_not_posdef(void) { return CHOLMOD_NOT_POSDEF; }
#endif
