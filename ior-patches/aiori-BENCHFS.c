/* -*- mode: c; c-basic-offset: 8; indent-tabs-mode: nil; -*-
 * vim:expandtab:shiftwidth=8:tabstop=8:
 */
/*
 * IOR/mdtest backend for BenchFS, an ad-hoc file system that lives inside
 * the MPI job (see BenchFS's README.md, ior-patches/README.md, docs/ior.md).
 *
 *   mpirun -np N ior    -a BENCHFS [--benchfs.chunk-size=1m] ...
 *   mpirun -np N mdtest -a BENCHFS -d /mdtest ...
 *
 * The backend starts BenchFS by itself: the first call of the initialize hook
 * (IOR: once per test, after MPI_Init, on the test's communicator; mdtest and
 * md-workbench: once) runs the collective benchfs_init() on IOR's testComm.
 * Later tests reuse the running file system, so files written by one test are
 * there for the next.  BenchFS is torn down at MPI_Finalize by the delete
 * callback of an attribute on MPI_COMM_SELF (MPI deletes MPI_COMM_SELF's
 * attributes first thing in MPI_Finalize, while MPI is fully usable), unless
 * the program already called benchfs_finalize() itself.  The finalize hook
 * does nothing: IOR calls it after every test.
 *
 * Paths: BenchFS paths are absolute in its own namespace; a relative path
 * from IOR/mdtest (IOR's default "testFile", mdtest's "./out") is taken
 * relative to the BenchFS root.
 *
 * This file is part of BenchFS (ior-patches/), not of IOR.  It builds against
 * IOR 4.0.0 and IOR main: the only difference of the backend table, the
 * delete hook being called ".delete" (4.0.0) or ".remove" (main), is detected
 * by configure (AC_CHECK_MEMBERS on ior_aiori_t in ior-benchfs.patch), which
 * defines HAVE_IOR_AIORI_T_REMOVE or HAVE_IOR_AIORI_T_DELETE in config.h.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <mpi.h>
#include <benchfs/benchfs.h>

#include "ior.h"
#include "aiori.h"
#include "iordef.h"
#include "utilities.h"

#if defined(HAVE_IOR_AIORI_T_REMOVE)
#define BENCHFS_DELETE_HOOK remove
#elif defined(HAVE_IOR_AIORI_T_DELETE)
#define BENCHFS_DELETE_HOOK delete
#else
#error "configure did not find the delete hook (.remove or .delete) of ior_aiori_t in aiori.h: was ior-benchfs.patch applied and ./bootstrap run?"
#endif

#ifndef BENCHFS_PC_VERSION
#define BENCHFS_PC_VERSION "unknown"
#endif

/************************** O P T I O N S *****************************/

typedef struct {
        char *chunk_size; /* --benchfs.chunk-size: BENCHFS_CHUNK_SIZE, "64k", "1m" */
        char *backend;    /* --benchfs.backend:    BENCHFS_BACKEND, "uring" or "memory" */
        char *dir;        /* --benchfs.dir:        BENCHFS_DIR */
        int keep;         /* --benchfs.keep:       BENCHFS_KEEP=1 */
} benchfs_options_t;

/* The settings BenchFS was started with: "VAR=value" of each variable as
 * benchfs_init saw it (NULL: unset), to warn when a later test asks for
 * different ones. */
static const char *const setting_vars[] = {
        "BENCHFS_CHUNK_SIZE", "BENCHFS_BACKEND", "BENCHFS_DIR", "BENCHFS_KEEP"
};
#define NSETTINGS (sizeof(setting_vars) / sizeof(setting_vars[0]))
static char *started_settings[NSETTINGS];

