/* Ping-pong between ranks 0 and 1: the α (latency) and β (inverse bandwidth)
 * of the α–β–γ model, measured with the same MPI and transport as Sparrow.
 *   mpicc -O2 pingpong.c -o pingpong && mpirun -n 2 ./pingpong
 * Prints "bytes seconds_one_way" lines, 8 B … 64 MiB. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char *buffer = calloc(64u << 20, 1);
    for (long bytes = 8; bytes <= (64l << 20); bytes *= 4) {
        int reps = bytes < (1 << 20) ? 200 : 10;
        MPI_Barrier(MPI_COMM_WORLD);
        double start = MPI_Wtime();
        for (int r = 0; r < reps; r++) {
            if (rank == 0) {
                MPI_Send(buffer, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD);
                MPI_Recv(buffer, (int)bytes, MPI_BYTE, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else if (rank == 1) {
                MPI_Recv(buffer, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buffer, (int)bytes, MPI_BYTE, 0, 0, MPI_COMM_WORLD);
            }
        }
        double oneWay = (MPI_Wtime() - start) / reps / 2;
        if (rank == 0) printf("%ld %.9f\n", bytes, oneWay);
    }
    free(buffer);
    MPI_Finalize();
    return 0;
}
