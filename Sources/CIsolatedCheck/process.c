// The forked child, its timeout and the per-process cache of verdicts.
//
// The child runs only C code (photoz_walk_hdf5 / photoz_walk_fits) and leaves with _exit: the
// parent may be multithreaded, so after fork only async-signal-safe calls and the library being
// checked (whose lock the parent held across fork) may be used; no Swift runtime, no atexit.
#define _GNU_SOURCE
#include "isolated_check.h"
#include "walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// cfitsio's process-wide lock (fitsio2.h; exported by Debian's reentrant build). Weak: another
// build without it still links, and then only the caller's lock protects the fork.
extern pthread_mutex_t Fitsio_Lock __attribute__((weak));
// cfitsio makes that lock on its first open (pthread_mutex_init over its current state); it is
// made before the lock is taken here, as Swift's FITS module does (see CFITSIOCalls.swift).
extern int fits_init_cfitsio(void) __attribute__((weak));
// Set by sanitizer runtimes (libFuzzer installs one that writes a crash artifact of the
// parent's input); the child clears it so that its own death is reported only to the parent.
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

char *photoz_walk_step = NULL;

// MARK: The cache

typedef struct {
    int format;
    dev_t device;
    ino_t inode;
    off_t size;
    struct timespec modified;
    photoz_check_result result;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache = NULL;
static size_t cache_count = 0, cache_capacity = 0;
static long children_started = 0;
// A bound on the cache: past it the oldest half is dropped (those files are checked again).
enum { cache_limit = 1 << 16 };

static int same_identity(const cache_entry *e, int format, const struct stat *s) {
    return e->format == format && e->device == s->st_dev && e->inode == s->st_ino && e->size == s->st_size
        && e->modified.tv_sec == s->st_mtim.tv_sec && e->modified.tv_nsec == s->st_mtim.tv_nsec;
}

static int cache_lookup(int format, const struct stat *s, photoz_check_result *result) {
    int found = 0;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_count; i++) {
        if (same_identity(&cache[i], format, s)) { *result = cache[i].result; found = 1; break; }
    }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

static void cache_store(int format, const struct stat *s, photoz_check_result result) {
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_count; i++) {
        if (same_identity(&cache[i], format, s)) { cache[i].result = result; pthread_mutex_unlock(&cache_lock); return; }
    }
    if (cache_count == cache_limit) {
        memmove(cache, cache + cache_limit / 2, (cache_limit / 2) * sizeof(cache_entry));
        cache_count = cache_limit / 2;
    }
    if (cache_count == cache_capacity) {
        size_t capacity = cache_capacity ? cache_capacity * 2 : 64;
        cache_entry *grown = realloc(cache, capacity * sizeof(cache_entry));
        if (!grown) { pthread_mutex_unlock(&cache_lock); return; }  // not cached: checked again next time
        cache = grown;
        cache_capacity = capacity;
    }
    cache[cache_count++] = (cache_entry){format, s->st_dev, s->st_ino, s->st_size, s->st_mtim, result};
    pthread_mutex_unlock(&cache_lock);
}

void photoz_check_trust(photoz_check_format format, const char *path) {
    struct stat s;
    if (stat(path, &s) == 0 && S_ISREG(s.st_mode)) {
        cache_store(format, &s, (photoz_check_result){PHOTOZ_CHECK_PASSED, 0, 0, 1, ""});
    }
}

void photoz_check_forget_all(void) {
    pthread_mutex_lock(&cache_lock);
    cache_count = 0;
    pthread_mutex_unlock(&cache_lock);
}

long photoz_check_children_started(void) {
    pthread_mutex_lock(&cache_lock);
    long count = children_started;
    pthread_mutex_unlock(&cache_lock);
    return count;
}

// MARK: The child

/// Lets the child allocate at most 2 GB beyond what it inherited: corrupt metadata can make
/// libhdf5 allocate (and fill) a size read from the file; the allocation then fails in the
/// child, which reports it as libhdf5's error or dies, instead of taking the machine's memory.
static void limit_memory(void) {
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return;
    char text[256];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return;
    text[n] = 0;
    // size resident shared text lib data dt, in pages: the 6th field is the data segment
    // (private writable mappings), what RLIMIT_DATA limits.
    unsigned long fields[7] = {0};
    char *cursor = text;
    for (int i = 0; i < 7 && *cursor; i++) fields[i] = strtoul(cursor, &cursor, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || fields[5] == 0) return;
    rlim_t limit = (rlim_t)fields[5] * (rlim_t)page + ((rlim_t)2 << 30);
    struct rlimit data;
    if (getrlimit(RLIMIT_DATA, &data) == 0 && (data.rlim_cur == RLIM_INFINITY || data.rlim_cur > limit)) {
        data.rlim_cur = limit;
        setrlimit(RLIMIT_DATA, &data);
    }
}