static option_help *BENCHFS_options(aiori_mod_opt_t **init_backend_options,
                                    aiori_mod_opt_t *init_values)
{
        benchfs_options_t *o = malloc(sizeof(*o));
        if (o == NULL)
                ERR("out of memory");
        if (init_values != NULL)
                memcpy(o, init_values, sizeof(*o));
        else
                memset(o, 0, sizeof(*o));
        *init_backend_options = (aiori_mod_opt_t *) o;

        /* Strings, not integers: BenchFS parses the size itself (suffixes
         * k, m, g) and names the setting when a value is invalid. */
        option_help h[] = {
                {0, "benchfs.chunk-size", "Stripe unit, a power of two from 4k to 1g, e.g. 64k, 1m, 4m (sets BENCHFS_CHUNK_SIZE; default: the variable, else 1m)",
                 OPTION_OPTIONAL_ARGUMENT, 's', &o->chunk_size},
                {0, "benchfs.backend", "Chunk store: uring (sparse files via io_uring) or memory (RAM) (sets BENCHFS_BACKEND)",
                 OPTION_OPTIONAL_ARGUMENT, 's', &o->backend},
                {0, "benchfs.dir", "Directory of the uring backend's backing files (sets BENCHFS_DIR; default: the variable, else $TMPDIR or /tmp)",
                 OPTION_OPTIONAL_ARGUMENT, 's', &o->dir},
                {0, "benchfs.keep", "Keep the backing directories when BenchFS stops (sets BENCHFS_KEEP=1)",
                 OPTION_FLAG, 'd', &o->keep},
                LAST_OPTION
        };
        option_help *help = malloc(sizeof(h));
        if (help == NULL)
                ERR("out of memory");
        memcpy(help, h, sizeof(h));
        return help;
}

/* The value each option asks for, NULL when the option was not given (the
 * environment variable, if any, then stays in force). */
static const char *option_value(const benchfs_options_t *o, size_t i)
{
        if (o == NULL)
                return NULL;
        switch (i) {
        case 0: return (o->chunk_size && *o->chunk_size) ? o->chunk_size : NULL;
        case 1: return (o->backend && *o->backend) ? o->backend : NULL;
        case 2: return (o->dir && *o->dir) ? o->dir : NULL;
        case 3: return o->keep > 0 ? "1" : NULL;
        }
        return NULL;
}

static int BENCHFS_check_params(aiori_mod_opt_t *options)
{
        benchfs_options_t *o = (benchfs_options_t *) options;
        if (o == NULL)
                return 0;
        /* The values themselves are checked by benchfs_init (one place for
         * the rules); catch only what it cannot tell apart from "unset". */
        if (o->chunk_size != NULL && *o->chunk_size == '\0')
                ERR("--benchfs.chunk-size needs a value, e.g. 1m");
        if (o->backend != NULL && *o->backend == '\0')
                ERR("--benchfs.backend needs a value: uring or memory");
        if (o->dir != NULL && *o->dir == '\0')
                ERR("--benchfs.dir needs a directory");
        return 0;
}

/************************** S T A R T / S T O P ***********************/

static aiori_xfer_hint_t *hints = NULL;
/* IOR's --dryRun: no call that changes or moves data; queries (access, stat,
 * statfs) still ask the file system, as IOR's POSIX access does. */
#define DRYRUN (hints != NULL && hints->dryRun)

/* 1 while a BenchFS instance started by this backend runs in this process. */
static int started_by_us = 0;

static void apply_options(const benchfs_options_t *o)
{
        for (size_t i = 0; i < NSETTINGS; i++) {
                const char *v = option_value(o, i);
                if (v != NULL && setenv(setting_vars[i], v, 1) != 0)
                        ERRF("setenv(%s) failed: %s", setting_vars[i], strerror(errno));
        }
}

static void record_settings(void)
{
        for (size_t i = 0; i < NSETTINGS; i++) {
                const char *v = getenv(setting_vars[i]);
                free(started_settings[i]);
                started_settings[i] = v ? strdup(v) : NULL;
        }
}

