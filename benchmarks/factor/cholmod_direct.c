// Peer for benchmarks/factor: the same CHOLMOD calls Sparrow makes
// (cholmod_l_analyze with AMD, cholmod_l_factorize, cholmod_l_solve), made
// from C, to measure what the Swift layer adds. One BLAS thread, as Sparrow.
// Prints rep,seconds per repetition (analyze + factorize + solve of A x = 1).
// Build: cc -O2 cholmod_direct.c -I/usr/include/suitesparse -lcholmod -lopenblas -o cholmod_direct
#include <cholmod.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void openblas_set_num_threads(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: cholmod_direct FILE.mtx REPS\n"); return 2; }
    openblas_set_num_threads(1);
    cholmod_common c;
    cholmod_l_start(&c);
    c.nmethods = 1;
    c.method[0].ordering = CHOLMOD_AMD;
    c.postorder = 1;
    c.final_ll = 1;
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 2; }
    cholmod_sparse *A = cholmod_l_read_sparse(f, &c);
    fclose(f);
    if (!A) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    if (A->stype == 0) { // a general file holding a symmetric matrix: use its lower triangle
        cholmod_sparse *L = cholmod_l_copy(A, -1, 1, &c);
        cholmod_l_free_sparse(&A, &c);
        A = L;
    }
    cholmod_dense *b = cholmod_l_ones(A->nrow, 1, CHOLMOD_REAL, &c);
    for (int r = 0; r < atoi(argv[2]); r++) {
        double t0 = now();
        cholmod_factor *L = cholmod_l_analyze(A, &c);
        cholmod_l_factorize(A, L, &c);
        cholmod_dense *x = cholmod_l_solve(CHOLMOD_A, L, b, &c);
        double t1 = now();
        printf("%d,%.6f,%d\n", r, t1 - t0, c.status);
        fflush(stdout);
        cholmod_l_free_dense(&x, &c);
        cholmod_l_free_factor(&L, &c);
    }
    cholmod_l_free_dense(&b, &c);
    cholmod_l_free_sparse(&A, &c);
    cholmod_l_finish(&c);
    return 0;
}
