// Walks the metadata of a file photoz has not checked yet in a forked child process, so that a
// crash or hang of libhdf5 or cfitsio on a corrupt file ends the child, not photoz.
//
// libhdf5 1.10 and cfitsio 4.2 trust the metadata they parse: fuzzing found segfaults, heap
// overflows, aborts and endless loops inside them (H5HG_read, H5O__attr_exists, H5C_protect,
// ffgtbp) before photoz sees any value, which no check in photoz's own code can prevent. The
// child makes every libhdf5 / cfitsio call photoz's readers make on metadata (open, every
// object, dataspace, datatype, creation properties, chunk index, every attribute with its
// strings; for FITS every HDU's header and column definitions) and exits; the parent waits
// with a timeout and turns a crash, a hang or an unexpected exit status into an error.
#ifndef PHOTOZ_ISOLATED_CHECK_H
#define PHOTOZ_ISOLATED_CHECK_H

/// The format of the file to check.
typedef enum {
    PHOTOZ_CHECK_HDF5 = 0,
    PHOTOZ_CHECK_FITS = 1,
} photoz_check_format;

/// What the check found.
typedef enum {
    /// The child walked every object: the file's metadata can be read in-process (libhdf5's or
    /// cfitsio's errors on it are reported by the reader as usual).
    PHOTOZ_CHECK_PASSED = 0,
    /// The child was killed by signal `detail` (a segfault, an abort of glibc's fortify checks).
    PHOTOZ_CHECK_CRASHED = 1,
    /// The child did not finish within the timeout (`detail`: the timeout in seconds) and was killed.
    PHOTOZ_CHECK_TIMED_OUT = 2,
    /// The child exited with status `detail` (e.g. a sanitizer's report in a fuzzing build).
    PHOTOZ_CHECK_FAILED = 3,
    /// The HDF5 file holds an external or user-defined link: opening it could open another
    /// file that was never checked.
    PHOTOZ_CHECK_EXTERNAL_LINK = 4,
    /// libhdf5 could not list the attributes or members of an object (the step names it): what it
    /// cannot list cannot be checked, yet a reader asking for a member by name may reach it.
    PHOTOZ_CHECK_UNLISTABLE = 7,
    /// libhdf5 could not allocate the memory the file's metadata declares (more than 2 GB beyond
    /// what the process holds), where photoz's own process would have taken it.
    PHOTOZ_CHECK_OUT_OF_MEMORY = 8,
    /// The check could not run (`detail`: errno of fork or waitpid); nothing is cached.
    PHOTOZ_CHECK_NOT_RUN = 5,
    /// `PHOTOZ_METADATA_CHECK=off` in the environment: no check was made.
    PHOTOZ_CHECK_DISABLED = 6,
} photoz_check_outcome;

typedef struct {
    photoz_check_outcome outcome;
    int detail;
    /// Wall-clock seconds the check took (0 when the verdict was cached).
    double seconds;
    /// 1 when the verdict came from the per-process cache.
    int cached;
    /// What the child was doing when it stopped ("reading attribute 'bands' of /"), or empty.
    char step[256];
} photoz_check_result;

/// Checks `path` (once per file identity: device, inode, size, modification time, per process).
///
/// The child is forked between `lock()` and `unlock()` (may be NULL), which the caller uses to
/// hold its own library lock, so that no other thread is inside the library at fork time; for
/// FITS, cfitsio's own lock is also held. The timeout is `PHOTOZ_METADATA_CHECK_TIMEOUT`
/// seconds when set (> 0), else `default_timeout`.
photoz_check_result photoz_check_file(photoz_check_format format, const char *path, double default_timeout,
                                      void (*lock)(void), void (*unlock)(void));

/// What happened in the child, in words, e.g. "libhdf5 crashed (signal 11: Segmentation fault) in
/// a separate process that read this file's metadata"; empty for PASSED and DISABLED.
void photoz_check_explain(photoz_check_result result, const char *library, char *buffer, unsigned long size);

/// Records that this process wrote `path` itself (an HDF5 file it created and closed): later
/// checks of the same file identity pass without a child.
void photoz_check_trust(photoz_check_format format, const char *path);

/// How many child processes have been started (for tests and measurements).
long photoz_check_children_started(void);

/// Forgets every cached verdict (for tests and the fuzzers, which rewrite one path).
void photoz_check_forget_all(void);

#endif