/* BenchFS already runs: a test cannot change its settings. */
static void warn_if_settings_differ(const benchfs_options_t *o, int comm_rank)
{
        if (comm_rank != 0 || !started_by_us)
                return;
        for (size_t i = 0; i < NSETTINGS; i++) {
                const char *v = option_value(o, i);
                if (v == NULL)
                        continue;
                if (started_settings[i] == NULL || strcmp(v, started_settings[i]) != 0)
                        WARNF("BenchFS already runs with %s=%s; this test's value %s is ignored "
                              "(the file system started by the first test is reused)",
                              setting_vars[i],
                              started_settings[i] ? started_settings[i] : "(default)", v);
        }
}

/*
 * IOR: called once per test by the ranks of the test's communicator
 * (testComm: ranks 0..N-1 of IOR's world, N from -N), after MPI_Init.
 * mdtest: once, testComm = its world communicator.  md-workbench: once, with
 * IOR's testComm unset: use MPI_COMM_WORLD.
 */
static void BENCHFS_initialize(aiori_mod_opt_t *options)
{
        benchfs_options_t *o = (benchfs_options_t *) options;
        MPI_Comm comm = (testComm != MPI_COMM_NULL) ? testComm : MPI_COMM_WORLD;
        int crank, csize, running, nrunning;

        MPI_CHECK(MPI_Comm_rank(comm, &crank), "MPI_Comm_rank() error");
        MPI_CHECK(MPI_Comm_size(comm, &csize), "MPI_Comm_size() error");

        /* The program may have finalized our instance itself. */
        if (started_by_us && !benchfs_initialized())
                started_by_us = 0;

        running = benchfs_initialized() ? 1 : 0;
        MPI_CHECK(MPI_Allreduce(&running, &nrunning, 1, MPI_INT, MPI_SUM, comm),
                  "MPI_Allreduce() error");

        if (nrunning == csize) {
                /* Every rank of this test is a BenchFS member: reuse it (its
                 * communicator may be larger, e.g. this test runs with a
                 * smaller -N; the other members keep serving). */
                warn_if_settings_differ(o, crank);
                return;
        }

        if (nrunning > 0) {
                /* A later test with more ranks than the test that started
                 * BenchFS (IOR's test communicators are prefixes of its
                 * world, so the old members are all here).  The new ranks
                 * cannot join a running instance: restart it on this
                 * communicator, which is only safe when every member of the
                 * running instance is here and it is ours. */
                int ok = !running || (started_by_us && benchfs_size() == nrunning);
                int all_ok;
                MPI_CHECK(MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, comm),
                          "MPI_Allreduce() error");
                if (!all_ok)
                        ERRF("BenchFS runs on %d of this test's %d ranks and cannot be restarted here "
                             "(it was started outside this backend or on ranks outside this test); "
                             "start it on the largest communicator first", nrunning, csize);
                if (crank == 0)
                        WARNF("this test runs on %d ranks but BenchFS was started on %d by an earlier "
                              "test; restarting it on %d ranks: files written by earlier tests are lost",
                              csize, nrunning, csize);
                if (running) {
                        if (benchfs_finalize() != 0)
                                ERRF("benchfs_finalize failed: %s", strerror(errno));
                        started_by_us = 0;
                }
        }

        apply_options(o);
        if (benchfs_init(comm) != 0)
                ERRF("benchfs_init on %d ranks failed: %s (for EINVAL the BenchFS log names the "
                     "setting: check --benchfs.* and BENCHFS_*)", csize, strerror(errno));
        started_by_us = 1;
        record_settings();
        /* No teardown hook here: libbenchfs itself finalizes a running
         * BenchFS from MPI_Finalize (an MPI_COMM_SELF attribute callback). */
        if (crank == 0 && verbose >= VERBOSE_1)
                INFOF("BenchFS started on %d ranks", csize);
}

/* Called after every IOR test: keep BenchFS for the next one; it stops at
 * MPI_Finalize (or at the program's own benchfs_finalize). */
