// wcslib, as Debian's wcslib-dev installs it (pkg-config wcslib adds -I/usr/include/wcslib).
// The helpers below exist because Swift cannot follow wcslib's nested error pointer or index
// the array of wcsprm structs that wcspih allocates without them.
#ifndef PHOTOZ_CWCS_SHIM_H
#define PHOTOZ_CWCS_SHIM_H
#include <wcslib.h>

/// The message wcslib left in `wcs->err`, or NULL when there is none.
static inline const char *photoz_wcs_error_message(const struct wcsprm *wcs) {
    return (wcs && wcs->err && wcs->err->msg) ? wcs->err->msg : 0;
}

/// The `index`-th coordinate description of the array wcspih allocated.
static inline struct wcsprm *photoz_wcs_at(struct wcsprm *array, int index) {
    return array + index;
}

/// wcslib's text for a status code of the wcs*() functions.
static inline const char *photoz_wcs_status_message(int status) {
    return (status >= 0 && status <= WCSERR_UNSET) ? wcs_errmsg[status] : "unknown wcslib status";
}
#endif
