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

// SuiteSparse_long is a macro; give Swift a name for the "empty" marker values.
static inline int sparrow_cholmod_not_posdef(void) { return CHOLMOD_NOT_POSDEF; }
#endif