static void BENCHFS_finalize(aiori_mod_opt_t *options)
{
        (void) options;
}

static void BENCHFS_xfer_hints(aiori_xfer_hint_t *params)
{
        hints = params;
}

/**************************** H E L P E R S ***************************/

/* BenchFS paths are absolute; a relative IOR path is taken from the root. */
static const char *abs_path(const char *path, char *buf, size_t len)
{
        if (path == NULL || path[0] == '/')
                return path;
        if ((size_t) snprintf(buf, len, "/%s", path) >= len)
                return path; /* too long: BenchFS reports EINVAL/ENAMETOOLONG */
        return buf;
}
#define ABS(p) abs_path((p), pathbuf, sizeof(pathbuf))

static int map_flags(int iorflags)
{
        int flags;
        if ((iorflags & IOR_RDWR) || ((iorflags & IOR_RDONLY) && (iorflags & IOR_WRONLY)))
                flags = O_RDWR;
        else if (iorflags & IOR_WRONLY)
                flags = O_WRONLY;
        else
                flags = O_RDONLY; /* IOR_RDONLY, or 0 (mdtest passes O_RDONLY) */
        if (iorflags & IOR_APPEND)
                flags |= O_APPEND;
        if (iorflags & IOR_CREAT)
                flags |= O_CREAT;
        if (iorflags & IOR_TRUNC)
                flags |= O_TRUNC;
        if (iorflags & IOR_EXCL)
                flags |= O_EXCL;
        /* IOR_DIRECT: BenchFS has no client cache to bypass; ignored. */
        return flags;
}

typedef struct {
        int fd;
} benchfs_fd_t;

static benchfs_fd_t dryrun_fd = { -1 };

static aiori_fd_t *new_fd(int fd)
{
        benchfs_fd_t *bf = malloc(sizeof(*bf));
        if (bf == NULL)
                ERR("out of memory");
        bf->fd = fd;
        return (aiori_fd_t *) bf;
}

static int fd_of(aiori_fd_t *afd)
{
        return ((benchfs_fd_t *) afd)->fd;
}

/****************************** H O O K S *****************************/

static aiori_fd_t *BENCHFS_create(char *path, int iorflags, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        int flags = map_flags(iorflags | IOR_CREAT);
        int fd;
        (void) options;

        if (DRYRUN)
                return (aiori_fd_t *) &dryrun_fd;

        if ((flags & O_TRUNC) && hints != NULL && !hints->filePerProc &&
            testComm != MPI_COMM_NULL) {
                /* A shared file: IOR calls create from every rank of
                 * testComm at once.  A rank's O_TRUNC arriving after another
                 * rank already wrote would destroy that data, so rank 0
                 * creates and truncates, and the others open it after a
                 * barrier without O_TRUNC. */
                int crank;
                MPI_CHECK(MPI_Comm_rank(testComm, &crank), "MPI_Comm_rank() error");
                if (crank == 0) {
                        fd = benchfs_open(ABS(path), flags, 0664);
                        int err = errno;
                        MPI_CHECK(MPI_Barrier(testComm), "barrier error");
                        errno = err;
                } else {
                        MPI_CHECK(MPI_Barrier(testComm), "barrier error");
                        fd = benchfs_open(ABS(path), flags & ~O_TRUNC, 0664);
                }
        } else {
                fd = benchfs_open(ABS(path), flags, 0664);
        }
        if (fd < 0) {
                WARNF("[RANK %03d]: benchfs_open(\"%s\", create) failed: %s", rank, path,
                      strerror(errno));
                return NULL;
        }
        return new_fd(fd);
}

static aiori_fd_t *BENCHFS_open(char *path, int iorflags, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        int fd;
        (void) options;

        if (DRYRUN)
                return (aiori_fd_t *) &dryrun_fd;
        fd = benchfs_open(ABS(path), map_flags(iorflags), 0664);
        if (fd < 0) {
                WARNF("[RANK %03d]: benchfs_open(\"%s\") failed: %s", rank, path, strerror(errno));
                return NULL;
        }
        return new_fd(fd);
}

