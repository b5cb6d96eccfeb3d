// libbz2, as Debian's libbz2-dev installs it. Used only to decompress the first blocks of a
// .fits.bz2 frame (its header) without decompressing the whole image.
#ifndef PHOTOZ_CBZIP2_SHIM_H
#define PHOTOZ_CBZIP2_SHIM_H
#include <stdio.h>
#include <bzlib.h>
#endif
