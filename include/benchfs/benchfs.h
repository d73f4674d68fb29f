/*
 * BenchFS public C API.
 *
 * BenchFS is an ad-hoc file system that lives inside an MPI job:
 * benchfs_init() turns every rank of a communicator into a storage server
 * and a client; benchfs_finalize() tears it down.  Usable from C99 and C++.
 *
 * Error convention (the whole API, like POSIX): functions return -1 (or NULL)
 * and set errno on failure.  The errno of every kind of bad argument is
 * tabled in docs/reliability.md; in short:
 *   ENODEV        BenchFS is not running (before init, after finalize)
 *   EFAULT        a NULL path, struct pointer, or buffer with count > 0
 *   EBADF         an fd not open here, or not open for the access asked
 *   EINVAL        bad flags, whence or mode; a negative offset or length;
 *                 offset + count past the largest off_t; count > SSIZE_MAX;
 *                 a relative path
 *   ENAMETOOLONG  a path of PATH_MAX bytes or more, a component over NAME_MAX
 *   ENOENT / ENOTDIR  a missing or empty path / a path leading through a file
 *   ELOOP         more than 40 symbolic links in one path (or a loop)
 *   ESTALE        an fd of a file removed or replaced since it was opened
 *                 (benchfs_unlink)
 *   EIO / ETIMEDOUT   the server holding the data died / did not answer
 *                 within BENCHFS_RPC_TIMEOUT
 *   ENOSPC        a server's storage is full (a write that stored a prefix
 *                 returns that short count first)
 * The errnos particular to one call (EALREADY, EEXIST, EISDIR, ENOTEMPTY,
 * EXDEV, EBUSY, EACCES, EOVERFLOW) are listed at that call.
 *
 * Threads and MPI: every entry point is thread-safe.  Only benchfs_init,
 * benchfs_finalize, benchfs_stage_in and benchfs_stage_out call MPI, from
 * the calling thread; the progress thread never does, so BenchFS works at
 * any MPI thread level, MPI_THREAD_SINGLE included.  Call those four where your thread level allows MPI calls (the
 * main thread under MPI_THREAD_FUNNELED); any thread may call the others.
 *
 * File descriptors are numbers (3 and up) in a table of this process, not
 * kernel descriptors: pass them only to benchfs_* calls.  Every thread of
 * the process may use them; other ranks cannot.  Permission bits, owner
 * and group are stored and reported, but only benchfs_access checks them:
 * no other call refuses anything for lack of permission.
 *
 * Paths are absolute inside the BenchFS namespace ("/dir/file").  Repeated
 * slashes and "." are dropped and ".." is resolved lexically ("/a/../b" is
 * "/b" whatever "/a" is).  A path ending in "/" (or "/.", "/..") names a
 * directory: for an existing file it is ENOTDIR, with O_CREAT EISDIR.
 * A path under the mount prefix (BENCHFS_MOUNT, default "/benchfs") is the
 * BenchFS path without it: "/benchfs/a" is "/a", as the preload library
 * (docs/preload.md) names it.
 * Symbolic links (benchfs_symlink) are followed anywhere in a path, and as
 * its last component by every call that follows one in POSIX (open without
 * O_NOFOLLOW, stat, truncate, chmod, access, statvfs, opendir); lstat,
 * readlink, unlink, rename, mkdir, rmdir and symlink act on the link.
 * ELOOP after 40 links in one resolution.  Hard links are not supported.
 *
 * Consistency is close-to-open: data and the file size written by a rank are
 * visible to every rank that opens (or stats) the file after the writer
 * called benchfs_close() or benchfs_fsync().  O_APPEND writes are atomic
 * across ranks.  Namespace changes (create, mkdir, unlink, rmdir, rename,
 * truncate, chmod, symlink) are done by the path's server before the call
 * returns.  A file removed (unlink, O_TRUNC open, rename onto it) while
 * another descriptor has it open does not live on as in POSIX: that
 * descriptor's writes fail with ESTALE and store nothing (reads too, once
 * the file had a writer).  See "Consistency model" in README.md.
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

/* Starts BenchFS on every rank of comm: each rank becomes a storage server
 * (a progress thread) and a client.  Collective: every rank of comm must
 * call it; ranks outside comm take no part.  comm is duplicated, so the
 * caller may free it afterwards.  Needs MPI initialised and not finalised,
 * at any thread level.  Reads the BENCHFS_* environment variables (table in
 * README.md); every rank must set the same BENCHFS_CHUNK_SIZE.  A BenchFS
 * the program does not finalize is finalized inside MPI_Finalize (see
 * benchfs_finalize).  After benchfs_finalize it may be called again, which
 * starts a new, empty file system.
 * 0 on success, or -1 and errno.  A setting that is invalid on one rank, or
 * a step that fails on one rank, fails the call on every rank of comm (none
 * hangs), and MPI stays usable; only the checks of MPI, of comm and
 * EALREADY come first and are local to each rank:
 *   EINVAL    an invalid setting (the log names the variable and the value),
 *             BENCHFS_CHUNK_SIZE differing between ranks, comm is
 *             MPI_COMM_NULL, or MPI is not initialised or already finalised
 *   EALREADY  BenchFS is already running in this process
 *   EIO       UCX or the backing store (BENCHFS_DIR) cannot be set up
 * or the errno of a system call that failed while starting (e.g. EMFILE). */
