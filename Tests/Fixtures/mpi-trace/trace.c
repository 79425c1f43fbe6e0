/* An MPI profiling-layer interposer for the tests (LD_PRELOAD): counts the
 * bytes each rank hands to MPI for every other rank, by destination, apart
 * for point-to-point sends and collectives, and writes them at MPI_Finalize to
 * $SPARROW_MPI_TRACE/rank-R.txt as lines "p2p|coll DEST BYTES MESSAGES".
 *
 * Bytes are the logical payload: a send's count × type size; for a collective,
 * what this rank contributes to each other rank (Alltoall(v): its send counts;
 * Gather(v): its block to the root; Allgather(v), Allreduce: its block to
 * every rank; Bcast: the root's buffer to every rank). It shares no code with
 * Sparrow's own traffic counters, which the tests check against it.
 * Build: mpicc -shared -fPIC -O2 trace.c -o libsparrowtrace.so */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int size = -1, self = -1;
static long long *bytes[2], *messages[2];

static void ensure(void) {
    if (size >= 0) return;
    PMPI_Comm_size(MPI_COMM_WORLD, &size);
    PMPI_Comm_rank(MPI_COMM_WORLD, &self);
    for (int k = 0; k < 2; k++) {
        bytes[k] = calloc((size_t)size, sizeof(long long));
        messages[k] = calloc((size_t)size, sizeof(long long));
    }
}

static int world_rank(MPI_Comm comm, int rank) {
    if (comm == MPI_COMM_WORLD) return rank;
    MPI_Group group, world;
    int translated = MPI_UNDEFINED;
    PMPI_Comm_group(comm, &group);
    PMPI_Comm_group(MPI_COMM_WORLD, &world);
    PMPI_Group_translate_ranks(group, 1, &rank, world, &translated);
    PMPI_Group_free(&group);
    PMPI_Group_free(&world);
    return translated;
}

static void record(int kind, MPI_Comm comm, int dest, long long count, MPI_Datatype type) {
    ensure();
    int w = world_rank(comm, dest), width = 0;
    if (w == MPI_UNDEFINED || w == self || count <= 0) return;
    PMPI_Type_size(type, &width);
    bytes[kind][w] += count * width;
    messages[kind][w] += 1;
}

static int comm_size(MPI_Comm comm) { int n; PMPI_Comm_size(comm, &n); return n; }
static int comm_rank(MPI_Comm comm) { int r; PMPI_Comm_rank(comm, &r); return r; }

int MPI_Send(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm) {
    record(0, comm, dest, count, type);
    return PMPI_Send(buf, count, type, dest, tag, comm);
}

int MPI_Isend(const void *buf, int count, MPI_Datatype type, int dest, int tag, MPI_Comm comm, MPI_Request *request) {
    record(0, comm, dest, count, type);
    return PMPI_Isend(buf, count, type, dest, tag, comm, request);
}

int MPI_Alltoallv(const void *sendbuf, const int sendcounts[], const int sdispls[], MPI_Datatype sendtype, void *recvbuf,
                  const int recvcounts[], const int rdispls[], MPI_Datatype recvtype, MPI_Comm comm) {
    for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, sendcounts[d], sendtype);
    return PMPI_Alltoallv(sendbuf, sendcounts, sdispls, sendtype, recvbuf, recvcounts, rdispls, recvtype, comm);
}

int MPI_Alltoall(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount,
                 MPI_Datatype recvtype, MPI_Comm comm) {
    for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, sendcount, sendtype);
    return PMPI_Alltoall(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);
}

int MPI_Gatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                const int displs[], MPI_Datatype recvtype, int root, MPI_Comm comm) {
    record(1, comm, root, sendcount, sendtype);
    return PMPI_Gatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, root, comm);
}

int MPI_Allgatherv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, const int recvcounts[],
                   const int displs[], MPI_Datatype recvtype, MPI_Comm comm) {
    for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, sendcount, sendtype);
    return PMPI_Allgatherv(sendbuf, sendcount, sendtype, recvbuf, recvcounts, displs, recvtype, comm);
}

int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount,
                  MPI_Datatype recvtype, MPI_Comm comm) {
    for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, sendcount, sendtype);
    return PMPI_Allgather(sendbuf, sendcount, sendtype, recvbuf, recvcount, recvtype, comm);
}

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
    for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, count, type);
    return PMPI_Allreduce(sendbuf, recvbuf, count, type, op, comm);
}

int MPI_Bcast(void *buf, int count, MPI_Datatype type, int root, MPI_Comm comm) {
    if (comm_rank(comm) == root)
        for (int d = 0, n = comm_size(comm); d < n; d++) record(1, comm, d, count, type);
    return PMPI_Bcast(buf, count, type, root, comm);
}

int MPI_Finalize(void) {
    ensure();
    const char *dir = getenv("SPARROW_MPI_TRACE");
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/rank-%d.txt", dir, self);
        FILE *out = fopen(path, "w");
        if (out) {
            for (int k = 0; k < 2; k++)
                for (int d = 0; d < size; d++)
                    if (messages[k][d] > 0) fprintf(out, "%s %d %lld %lld\n", k == 0 ? "p2p" : "coll", d, bytes[k][d], messages[k][d]);
            fclose(out);
        }
    }
    return PMPI_Finalize();
}
