// zlib, as Debian's zlib1g-dev installs it. gzread reads the start of plain and .gz frames
// alike (the header) without inflating the whole image.
#ifndef PHOTOZ_CZLIB_SHIM_H
#define PHOTOZ_CZLIB_SHIM_H
#include <zlib.h>
#endif