int benchfs_init(MPI_Comm comm);

/* Stops BenchFS.  Closes the files this process left open (publishing
 * their sizes, as benchfs_close does), waits until every rank of
 * benchfs_init's comm has called it, stops the progress thread and removes
 * this rank's backing directory (kept with BENCHFS_KEEP=1).  With
 * BENCHFS_STATS=1 rank 0 first prints every rank's statistics to stderr.
 * Collective over the ranks of benchfs_init's comm.  Calls of other threads
 * that are under way finish first; later calls fail with ENODEV.  Open
 * directory streams are then good only for benchfs_closedir.
 * A program that does not call it gets it from MPI_Finalize: benchfs_init
 * sets an attribute on MPI_COMM_SELF whose delete callback finalizes
 * BenchFS, collectively as here, while MPI still works (MPI_Finalize
 * deletes MPI_COMM_SELF's attributes first); its result is not reported.
 * With BENCHFS_STAGE_OUT=SRC:DST it first closes the files this process
 * left open and runs benchfs_stage_out(SRC, DST); with
 * BENCHFS_STAGE_ERRORS=fail (the default) a stage-out with any problem
 * makes benchfs_finalize return -1 with that problem's errno and leaves
 * BenchFS running with every file in place, so that nothing is lost: copy
 * what is missing (or fix the destination) and call benchfs_finalize again,
 * which stages out again.  Inside MPI_Finalize nobody can be told: the
 * problems are logged and BenchFS goes down.
 * 0 on success, or -1 and errno:
 *   ENODEV  BenchFS is not running
 *   EIO     a rank was lost (it died, or did not answer within
 *           BENCHFS_RPC_TIMEOUT) and the job lost the data it held.  This
 *           rank is shut down all the same (benchfs_initialized() is 0):
 *           finalize never waits for a lost rank, it returns about 1 s
 *           after the last surviving rank called it (plus the timeout for
 *           a rank that stopped answering); see docs/reliability.md. */
int benchfs_finalize(void);

/* 1 if BenchFS runs in this process (benchfs_init() succeeded and BenchFS
 * was not finalized since), else 0.  Never fails; not collective. */
int benchfs_initialized(void);

/* Rank of the calling process in benchfs_init's comm, and the size of that
 * comm (the number of servers).  Not collective.  -1 and errno ENODEV when
 * BenchFS is not running. */
int benchfs_rank(void);
int benchfs_size(void);

/* --- Files ------------------------------------------------------------- */

