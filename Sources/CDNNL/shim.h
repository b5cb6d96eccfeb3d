// oneDNN 2.6 C API (Debian libdnnl-dev). DNNL_MEMORY_ALLOCATE / DNNL_MEMORY_NONE are
// macros Swift does not import; they are exposed as functions here.
#ifndef PHOTOZ_CDNNL_SHIM_H
#define PHOTOZ_CDNNL_SHIM_H
#include <dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

static inline void *photoz_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *photoz_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

// The SSE control and status register of the calling thread (FTZ is bit 15, DAZ bit 6).
#include <xmmintrin.h>
static inline unsigned int photoz_mxcsr(void) { return _mm_getcsr(); }
static inline void photoz_set_mxcsr(unsigned int value) { _mm_setcsr(value); }
#endif