/// Prepares the forked child: default signal dispositions (the parent's handlers belong to the
/// Swift runtime's backtracer or a fuzzer and must not run here), no core file, killed with the
/// parent, its own alarm as a second timeout, no inherited descriptors beyond stdin/out/err
/// (they would hold the parent's HDF5 file locks and share its file offsets), silent output.
static void prepare_child(double timeout) {
    static const int signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGALRM,
                                  SIGTERM, SIGINT, SIGPIPE, SIGXFSZ, SIGXCPU, SIGUSR1, SIGUSR2};
    struct sigaction defaults;
    memset(&defaults, 0, sizeof defaults);
    defaults.sa_handler = SIG_DFL;
    sigemptyset(&defaults.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) sigaction(signals[i], &defaults, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    limit_memory();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm((unsigned)(timeout + 2));
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
    {
        long limit = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (limit > 0 && limit < 65536 ? limit : 65536); fd++) close((int)fd);
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) { dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
}

// MARK: The parent

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static double configured_timeout(double fallback) {
    const char *text = getenv("PHOTOZ_METADATA_CHECK_TIMEOUT");
    if (text && *text) {
        char *end = NULL;
        double value = strtod(text, &end);
        if (end && *end == 0 && value > 0 && value <= 86400) return value;
    }
    return fallback > 0 ? fallback : 30;
}

static int disabled(void) {
    const char *text = getenv("PHOTOZ_METADATA_CHECK");
    return text && (!strcmp(text, "off") || !strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no"));
}

/// Waits for `child` until `deadline`, polling with a growing pause (a shard's check takes a
/// few milliseconds: a blocking wait with a timeout would need a signal or a thread).
static photoz_check_result wait_for(pid_t child, double start, double timeout) {
    struct timespec pause = {0, 50 * 1000};
    for (;;) {
        int status = 0;
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) {
            double seconds = now() - start;
            if (WIFSIGNALED(status)) return (photoz_check_result){PHOTOZ_CHECK_CRASHED, WTERMSIG(status), seconds, 0};
            int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            if (code == 0) return (photoz_check_result){PHOTOZ_CHECK_PASSED, 0, seconds, 0};
            if (code == PHOTOZ_WALK_EXTERNAL_LINK) return (photoz_check_result){PHOTOZ_CHECK_EXTERNAL_LINK, 0, seconds, 0};
            if (code == PHOTOZ_WALK_UNLISTABLE) return (photoz_check_result){PHOTOZ_CHECK_UNLISTABLE, 0, seconds, 0};
            if (code == PHOTOZ_WALK_OUT_OF_MEMORY) return (photoz_check_result){PHOTOZ_CHECK_OUT_OF_MEMORY, 0, seconds, 0};
            return (photoz_check_result){PHOTOZ_CHECK_FAILED, code, seconds, 0};
        }
        if (done < 0 && errno != EINTR) return (photoz_check_result){PHOTOZ_CHECK_NOT_RUN, errno, now() - start, 0};
        if (now() - start > timeout) {
            kill(child, SIGKILL);
            while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
            return (photoz_check_result){PHOTOZ_CHECK_TIMED_OUT, (int)timeout, now() - start, 0};
        }
        nanosleep(&pause, NULL);
        if (pause.tv_nsec < 10 * 1000 * 1000) pause.tv_nsec *= 2;
    }
}

