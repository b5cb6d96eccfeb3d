// HDF5 (Debian's serial build, headers in hdf5/serial). Its H5T_NATIVE_* and H5P_* ids are
// macros over mutable C globals that Swift 6 rejects, so they are exposed as functions here.
#ifndef PHOTOZ_CHDF5_SHIM_H
#define PHOTOZ_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t photoz_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t photoz_H5S_ALL(void) { return H5S_ALL; }
static inline hsize_t photoz_H5S_UNLIMITED(void) { return H5S_UNLIMITED; }
static inline haddr_t photoz_HADDR_UNDEF(void) { return HADDR_UNDEF; }
static inline hid_t photoz_H5P_FILE_CREATE(void) { return H5P_FILE_CREATE; }
static inline hid_t photoz_H5P_FILE_ACCESS(void) { return H5P_FILE_ACCESS; }
static inline hid_t photoz_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t photoz_H5P_DATASET_XFER(void) { return H5P_DATASET_XFER; }
static inline hid_t photoz_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }

static inline hid_t photoz_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t photoz_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t photoz_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t photoz_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t photoz_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t photoz_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t photoz_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t photoz_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t photoz_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t photoz_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t photoz_H5T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t photoz_H5T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t photoz_H5T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t photoz_H5T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t photoz_H5T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t photoz_H5E_DEFAULT(void) { return H5E_DEFAULT; }

// Added for the HDF5 target: file access flags and the variable-length size are macros that
// call H5open(), and the native type the list above lacks.
static inline unsigned photoz_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned photoz_H5F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned photoz_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned photoz_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline size_t photoz_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hid_t photoz_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
#endif
