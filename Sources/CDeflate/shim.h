// libdeflate: a fast, zlib-compatible DEFLATE compressor. photoz compresses HDF5 chunks on
// all cores with it and writes them with H5Dwrite_chunk; HDF5's own gzip filter (zlib)
// decompresses them, so h5py and every HDF5 tool read the files as usual.
#ifndef PHOTOZ_CDEFLATE_SHIM_H
#define PHOTOZ_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