photoz_check_result photoz_check_file(photoz_check_format format, const char *path, double default_timeout,
                                      void (*lock)(void), void (*unlock)(void)) {
    if (disabled()) return (photoz_check_result){PHOTOZ_CHECK_DISABLED, 0, 0, 0};
    struct stat before;
    // A path that cannot be examined or is not a regular file is left to the reader, which
    // reports it ("no such file", "a directory").
    if (stat(path, &before) != 0 || !S_ISREG(before.st_mode)) return (photoz_check_result){PHOTOZ_CHECK_PASSED, 0, 0, 0};
    photoz_check_result cached;
    if (cache_lookup(format, &before, &cached)) { cached.cached = 1; cached.seconds = 0; return cached; }

    double timeout = configured_timeout(default_timeout);
    double start = now();
    // The child writes where it is into a page shared with this process (MAP_SHARED survives fork).
    char *step = mmap(NULL, photoz_walk_step_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (step == MAP_FAILED) step = NULL;
    else step[0] = 0;
    if (lock) lock();
    if (format == PHOTOZ_CHECK_FITS && fits_init_cfitsio) fits_init_cfitsio();
    int fits_locked = format == PHOTOZ_CHECK_FITS && &Fitsio_Lock && pthread_mutex_lock(&Fitsio_Lock) == 0;
    pid_t child = fork();
    if (child == 0) {
        photoz_walk_step = step;
        // cfitsio's lock is recursive and owned by the forking thread, whose id the child's only
        // thread does not have: unlocking it here fails (EPERM) and cfitsio then waits forever.
        // No other thread held it at fork, so it is made anew, as cfitsio makes it.
        if (fits_locked) {
            pthread_mutexattr_t attributes;
            pthread_mutexattr_init(&attributes);
            pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
            pthread_mutex_init(&Fitsio_Lock, &attributes);
        }
        prepare_child(timeout);
        _exit(format == PHOTOZ_CHECK_HDF5 ? photoz_walk_hdf5(path) : photoz_walk_fits(path));
    }
    int fork_error = errno;
    if (fits_locked) pthread_mutex_unlock(&Fitsio_Lock);
    if (unlock) unlock();
    if (child < 0) {
        if (step) munmap(step, photoz_walk_step_size);
        return (photoz_check_result){PHOTOZ_CHECK_NOT_RUN, fork_error, 0, 0};
    }
    pthread_mutex_lock(&cache_lock);
    children_started++;
    pthread_mutex_unlock(&cache_lock);

    photoz_check_result result = wait_for(child, start, timeout);
    if (step) {
        if (result.outcome != PHOTOZ_CHECK_PASSED) {
            step[photoz_walk_step_size - 1] = 0;
            snprintf(result.step, sizeof result.step, "%s", step);
        }
        munmap(step, photoz_walk_step_size);
    }
    // Cache only a verdict about the file that is still there.
    struct stat after;
    if (result.outcome != PHOTOZ_CHECK_NOT_RUN && stat(path, &after) == 0 && before.st_dev == after.st_dev
        && before.st_ino == after.st_ino && before.st_size == after.st_size
        && before.st_mtim.tv_sec == after.st_mtim.tv_sec && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec) {
        cache_store(format, &before, result);
    }
    return result;
}

void photoz_check_explain(photoz_check_result result, const char *library, char *buffer, unsigned long size) {
    if (size == 0) return;
    buffer[0] = 0;
    char where[400];
    if (result.step[0]) snprintf(where, sizeof where, "in a separate process that read this file's metadata, while %s", result.step);
    else snprintf(where, sizeof where, "in a separate process that read this file's metadata");
    switch (result.outcome) {
    case PHOTOZ_CHECK_CRASHED:
        if (result.detail == SIGALRM || result.detail == SIGKILL) {
            snprintf(buffer, size, "%s was killed (signal %d: %s) %s: it ran out of time or memory",
                     library, result.detail, strsignal(result.detail), where);
        } else {
            snprintf(buffer, size, "%s crashed (signal %d: %s) %s", library, result.detail, strsignal(result.detail), where);
        }
        break;
    case PHOTOZ_CHECK_TIMED_OUT:
        snprintf(buffer, size, "%s did not finish within %d s %s (it loops on the file's metadata); the process was stopped",
                 library, result.detail, where);
        break;
    case PHOTOZ_CHECK_FAILED:
        snprintf(buffer, size, "%s stopped with exit status %d %s", library, result.detail, where);
        break;
    case PHOTOZ_CHECK_EXTERNAL_LINK:
        snprintf(buffer, size, "the file holds an external or user-defined link, which would make %s open another file "
                 "that was never checked", library);
        break;
    case PHOTOZ_CHECK_UNLISTABLE:
        snprintf(buffer, size, "%s could not list what it needs to check (%s), so the objects it cannot list were never checked",
                 library, result.step[0] ? result.step : "an object's attributes or members");
        break;
    case PHOTOZ_CHECK_OUT_OF_MEMORY:
        snprintf(buffer, size, "%s needed more than 2 GB of memory %s: the file declares metadata of an impossible size",
                 library, where);
        break;
    case PHOTOZ_CHECK_NOT_RUN:
        snprintf(buffer, size, "the separate process that checks this file's metadata could not be started: %s (errno %d)",
                 strerror(result.detail), result.detail);
        break;
    case PHOTOZ_CHECK_PASSED:
    case PHOTOZ_CHECK_DISABLED:
        break;
    }
}
