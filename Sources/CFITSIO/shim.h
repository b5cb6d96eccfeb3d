// cfitsio, as Debian's libcfitsio-dev installs it. Nothing needs shimming: every call
// Swift makes is a plain function; the constants it needs are re-exported below because
// some are macros that Swift does not import as typed constants, and two exported parsers
// are declared.
#ifndef PHOTOZ_CFITSIO_SHIM_H
#define PHOTOZ_CFITSIO_SHIM_H
#include <fitsio.h>

static inline int photoz_fits_flen_errmsg(void) { return FLEN_ERRMSG; }
static inline int photoz_fits_flen_status(void) { return FLEN_STATUS; }

// Two of cfitsio's value parsers, which libcfitsio exports but declares only in its internal
// fitsio2.h: FITSHeader parses cards read in one call exactly as ffgkyjj and ffgkls do.
int ffc2jj(const char *cval, LONGLONG *ival, int *status);
int ffc2s(const char *instr, char *outstr, int *status);
#endif