static int BENCHFS_mknod(char *path)
{
        char pathbuf[PATH_MAX + 2];
        int fd;

        if (DRYRUN)
                return 0;
        fd = benchfs_open(ABS(path), O_CREAT | O_EXCL | O_WRONLY, 0664);
        if (fd < 0)
                return -1;
        if (benchfs_close(fd) != 0)
                return -1;
        return 0;
}

/* The whole length, looping on short transfers; a read returns less only at
 * end of file (or with -W/-R after a failure, which IOR then reports). */
static IOR_offset_t BENCHFS_xfer(int access, aiori_fd_t *afd, IOR_size_t *buffer,
                                 IOR_offset_t length, IOR_offset_t offset,
                                 aiori_mod_opt_t *options)
{
        char *ptr = (char *) buffer;
        IOR_offset_t done = 0;
        int fd;
        (void) options;

        if (DRYRUN)
                return length;
        fd = fd_of(afd);
        while (done < length) {
                size_t want = (size_t) (length - done);
                ssize_t rc;
                if (access == WRITE)
                        rc = benchfs_pwrite(fd, ptr + done, want, (off_t) (offset + done));
                else /* READ, WRITECHECK, READCHECK */
                        rc = benchfs_pread(fd, ptr + done, want, (off_t) (offset + done));
                if (rc < 0) {
                        if (errno == EINTR)
                                continue;
                        WARNF("[RANK %03d]: benchfs_%s(fd %d, %zu bytes, offset %lld) failed: %s",
                              rank, access == WRITE ? "pwrite" : "pread", fd, want,
                              (long long) (offset + done), strerror(errno));
                        return done;
                }
                if (rc == 0) {
                        WARNF("[RANK %03d]: benchfs_%s(fd %d, %zu bytes, offset %lld) %s",
                              rank, access == WRITE ? "pwrite" : "pread", fd, want,
                              (long long) (offset + done),
                              access == WRITE ? "wrote nothing" : "hit end of file");
                        return done;
                }
                done += rc;
                if (done < length && hints != NULL && hints->singleXferAttempt)
                        return done;
        }
        return length;
}

static void BENCHFS_close(aiori_fd_t *afd, aiori_mod_opt_t *options)
{
        (void) options;
        if (DRYRUN || afd == (aiori_fd_t *) &dryrun_fd)
                return;
        /* close publishes the size this rank wrote (close-to-open) */
        if (benchfs_close(fd_of(afd)) != 0)
                ERRF("benchfs_close(%d) failed: %s", fd_of(afd), strerror(errno));
        free(afd);
}

static void BENCHFS_delete(char *path, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        (void) options;
        if (DRYRUN)
                return;
        if (benchfs_unlink(ABS(path)) != 0)
                WARNF("[RANK %03d]: benchfs_unlink(\"%s\") failed: %s", rank, path, strerror(errno));
}

static char *BENCHFS_get_version(void)
{
        return "BenchFS " BENCHFS_PC_VERSION;
}

static void BENCHFS_fsync(aiori_fd_t *afd, aiori_mod_opt_t *options)
{
        (void) options;
        if (DRYRUN || afd == (aiori_fd_t *) &dryrun_fd)
                return;
        if (benchfs_fsync(fd_of(afd)) != 0)
                WARNF("[RANK %03d]: benchfs_fsync(%d) failed: %s", rank, fd_of(afd), strerror(errno));
}

/* Nothing is pending: every write reaches its servers before benchfs_pwrite
 * returns, sizes are published at close/fsync, and every namespace change is
 * done by its owner before the call returns. */
static void BENCHFS_sync(aiori_mod_opt_t *options)
{
        (void) options;
}