/* Opens path and returns a BenchFS fd, or -1 and errno.
 * flags: O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_SYNC/O_DSYNC (O_CLOEXEC, O_NONBLOCK, O_DIRECT,
 * O_NOATIME, O_NOCTTY, O_LARGEFILE are accepted and ignored; others, and
 * access mode 3, are EINVAL).  With O_CREAT, a third argument mode_t gives
 * the permission bits, masked with the umask the process had at
 * benchfs_init; the new file belongs to the caller's effective uid and gid.
 *   O_TRUNC   of a non-empty file opened for writing gives the file new
 *             storage (a new st_ino) and reclaims the old on every server
 *             before returning: all ranks may open a shared file with
 *             O_TRUNC at once (as IOR does) without erasing each other's
 *             fresh writes.  A descriptor that had the file open before is
 *             stale: its writes fail with ESTALE (see benchfs_unlink).
 *             With O_RDONLY, O_TRUNC does not truncate (Linux would).
 *   O_APPEND  each write goes to the end of the file as the metadata owner
 *             has it (published sizes and earlier appends, from any rank)
 *             merged with this fd's own unreported writes; the owner hands
 *             out the range and raises the size in one step, so appends
 *             from any ranks and fds never overlap.
 *   O_NOFOLLOW  a symbolic link as the last component is ELOOP (links
 *             earlier in the path are followed).  Without it, a link is
 *             opened as its target, and O_CREAT on a dangling link creates
 *             the target; O_CREAT|O_EXCL on any link is EEXIST.
 *   O_SYNC, O_DSYNC  every write is followed by benchfs_fsync.
 * A directory may be opened read-only (for fstat; list it with
 * benchfs_opendir).  As Linux: O_CREAT|O_DIRECTORY is EINVAL; a directory
 * is EISDIR when opened for writing or with O_CREAT or O_TRUNC, and so is
 * O_CREAT on a path ending in "/"; O_DIRECTORY on a file is ENOTDIR (and
 * never truncates it).  Other errors: EEXIST (O_CREAT|O_EXCL and the path
 * exists), ENOENT (no such path and no O_CREAT, or a missing parent),
 * ENOTDIR (a parent is a file). */
int     benchfs_open(const char *path, int flags, ...);
/* Releases fd.  If this fd wrote, sends the end of its highest written byte
 * to the file's metadata owner: from then on every rank that opens or stats
 * the file sees the data and the size (close-to-open).  The fd is released
 * even when the call fails; -1 with EIO or ETIMEDOUT then means the size
 * was not published.  A file unlinked or replaced while open has nothing to
 * publish (0); a file renamed while open loses its size report, so close
 * before renaming.  EBADF for an fd not open. */
int     benchfs_close(int fd);
/* Reads up to count bytes at the fd's offset and advances the offset.
 * Returns the bytes read: fewer than count only at end of file, 0 at or
 * past it; holes read as zeros.  A read reaching past the size this fd
 * knows asks the metadata owner for the current size before it reports end
 * of file.  EBADF (fd not open for reading), EISDIR (a directory's fd),
 * EINVAL, EFAULT, EIO/ETIMEDOUT, ESTALE (the file was removed or replaced
 * while it had a writer, see benchfs_unlink). */
ssize_t benchfs_read(int fd, void *buf, size_t count);
/* Writes count bytes at the fd's offset (with O_APPEND at the end, see
 * benchfs_open) and advances the offset.  The bytes are on their servers
 * when it returns: readers see them at once where they lie inside the size
 * the reader knows; the new size reaches other ranks at benchfs_close or
 * benchfs_fsync.  Returns count, or -1 and errno: EBADF (fd not open for
 * writing, or a directory's fd), EINVAL, EFAULT, ENOSPC, EIO/ETIMEDOUT.
 * A write that a full server stops part way returns the bytes stored before
 * the first failed chunk (a short count, as write(2) on a full disk); the
 * next write returns -1 and ENOSPC.  Chunks past the failed one may be
 * stored and then count in the size.  ESTALE: the file was removed or
 * replaced since this fd was opened (benchfs_unlink); nothing is stored. */
ssize_t benchfs_write(int fd, const void *buf, size_t count);
/* benchfs_read at offset; the fd's offset is neither used nor moved, so
 * threads may pread one fd at once.  A read past the end returns 0. */
ssize_t benchfs_pread(int fd, void *buf, size_t count, off_t offset);
/* benchfs_write at offset; the fd's offset is neither used nor moved, and
 * O_APPEND does not apply (Linux would append).  Threads may pwrite one fd
 * at once; writing past the end leaves a hole that reads as zeros. */
ssize_t benchfs_pwrite(int fd, const void *buf, size_t count, off_t offset);
/* Sets the fd's offset from SEEK_SET (0), SEEK_CUR (the offset) or
 * SEEK_END (the current size, asked of the metadata owner) and returns it.
 * Past the end is allowed.  EINVAL (another whence, SEEK_DATA and SEEK_HOLE
 * included, or a negative result), EOVERFLOW (the result overflows off_t),
 * EBADF. */
off_t   benchfs_lseek(int fd, off_t offset, int whence);
/* Makes every server holding chunks of the file fsync its backing file
 * (uring backend; the memory backend has nothing to sync), then publishes
 * this fd's written size as benchfs_close does, without closing.  Any fd,
 * also a read-only one.  EBADF, EIO/ETIMEDOUT; ENOENT when the file was
 * unlinked or renamed since it was opened (see benchfs_fstat). */
