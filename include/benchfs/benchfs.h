/*
 * BenchFS public C API.
 *
 * BenchFS is an ad-hoc file system that lives inside an MPI job:
 * benchfs_init() turns every rank of a communicator into a storage server
 * and a client; benchfs_finalize() tears it down.
 *
 * Error convention (the whole API, like POSIX): functions return -1 (or NULL)
 * and set errno on failure.  Every entry point is thread-safe.  The errno
 * of every kind of bad argument is tabled in docs/reliability.md; in short:
 *   ENODEV        BenchFS is not running (before init, after finalize)
 *   EFAULT        a NULL path, struct pointer, or buffer with count > 0
 *   EBADF         an fd not open here, or not open for the access asked
 *   EINVAL        bad flags, whence or mode; a negative offset or length;
 *                 offset + count past the largest off_t; count > SSIZE_MAX;
 *                 a relative path
 *   ENAMETOOLONG  a path of PATH_MAX bytes or more, a component over NAME_MAX
 *   ENOENT / ENOTDIR  a missing or empty path / a path leading through a file
 *   EIO / ETIMEDOUT   the server holding the data died / did not answer
 *                 within BENCHFS_RPC_TIMEOUT
 *   ENOSPC        a server's storage is full (a write that stored a prefix
 *                 returns that short count first)
 *
 * Paths are absolute inside the BenchFS namespace ("/dir/file").  Repeated
 * slashes and "." are dropped and ".." is resolved lexically ("/a/../b" is
 * "/b" whatever "/a" is).  A path ending in "/" (or "/.", "/..") names a
 * directory: for an existing file it is ENOTDIR, with O_CREAT EISDIR.
 *
 * Consistency is close-to-open: data and the file size written by a rank are
 * visible to every rank that opens (or stats) the file after the writer
 * called benchfs_close() or benchfs_fsync().  See README.md.
 */
#ifndef BENCHFS_BENCHFS_H
#define BENCHFS_BENCHFS_H

#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- Lifecycle (collective over the ranks of comm) ---------------------- */

/* Starts BenchFS on every rank of comm.  0 on success, -1 and errno:
 * EALREADY if BenchFS is already running in this process, EINVAL for an
 * invalid setting (the log names the variable), EIO if UCX failed. */
int benchfs_init(MPI_Comm comm);

/* Waits until every rank is done, stops the server, releases everything.
 * -1 and errno ENODEV if BenchFS is not running. */
int benchfs_finalize(void);

/* 1 if benchfs_init() succeeded and benchfs_finalize() was not yet called. */
int benchfs_initialized(void);

/* Rank of the calling process in the BenchFS communicator and its size;
 * -1 and errno ENODEV when BenchFS is not running. */
int benchfs_rank(void);
int benchfs_size(void);

/* --- Files ------------------------------------------------------------- */

/* flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_SYNC/O_DSYNC (O_CLOEXEC, O_NONBLOCK, O_DIRECT, ... are
 * accepted and ignored; others, and access mode 3, are EINVAL).  With
 * O_CREAT, a third argument mode_t gives the permission bits.  As Linux:
 * O_CREAT|O_DIRECTORY is EINVAL; a directory is EISDIR when opened for
 * writing or with O_CREAT or O_TRUNC; O_DIRECTORY on a file is ENOTDIR (and
 * never truncates it). */
int     benchfs_open(const char *path, int flags, ...);
int     benchfs_close(int fd);
ssize_t benchfs_read(int fd, void *buf, size_t count);
/* A write that a full server stops part way returns the bytes stored before
 * the first failed chunk (a short count, as write(2) on a full disk); the
 * next write returns -1 and ENOSPC.  Chunks past the failed one may be
 * stored and then count in the size. */
ssize_t benchfs_write(int fd, const void *buf, size_t count);
ssize_t benchfs_pread(int fd, void *buf, size_t count, off_t offset);
ssize_t benchfs_pwrite(int fd, const void *buf, size_t count, off_t offset);
off_t   benchfs_lseek(int fd, off_t offset, int whence);
int     benchfs_fsync(int fd);
int     benchfs_stat(const char *path, struct stat *st);
int     benchfs_fstat(int fd, struct stat *st);
int     benchfs_unlink(const char *path);
int     benchfs_truncate(const char *path, off_t length);
int     benchfs_ftruncate(int fd, off_t length);
int     benchfs_chmod(const char *path, mode_t mode);
/* mode: F_OK, or any of R_OK, W_OK, X_OK, checked against the caller's
 * effective uid and gid (root passes R_OK and W_OK always, X_OK if any x bit). */
int     benchfs_access(const char *path, int mode);
/* Moves a file or directory.  An existing target file is replaced; an
 * existing empty target directory is replaced by a directory; a non-empty
 * directory is ENOTEMPTY as a target and EXDEV as a source (not supported). */
int     benchfs_rename(const char *oldpath, const char *newpath);
/* Capacity and free space summed over all servers. */
int     benchfs_statvfs(const char *path, struct statvfs *buf);
/* The rank (in the communicator of benchfs_init) whose server stores the
 * chunk that holds byte `offset` of the open regular file fd, computed
 * locally (no message).  For data-locality-aware programs and benchmarks.
 * A file is cut into chunks of st_blksize bytes (benchfs_fstat: the chunk
 * size); chunk k covers bytes [k * st_blksize, (k + 1) * st_blksize).  Any
 * benchfs_size() consecutive chunks of a file lie one on each rank.  The
 * answer depends only on the file (not its path: a rename moves no data)
 * and the offset, also past the end of the file (where a write would go),
 * and is the same on every rank and for every fd of the file, whatever its
 * access mode.
 * -1 and errno: EBADF fd not open; EISDIR fd is a directory; EINVAL offset < 0;
 * ENODEV not running. */
int     benchfs_chunk_rank(int fd, off_t offset);

/* --- Directories -------------------------------------------------------- */

int benchfs_mkdir(const char *path, mode_t mode);
int benchfs_rmdir(const char *path);

/* Directory listing: every entry exactly once with d_name and d_type ("."
 * and ".." included).  The returned dirent is valid until the next
 * benchfs_readdir or benchfs_closedir on the same stream.  End of the
 * listing returns NULL with errno unchanged. */
typedef struct benchfs_dir benchfs_dir;
benchfs_dir   *benchfs_opendir(const char *path);
/* NULL with errno EBADF for a NULL stream, ENODEV when not running. */
struct dirent *benchfs_readdir(benchfs_dir *dir);
/* Releases the stream, also after benchfs_finalize (so none leaks); -1 and
 * EBADF for a NULL stream (ENODEV when not running). */
int            benchfs_closedir(benchfs_dir *dir);

/* --- Statistics --------------------------------------------------------- */

/* Prints this rank's counters (operations by kind, bytes, requests served,
 * local vs remote, latency percentiles) to out.  Not collective.  With
 * BENCHFS_STATS=1, benchfs_finalize prints every rank's and the aggregate
 * on rank 0.  -1 and errno ENODEV before init, EFAULT for a NULL out. */
int benchfs_stats_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* BENCHFS_BENCHFS_H */
