// Swift cannot import OpenMPI's handle macros (they expand to addresses of
// global structs), so each one is exposed through a static inline getter.
#ifndef SPARROW_CMPI_SHIM_H
#define SPARROW_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm sparrow_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm sparrow_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype sparrow_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype sparrow_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype sparrow_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype sparrow_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype sparrow_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op sparrow_mpi_op_sum(void) { return MPI_SUM; }
static inline MPI_Op sparrow_mpi_op_max(void) { return MPI_MAX; }
static inline MPI_Op sparrow_mpi_op_min(void) { return MPI_MIN; }
static inline void *sparrow_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *sparrow_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *sparrow_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Request sparrow_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline int sparrow_mpi_success(void) { return MPI_SUCCESS; }
static inline int sparrow_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
#endif