int     benchfs_fsync(int fd);
/* F_GETFL: the access mode and status flags fd was opened with (O_APPEND,
 * O_SYNC, ...).  F_SETFL, int flags: sets O_APPEND, O_NONBLOCK, O_ASYNC,
 * O_DIRECT and O_NOATIME as given (BenchFS acts on O_APPEND only) and
 * ignores the other bits, as Linux.  Other commands: EINVAL.  EBADF. */
int     benchfs_fcntl(int fd, int cmd, ...);
/* Attributes of path.  st_mode (type and permission bits), st_uid, st_gid
 * and st_size are the file's; st_nlink is 1 for a file and 2 for a
 * directory.  st_ino is BenchFS's file id, unique in the job: a file keeps
 * it across rename, O_TRUNC of a non-empty file gives it a new one, and so
 * does moving a directory.  st_blksize is the chunk size
 * (BENCHFS_CHUNK_SIZE, the unit of data one server holds), st_blocks the
 * size in 512-byte units (holes included), st_dev a constant.  st_atim is
 * the creation time (reads do not update it); st_mtim and st_ctim change
 * when a writer's close or fsync publishes, at truncate and at an O_TRUNC
 * open, st_ctim also at chmod; a directory's times do not change when
 * entries come and go.  st_size is what closes and fsyncs published (or a
 * truncate set).  ENOENT, ENOTDIR, ELOOP, EFAULT (st NULL). */
int     benchfs_stat(const char *path, struct stat *st);
/* benchfs_stat, except that a symbolic link as the last component is
 * described itself: S_IFLNK | 0777, st_size the length of its target,
 * st_blocks 0, st_nlink 1.  ENOENT, ENOTDIR, ELOOP, EFAULT. */
int     benchfs_lstat(const char *path, struct stat *st);
/* Creates the symbolic link linkpath holding target, stored as given and
 * resolved only when the link is followed: an absolute target is a path
 * in the BenchFS namespace (never outside it: "/etc" names BenchFS's
 * "/etc"), a relative one is read from the link's directory, ".."
 * lexically.  The link belongs to the caller's effective uid and gid.
 * EEXIST (linkpath exists, a dangling link included), ENOENT (a missing
 * parent, or an empty target), ENOTDIR, ENAMETOOLONG (target of PATH_MAX
 * bytes or more), EFAULT (target NULL). */
int     benchfs_symlink(const char *target, const char *linkpath);
/* Copies the target of the symbolic link path into buf, truncated to size
 * bytes, without a terminating NUL (as readlink(2)), and returns the bytes
 * copied.  EINVAL (path is not a link, or size 0), ENOENT, ENOTDIR, ELOOP,
 * EFAULT (buf NULL). */
ssize_t benchfs_readlink(const char *path, char *buf, size_t size);
/* benchfs_stat of the file open as fd, with the size raised to cover this
 * fd's own writes.  The file is looked up by the path it was opened with:
 * after it was unlinked or renamed the call fails with ENOENT, after it was
 * replaced it describes the new file.  EBADF, EFAULT. */
int     benchfs_fstat(int fd, struct stat *st);
/* Removes the file path and, before returning, its data on every server
 * holding some.  A descriptor of the file opened before (on any rank) is
 * stale from then on: its writes fail with ESTALE and store nothing, as
 * its reads do once the file had a writer (not POSIX, which keeps the file
 * until the last close).  A symbolic link is removed itself, not its
 * target.  EISDIR (a directory, or "/"), ENOENT, ENOTDIR. */
int     benchfs_unlink(const char *path);
/* Sets the size of file path to length, in place (the file keeps its id):
 * shrinking reclaims the data past length on every server holding some,
 * growing adds a hole that reads as zeros.  Updates st_mtim and st_ctim.
 * Not ordered against writes past the new end from other ranks at the same
 * time.  EINVAL (negative length), EISDIR (a directory), ENOENT, ENOTDIR. */
int     benchfs_truncate(const char *path, off_t length);
/* benchfs_truncate of the file open as fd (looked up by the path it was
 * opened with, as benchfs_fstat), also cutting this fd's own unpublished
 * writes.  EINVAL (negative length; as Linux, an fd not open for writing or
 * a directory's fd), EBADF. */
