// Peer for benchmarks/factor: the same CHOLMOD calls Sparrow's
// CholeskyFactorization makes for one solve, in the same order, made from C,
// to measure what the Swift layer adds: cholmod_l_start, a fresh copy of A in
// CHOLMOD's format, cholmod_l_analyze (AMD), cholmod_l_factorize, a dense b,
// cholmod_l_solve, the frees, cholmod_l_finish. One BLAS thread, as Sparrow.
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
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 2; }
    cholmod_sparse *A = cholmod_l_read_sparse(f, &c);
    fclose(f);
    if (!A) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    if (A->stype <= 0) { // hold the upper triangle (stype 1), as Sparrow hands it to CHOLMOD
        cholmod_sparse *U = cholmod_l_copy(A, 1, 1, &c);
        cholmod_l_free_sparse(&A, &c);
        A = U;
    }
    for (int r = 0; r < atoi(argv[2]); r++) {
        double t0 = now();
        cholmod_common cc;
        cholmod_l_start(&cc);
        cc.print = 0;
        cc.nmethods = 1;
        cc.method[0].ordering = CHOLMOD_AMD;
        cc.postorder = 1;
        cc.final_ll = 1;
        cholmod_sparse *Acopy = cholmod_l_copy_sparse(A, &cc);
        cholmod_factor *L = cholmod_l_analyze(Acopy, &cc);
        cholmod_l_factorize(Acopy, L, &cc);
        cholmod_dense *b = cholmod_l_ones(A->nrow, 1, CHOLMOD_REAL, &cc);
        cholmod_dense *x = cholmod_l_solve(CHOLMOD_A, L, b, &cc);
        int status = cc.status;
        cholmod_l_free_dense(&x, &cc);
        cholmod_l_free_dense(&b, &cc);
        cholmod_l_free_sparse(&Acopy, &cc);
        cholmod_l_free_factor(&L, &cc);
        cholmod_l_finish(&cc);
        double t1 = now();
        printf("%d,%.6f,%d\n", r, t1 - t0, status);
        fflush(stdout);
    }
    cholmod_l_free_sparse(&A, &c);
    cholmod_l_finish(&c);
    return 0;
}
