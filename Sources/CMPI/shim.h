// OpenMPI (Debian's libopenmpi-dev, pkg-config `ompi-c`). Its predefined handles
// (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are macros taking the address of mutable C
// globals, and MPI_IN_PLACE / MPI_STATUS_IGNORE are casts of integers to pointers: Swift
// cannot import either, so they are exposed as functions here.
#ifndef PHOTOZ_CMPI_SHIM_H
#define PHOTOZ_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm photoz_MPI_COMM_WORLD(void) { return MPI_COMM_WORLD; }
static inline MPI_Errhandler photoz_MPI_ERRORS_RETURN(void) { return MPI_ERRORS_RETURN; }

static inline MPI_Datatype photoz_MPI_FLOAT(void) { return MPI_FLOAT; }
static inline MPI_Datatype photoz_MPI_DOUBLE(void) { return MPI_DOUBLE; }
static inline MPI_Datatype photoz_MPI_INT32_T(void) { return MPI_INT32_T; }
static inline MPI_Datatype photoz_MPI_INT64_T(void) { return MPI_INT64_T; }
static inline MPI_Datatype photoz_MPI_UINT16_T(void) { return MPI_UINT16_T; }
static inline MPI_Datatype photoz_MPI_BYTE(void) { return MPI_BYTE; }

static inline MPI_Op photoz_MPI_SUM(void) { return MPI_SUM; }
static inline MPI_Op photoz_MPI_MAX(void) { return MPI_MAX; }
static inline MPI_Op photoz_MPI_MIN(void) { return MPI_MIN; }

static inline void *photoz_MPI_IN_PLACE(void) { return MPI_IN_PLACE; }
static inline MPI_Request photoz_MPI_REQUEST_NULL(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *photoz_MPI_STATUS_IGNORE(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Status *photoz_MPI_STATUSES_IGNORE(void) { return MPI_STATUSES_IGNORE; }

static inline int photoz_MPI_MAX_ERROR_STRING(void) { return MPI_MAX_ERROR_STRING; }
static inline int photoz_MPI_SUCCESS(void) { return MPI_SUCCESS; }
static inline int photoz_MPI_THREAD_SERIALIZED(void) { return MPI_THREAD_SERIALIZED; }
#endif