int     benchfs_ftruncate(int fd, off_t length);
/* Sets the permission bits (mode & 07777) of a file or directory and
 * updates its st_ctim.  The caller need not own it.  ENOENT, ENOTDIR. */
int     benchfs_chmod(const char *path, mode_t mode);
/* Sets the access and modification times, as utimensat(2): times NULL sets
 * both to now; a tv_nsec of UTIME_NOW sets that one to now, UTIME_OMIT
 * leaves it.  "Now" is the clock of path's metadata server.  st_ctim
 * becomes now.  The caller need not own path.  A later close of a
 * descriptor that wrote to the file sets st_mtim to its own close time.
 * EINVAL (tv_nsec out of range, or a time before 1970), ENOENT, ENOTDIR. */
int     benchfs_utimens(const char *path, const struct timespec times[2]);
/* The same for the file or directory open as fd (its path at open).
 * EBADF. */
int     benchfs_futimens(int fd, const struct timespec times[2]);
/* mode: F_OK (path exists), or any of R_OK, W_OK, X_OK, checked against the
 * permission bits: the owner's when the caller's effective uid owns path,
 * the group's when its effective gid or one of its supplementary groups is
 * path's group, else the others'.  Root passes R_OK and W_OK always, and
 * X_OK on a directory or on a file with any x bit.  0, or -1 and errno:
 * EACCES (not permitted), EINVAL (another bit in mode), ENOENT, ENOTDIR. */
int     benchfs_access(const char *path, int mode);
/* Moves a file, a symbolic link (itself, not its target) or an empty
 * directory; a target that is a link is replaced itself.  A file keeps its id, so its data
 * stays where it is.  An existing target file is replaced (its data
 * reclaimed); an existing empty target directory is replaced by a
 * directory.  The new name is inserted at its server, then the old one
 * removed at its server: a rename never happens half, but for an instant
 * another rank may see both names (never neither).  A file open for writing
 * while renamed loses its size report at close.  Renaming a path to itself
 * does nothing.  Errors: EXDEV (oldpath is a non-empty directory: not
 * supported, its entries live on the servers their paths hash to; tools
 * such as mv then copy and delete), EISDIR (a file onto a directory),
 * ENOTDIR (a directory onto a file, or a trailing "/" on a file), ENOTEMPTY
 * (onto a non-empty directory), EINVAL (a directory into itself), EBUSY
 * (either path is "/"), ENOENT (no oldpath, or no parent of newpath). */
int     benchfs_rename(const char *oldpath, const char *newpath);
/* Capacity and free space summed over all servers, in f_frsize (4096) units;
 * f_bsize is the chunk size, f_namemax NAME_MAX, f_files and f_ffree large
 * (entries are limited by memory only).  Each backing store counts once:
 * a file system (uring backend) once per host however many ranks of the
 * host keep their files on it, a server's BENCHFS_MEMORY_LIMIT once per
 * rank, and without a limit (memory backend) a host's RAM once, less what
 * the memory files of all its ranks hold.  path must exist.  Asks every server, so a lost
 * rank makes it fail (EIO/ETIMEDOUT).  ENOENT, ENOTDIR, EFAULT. */
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

/* There is no benchfs_link: hard links are not supported (a file's
 * metadata lives at its path's hash, so a file has one path).  Where a
 * program's link(2) reaches BenchFS, the answer is EPERM, as Linux gives
 * for a file system that has no hard links. */

/* --- Directories -------------------------------------------------------- */

/* Creates the directory path with the permission bits mode (masked with
 * the umask the process had at benchfs_init), owned by the caller's
 * effective uid and gid; a trailing "/" is allowed.  EEXIST (path exists:
 * a file, a directory, "/"), ENOENT (missing parent), ENOTDIR (a parent is
 * a file). */
int benchfs_mkdir(const char *path, mode_t mode);
/* Removes the empty directory path.  Every server checks that it holds no
 * entry under it and from then on refuses creates in it, so a create racing
 * the rmdir either comes first (ENOTEMPTY here) or fails with ENOENT; no
 * entry is ever left in a removed directory.  Needs every server to answer
 * (EIO/ETIMEDOUT otherwise).  ENOTEMPTY, ENOTDIR (a file), EBUSY ("/"),
 * ENOENT. */
int benchfs_rmdir(const char *path);