/* This rank's view of the size; IOR itself combines the ranks' values
 * (sum for -F, min/max check for a shared file) with MPI_Allreduce, as it
 * does for the POSIX backend.  Not collective: IOR also calls it from single
 * ranks (random offsets). */
static IOR_offset_t BENCHFS_get_file_size(aiori_mod_opt_t *options, char *path)
{
        char pathbuf[PATH_MAX + 2];
        struct stat st;
        (void) options;
        if (DRYRUN)
                return 0;
        if (benchfs_stat(ABS(path), &st) != 0)
                ERRF("benchfs_stat(\"%s\") failed: %s", path, strerror(errno));
        return (IOR_offset_t) st.st_size;
}

/* Whole-file-system figures (all servers); the path only has to be inside
 * BenchFS, and IOR asks for the test file before it exists. */
static int BENCHFS_statfs(const char *path, ior_aiori_statfs_t *out, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        struct statvfs sv;
        (void) options;
        if (benchfs_statvfs(ABS(path), &sv) != 0) {
                if (errno != ENOENT && errno != ENOTDIR)
                        return -1;
                if (benchfs_statvfs("/", &sv) != 0)
                        return -1;
        }
        out->f_bsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize; /* f_blocks' unit */
        out->f_blocks = sv.f_blocks;
        out->f_bfree = sv.f_bfree;
        out->f_bavail = sv.f_bavail;
        out->f_files = sv.f_files;
        out->f_ffree = sv.f_ffree;
        return 0;
}

static int BENCHFS_mkdir(const char *path, mode_t mode, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        (void) options;
        if (DRYRUN)
                return 0;
        return benchfs_mkdir(ABS(path), mode);
}

static int BENCHFS_rmdir(const char *path, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        (void) options;
        if (DRYRUN)
                return 0;
        return benchfs_rmdir(ABS(path));
}

static int BENCHFS_access(const char *path, int mode, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        (void) options;
        return benchfs_access(ABS(path), mode);
}

static int BENCHFS_stat(const char *path, struct stat *buf, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2];
        (void) options;
        return benchfs_stat(ABS(path), buf);
}

static int BENCHFS_rename(const char *oldpath, const char *newpath, aiori_mod_opt_t *options)
{
        char pathbuf[PATH_MAX + 2], pathbuf2[PATH_MAX + 2];
        (void) options;
        if (DRYRUN)
                return 0;
        if (benchfs_rename(abs_path(oldpath, pathbuf, sizeof(pathbuf)),
                           abs_path(newpath, pathbuf2, sizeof(pathbuf2))) != 0) {
                WARNF("[RANK %03d]: benchfs_rename(\"%s\", \"%s\") failed: %s", rank, oldpath,
                      newpath, strerror(errno));
                return -1;
        }
        return 0;
}

ior_aiori_t benchfs_aiori = {
        .name = "BENCHFS",
        .name_legacy = NULL,
        .create = BENCHFS_create,
        .mknod = BENCHFS_mknod,
        .open = BENCHFS_open,
        .xfer_hints = BENCHFS_xfer_hints,
        .xfer = BENCHFS_xfer,
        .close = BENCHFS_close,
        .BENCHFS_DELETE_HOOK = BENCHFS_delete,
        .get_version = BENCHFS_get_version,
        .fsync = BENCHFS_fsync,
        .get_file_size = BENCHFS_get_file_size,
        .statfs = BENCHFS_statfs,
        .mkdir = BENCHFS_mkdir,
        .rmdir = BENCHFS_rmdir,
        .access = BENCHFS_access,
        .stat = BENCHFS_stat,
        .initialize = BENCHFS_initialize,
        .finalize = BENCHFS_finalize,
        .rename = BENCHFS_rename,
        .get_options = BENCHFS_options,
        .check_params = BENCHFS_check_params,
        .sync = BENCHFS_sync,
        .enable_mdtest = true,
};
