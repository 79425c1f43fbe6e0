// Peer for benchmarks/spgemm: C = A·A with SuiteSparse:GraphBLAS (plus-times
// semiring, GrB_mxm), sorted output forced by GrB_Matrix_wait. Prints one CSV
// line per repetition: rep,seconds,nnz. Repetition 0 is the cold single shot.
// Build: cc -O2 graphblas_mxm.c -lgraphblas -o graphblas_mxm
#include <GraphBLAS.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: graphblas_mxm FILE.mtx REPS\n"); return 2; }
    int reps = atoi(argv[2]);
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 2; }
    char line[1024];
    if (!fgets(line, sizeof line, f) || strstr(line, "coordinate real general") == NULL) {
        fprintf(stderr, "expected a coordinate real general file\n");
        return 2;
    }
    do { if (!fgets(line, sizeof line, f)) return 2; } while (line[0] == '%');
    long long n, m, nnz;
    sscanf(line, "%lld %lld %lld", &n, &m, &nnz);
    GrB_Index *I = malloc(nnz * sizeof(GrB_Index)), *J = malloc(nnz * sizeof(GrB_Index));
    double *X = malloc(nnz * sizeof(double));
    for (long long k = 0; k < nnz; k++) {
        long long i, j;
        if (fscanf(f, "%lld %lld %lf", &i, &j, &X[k]) != 3) { fprintf(stderr, "bad entry %lld\n", k); return 2; }
        I[k] = i - 1; J[k] = j - 1;
    }
    fclose(f);
    GrB_init(GrB_NONBLOCKING);
    GrB_Matrix A;
    GrB_Matrix_new(&A, GrB_FP64, n, m);
    GrB_Matrix_build_FP64(A, I, J, X, nnz, GrB_PLUS_FP64);
    GrB_Matrix_wait(A, GrB_MATERIALIZE);
    for (int r = 0; r < reps; r++) {
        GrB_Matrix C;
        double t0 = now();
        GrB_Matrix_new(&C, GrB_FP64, n, m);
        GrB_mxm(C, NULL, NULL, GrB_PLUS_TIMES_SEMIRING_FP64, A, A, NULL);
        GrB_Matrix_wait(C, GrB_MATERIALIZE);
        double t1 = now();
        GrB_Index cnz;
        GrB_Matrix_nvals(&cnz, C);
        printf("%d,%.6f,%llu\n", r, t1 - t0, (unsigned long long)cnz);
        fflush(stdout);
        GrB_Matrix_free(&C);
    }
    GrB_Matrix_free(&A);
    GrB_finalize();
    return 0;
}