/* Directory listing: every entry exactly once with d_name and d_type ("."
 * and ".." included).  The returned dirent is valid until the next
 * benchfs_readdir or benchfs_closedir on the same stream.  End of the
 * listing returns NULL with errno unchanged. */
typedef struct benchfs_dir benchfs_dir;
/* Opens a listing of the directory path; NULL and errno ENOENT, ENOTDIR
 * (a file), or a path error (EFAULT, EINVAL, ENAMETOOLONG). */
benchfs_dir   *benchfs_opendir(const char *path);
/* The next entry: "." and ".." first, then the entries server by server
 * (no useful order; sort if you need one), fetched 64 KiB at a time, so a
 * listing is never held whole.  d_ino is the file id (as st_ino), d_type
 * DT_DIR, DT_REG or DT_LNK.  Every entry that exists for the whole listing appears
 * exactly once; entries created or removed meanwhile may or may not.  Set
 * errno to 0 first to tell the end (NULL, errno unchanged) from an error
 * (NULL and errno: EIO/ETIMEDOUT for a lost server, EBADF for a NULL
 * stream, ENODEV when not running).  One stream must not be read by two
 * threads at once; different streams may. */
struct dirent *benchfs_readdir(benchfs_dir *dir);
/* Releases the stream, also after benchfs_finalize (so none leaks); -1 and
 * EBADF for a NULL stream (ENODEV when not running). */
int            benchfs_closedir(benchfs_dir *dir);

/* --- Staging (collective over the ranks of benchfs_init's comm) --------- */

/* Copies the contents of src_dir, a directory outside BenchFS (a parallel
 * or local file system every rank can read), into the BenchFS directory
 * dst_path, which is made with its parents if missing.  All ranks copy at
 * once: the tree is listed level by level with each rank listing a share
 * of the directories, files are dealt to the ranks by size, and a file
 * larger than max(chunk size, 1 MiB) is cut into pieces of that size that
 * several ranks copy.  Directories, regular files (their bytes; holes are
 * written as zeros), permission bits and modification times are kept;
 * symbolic links and special files are skipped with a warning (and
 * counted); owners are not copied (files belong to the caller).  A file
 * whose size or mtime changes while it is copied is not copied (EBUSY).
 * Every problem is logged with its path and errno on the rank that met it,
 * and the copy goes on with everything else; a file that failed is removed
 * again, never left half written.  Rank 0 logs progress at info level and
 * a summary line (BENCHFS_LOG_LEVEL=info).  Every rank must pass the same
 * paths.  Calls MPI (as benchfs_init does), so the thread rules of
 * benchfs_init apply; other threads should not change either tree
 * meanwhile.  BENCHFS_STAGE_IN runs it inside benchfs_init.
 * 0 when everything was copied, or -1 on every rank with the errno of the
 * first problem (of the lowest rank that had one): ENOENT / ENOTDIR (src_dir
 * is missing or not a directory), EACCES (a file or directory that cannot
 * be read), ENOSPC, EBUSY (a file changed while copied), EINVAL (a relative
 * path), EFAULT (NULL), ENODEV (not running). */
int benchfs_stage_in(const char *src_dir, const char *dst_path);
/* The other way, as benchfs_stage_in: copies the contents of the BenchFS
 * directory src_path into dst_dir outside (made with its parents if
 * missing; existing files of the same names are replaced).  Each file is
 * written under a temporary name (".benchfs-stage-<n>" in its directory)
 * and renamed into place once complete, with its mode and mtime set: a
 * crash or a full disk never leaves a truncated file under a final name,
 * and a failed file's temporary is removed.  Nothing in BenchFS is changed
 * or removed.  BENCHFS_STAGE_OUT runs it inside benchfs_finalize.  Same
 * results; typical errnos of the outside are ENOSPC, EDQUOT, ENOENT (the
 * destination vanished), EACCES. */
int benchfs_stage_out(const char *src_path, const char *dst_dir);

/* --- Statistics --------------------------------------------------------- */

/* Prints this rank's counters since benchfs_init (requests sent by kind,
 * local vs remote, requests served, bytes written and read, p50/p99 latency
 * per kind) to out, at any time.  Not collective.  With BENCHFS_STATS=1,
 * benchfs_finalize prints every rank's and the aggregate on rank 0 to
 * stderr.  -1 and errno ENODEV before init, EFAULT for a NULL out. */
int benchfs_stats_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* BENCHFS_BENCHFS_H */
