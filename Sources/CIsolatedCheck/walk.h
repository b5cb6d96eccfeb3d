// The walks run in the forked child; each returns the child's exit status.
#ifndef PHOTOZ_WALK_H
#define PHOTOZ_WALK_H

#include <stdio.h>

/// Exit status of a walk that found an external or user-defined HDF5 link.
enum { PHOTOZ_WALK_EXTERNAL_LINK = 42 };
/// Exit status of a walk that could not list an object's links or attributes: what it could not
/// list cannot be checked, while a reader asking for a member by name may still reach it.
enum { PHOTOZ_WALK_UNLISTABLE = 43 };
/// Exit status of a walk during which libhdf5 could not allocate memory: the file declares
/// metadata larger than the child may allocate (2 GB beyond what it inherited).
enum { PHOTOZ_WALK_OUT_OF_MEMORY = 44 };

/// Where the walk is, e.g. "reading attribute 'bands' of /": a page shared with the parent,
/// which reports it when the child crashes or hangs there.
extern char *photoz_walk_step;
enum { photoz_walk_step_size = 4096 };
#define PHOTOZ_WALK_AT(...) do { if (photoz_walk_step) snprintf(photoz_walk_step, photoz_walk_step_size, __VA_ARGS__); } while (0)

/// Opens `path` with libhdf5 and touches all of its metadata; 0 when it got through.
int photoz_walk_hdf5(const char *path);
/// Opens `path` with cfitsio and moves through every HDU, reading headers and column definitions.
int photoz_walk_fits(const char *path);

/// Bounds of what the walks read: photoz's readers refuse more (HDF5Attributes, readStrings).
enum {
    photoz_walk_max_strings = 1 << 20,
    photoz_walk_max_bytes = 64 << 20,
};

#endif
