// The POSIX calls on files and descriptors.  Each first asks whether its
// path or descriptor is BenchFS's (paths.h, fd_table.h); if not, libc's
// function runs with the arguments untouched.
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstring>

#include "benchfs/benchfs.h"
#include "preload/preload.h"
#include "preload/real.h"

namespace benchfs::preload {

int open_benchfs(const std::string& path, int flags, mode_t mode) {
  if ((flags & O_TMPFILE) == O_TMPFILE) return fail(EOPNOTSUPP);
  int bflags = flags;
  // O_PATH asks for a descriptor to name the file by, not to read it: a
  // read-only open serves every call O_PATH allows.
  if (flags & O_PATH) bflags = O_RDONLY | (flags & (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  bflags &= ~(O_ASYNC | O_PATH);
  int bfd = call_benchfs([&] { return benchfs_open(path.c_str(), bflags, mode); });
  if (bfd < 0) return -1;
  auto d = std::make_shared<Description>();
  d->bfd = bfd;
  d->path = path;
  int fd = fds().install(d, flags & O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    benchfs_close(bfd);
    return fail(err);
  }
  return fd;
}

int close_benchfs(int fd) {
  flush_std_stream(fd);
  bool last = false;
  std::shared_ptr<Description> d;
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    d = fds().detach(fd, &last);
    if (!d) return REAL(close)(fd);
    REAL(close)(fd);
  }
  if (fd <= 2) std_stream_changed(fd);
  if (!last || d->bfd < 0 || forked_child()) return 0;
  return benchfs_close(d->bfd);
}

namespace {

mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? static_cast<mode_t>(va_arg(ap, int))
                                                                : 0;
}

int open_at(int dirfd, const char* path, int flags, mode_t mode, bool at) {
  Target t = resolve(dirfd, path);
  switch (t.kind) {
    case Target::kLibc:
      return at ? REAL(openat)(dirfd, path, flags, mode) : REAL(open)(path, flags, mode);
    case Target::kLibcPath: return REAL(open)(t.path.c_str(), flags, mode);
    case Target::kError: return fail(t.error);
    case Target::kBenchfs: break;
  }
  return open_benchfs(t.path, flags, mode);
}

// An fd call on a BenchFS descriptor that is a directory from opendir
// (no BenchFS file behind it): what a read or write of a directory gives.
int bfd_of(const Description& d, int dir_errno) {
  if (d.bfd < 0) {
    errno = dir_errno;
    return -1;
  }
  return d.bfd;
}

template <typename Fn>
ssize_t vector_io(const struct iovec* iov, int n, Fn one) {
  if (n < 0 || n > IOV_MAX) return fail(EINVAL);
  ssize_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (iov[i].iov_len == 0) continue;
    ssize_t r = one(iov[i].iov_base, iov[i].iov_len, total);
    if (r < 0) return total > 0 ? total : -1;
    total += r;
    if (static_cast<size_t>(r) < iov[i].iov_len) break;
  }
  return total;
}

int stat_benchfs(const Description& d, struct stat* st) {
  if (d.bfd < 0) return benchfs_stat(d.path.c_str(), st);
  return benchfs_fstat(d.bfd, st);
}

// statvfs for a BenchFS path, as statfs fields.
int statfs_benchfs(const std::string& path, struct statfs* out) {
  struct statvfs v;
  if (benchfs_statvfs(path.c_str(), &v) != 0) return -1;
  std::memset(out, 0, sizeof *out);
  out->f_type = 0x42464653;  // "BFFS": no kernel file system has it
  out->f_bsize = static_cast<long>(v.f_frsize);
  out->f_frsize = static_cast<long>(v.f_frsize);
  out->f_blocks = v.f_blocks;
  out->f_bfree = v.f_bfree;
  out->f_bavail = v.f_bavail;
  out->f_files = v.f_files;
  out->f_ffree = v.f_ffree;
  out->f_namelen = static_cast<long>(v.f_namemax);
  std::memcpy(&out->f_fsid, &v.f_fsid, std::min(sizeof out->f_fsid, sizeof v.f_fsid));
  return 0;
}

void fill_statx(const struct stat& st, struct statx* x) {
  std::memset(x, 0, sizeof *x);
  x->stx_mask = STATX_BASIC_STATS;
  x->stx_blksize = static_cast<uint32_t>(st.st_blksize);
  x->stx_nlink = static_cast<uint32_t>(st.st_nlink);
  x->stx_uid = st.st_uid;
  x->stx_gid = st.st_gid;
  x->stx_mode = static_cast<uint16_t>(st.st_mode);
  x->stx_ino = st.st_ino;
  x->stx_size = static_cast<uint64_t>(st.st_size);
  x->stx_blocks = static_cast<uint64_t>(st.st_blocks);
  auto ts = [](const struct timespec& t) {
    struct statx_timestamp s = {};
    s.tv_sec = t.tv_sec;
    s.tv_nsec = static_cast<uint32_t>(t.tv_nsec);
    return s;
  };
  x->stx_atime = ts(st.st_atim);
  x->stx_mtime = ts(st.st_mtim);
  x->stx_ctime = ts(st.st_ctim);
  x->stx_dev_major = major(st.st_dev);
  x->stx_dev_minor = minor(st.st_dev);
}

// dup and F_DUPFD(_CLOEXEC): a new number for the same description.
int dup_benchfs(int fd, int cmd, long lowest) {
  std::lock_guard<std::mutex> lock(fds().mutex());
  auto desc = fds().find(fd);
  if (!desc) return fail(EBADF);
  int nfd = REAL(fcntl)(fd, cmd, lowest);
  if (nfd < 0) return -1;
  if (nfd >= kMaxFds) {
    REAL(close)(nfd);
    return fail(EMFILE);
  }
  fds().attach(nfd, desc);
  return nfd;
}

// The status flags F_GETFL shows, and O_APPEND through F_SETFL.
int fcntl_benchfs(int fd, const Description& d, int cmd, long arg) {
  switch (cmd) {
    case F_GETFL:
      if (d.bfd < 0) return O_RDONLY | O_DIRECTORY;
      return call_benchfs([&] { return benchfs_fcntl(d.bfd, F_GETFL); });
    case F_SETFL:
      if (d.bfd < 0) return 0;
      return call_benchfs([&] { return benchfs_fcntl(d.bfd, F_SETFL, static_cast<int>(arg)); });
    case F_GETFD:
    case F_SETFD: return REAL(fcntl)(fd, cmd, arg);  // the placeholder holds FD_CLOEXEC
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: return dup_benchfs(fd, cmd, arg);
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: return fail(ENOLCK);  // BenchFS has no locks (docs/reliability.md)
    default: return fail(EINVAL);
  }
}

// dup2/dup3 onto newfd: the kernel replaces newfd; the table follows.
int dup_onto(int oldfd, int newfd, int flags, bool is_dup3) {
  bool old_ours = fds().holds(oldfd);
  if (!old_ours && !fds().holds(newfd))
    return is_dup3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
  std::shared_ptr<Description> replaced;
  bool last = false;
  int r;
  if (oldfd != newfd) flush_std_stream(newfd);
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    auto desc = old_ours ? fds().find(oldfd) : nullptr;
    if (old_ours && !desc) return fail(EBADF);
    if (oldfd == newfd) return is_dup3 ? fail(EINVAL) : newfd;
    r = is_dup3 ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
    if (r < 0) return -1;
    replaced = fds().detach(newfd, &last);
    if (desc) fds().attach(newfd, desc);
  }
  if (newfd <= 2) std_stream_changed(newfd);
  if (replaced && last && replaced->bfd >= 0 && !forked_child()) benchfs_close(replaced->bfd);
  return r;
}

}  // namespace
}  // namespace benchfs::preload

using namespace benchfs::preload;

// The replacements of libc's (and MPI's) functions: exported, unlike the
// rest of the library (-fvisibility=hidden).
#pragma GCC visibility push(default)

// --- open, close, dup -------------------------------------------------------

extern "C" int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_at(AT_FDCWD, path, flags, mode, false);
}

extern "C" int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_at(AT_FDCWD, path, flags | O_LARGEFILE, mode, false);
}

extern "C" int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_at(dirfd, path, flags, mode, true);
}

extern "C" int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_arg(flags, ap);
  va_end(ap);
  return open_at(dirfd, path, flags | O_LARGEFILE, mode, true);
}

// What _FORTIFY_SOURCE builds call for open without a mode.
extern "C" int __open_2(const char* path, int flags) { return open_at(AT_FDCWD, path, flags, 0, false); }
extern "C" int __open64_2(const char* path, int flags) {
  return open_at(AT_FDCWD, path, flags | O_LARGEFILE, 0, false);
}
extern "C" int __openat_2(int dirfd, const char* path, int flags) {
  return open_at(dirfd, path, flags, 0, true);
}
extern "C" int __openat64_2(int dirfd, const char* path, int flags) {
  return open_at(dirfd, path, flags | O_LARGEFILE, 0, true);
}

extern "C" int creat(const char* path, mode_t mode) {
  return open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, false);
}
extern "C" int creat64(const char* path, mode_t mode) {
  return open_at(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode, false);
}

extern "C" int close(int fd) {
  if (!fds().holds(fd)) return REAL(close)(fd);
  return close_benchfs(fd);
}

extern "C" int dup(int fd) noexcept {
  if (!fds().holds(fd)) return REAL(dup)(fd);
  return dup_benchfs(fd, F_DUPFD, 0);
}

extern "C" int dup2(int oldfd, int newfd) noexcept { return dup_onto(oldfd, newfd, 0, false); }
extern "C" int dup3(int oldfd, int newfd, int flags) noexcept { return dup_onto(oldfd, newfd, flags, true); }

// fcntl and fcntl64 (the same on 64-bit Linux).
static int fcntl_call(int fd, int cmd, va_list ap, int (*libc)(int, int, ...)) {
  long arg = va_arg(ap, long);  // every command's argument fits (int, long or a pointer)
  auto d = ours(fd);
  if (!d) return libc(fd, cmd, arg);
  return fcntl_benchfs(fd, *d, cmd, arg);
}

extern "C" int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  int r = fcntl_call(fd, cmd, ap, REAL(fcntl));
  va_end(ap);
  return r;
}

extern "C" int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  int r = fcntl_call(fd, cmd, ap, REAL(fcntl64));
  va_end(ap);
  return r;
}

// --- read and write ---------------------------------------------------------

extern "C" ssize_t read(int fd, void* buf, size_t n) {
  auto d = ours(fd);
  if (!d) return REAL(read)(fd, buf, n);
  int bfd = bfd_of(*d, EISDIR);
  if (bfd < 0) return -1;
  return call_benchfs([&] { return benchfs_read(bfd, buf, n); });
}

extern "C" ssize_t write(int fd, const void* buf, size_t n) {
  auto d = ours(fd);
  if (!d) return REAL(write)(fd, buf, n);
  int bfd = bfd_of(*d, EBADF);
  if (bfd < 0) return -1;
  return call_benchfs([&] { return benchfs_write(bfd, buf, n); });
}

extern "C" ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  auto d = ours(fd);
  if (!d) return REAL(pread)(fd, buf, n, off);
  int bfd = bfd_of(*d, EISDIR);
  if (bfd < 0) return -1;
  return call_benchfs([&] { return benchfs_pread(bfd, buf, n, off); });
}

extern "C" ssize_t pread64(int fd, void* buf, size_t n, off64_t off) {
  if (!fds().holds(fd)) return REAL(pread64)(fd, buf, n, off);
  return pread(fd, buf, n, static_cast<off_t>(off));
}

extern "C" ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  auto d = ours(fd);
  if (!d) return REAL(pwrite)(fd, buf, n, off);
  int bfd = bfd_of(*d, EBADF);
  if (bfd < 0) return -1;
  return call_benchfs([&] { return benchfs_pwrite(bfd, buf, n, off); });
}

extern "C" ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t off) {
  if (!fds().holds(fd)) return REAL(pwrite64)(fd, buf, n, off);
  return pwrite(fd, buf, n, static_cast<off_t>(off));
}

extern "C" ssize_t readv(int fd, const struct iovec* iov, int n) {
  if (!fds().holds(fd)) return REAL(readv)(fd, iov, n);
  return vector_io(iov, n, [fd](void* b, size_t len, ssize_t) { return read(fd, b, len); });
}

extern "C" ssize_t writev(int fd, const struct iovec* iov, int n) {
  if (!fds().holds(fd)) return REAL(writev)(fd, iov, n);
  return vector_io(iov, n, [fd](void* b, size_t len, ssize_t) { return write(fd, b, len); });
}

extern "C" ssize_t preadv(int fd, const struct iovec* iov, int n, off_t off) {
  if (!fds().holds(fd)) return REAL(preadv)(fd, iov, n, off);
  return vector_io(iov, n, [fd, off](void* b, size_t len, ssize_t done) {
    return pread(fd, b, len, off + done);
  });
}

extern "C" ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t off) {
  if (!fds().holds(fd)) return REAL(pwritev)(fd, iov, n, off);
  return vector_io(iov, n, [fd, off](void* b, size_t len, ssize_t done) {
    return pwrite(fd, b, len, off + done);
  });
}

extern "C" ssize_t preadv64(int fd, const struct iovec* iov, int n, off64_t off) {
  if (!fds().holds(fd)) return REAL(preadv64)(fd, iov, n, off);
  return preadv(fd, iov, n, static_cast<off_t>(off));
}

extern "C" ssize_t pwritev64(int fd, const struct iovec* iov, int n, off64_t off) {
  if (!fds().holds(fd)) return REAL(pwritev64)(fd, iov, n, off);
  return pwritev(fd, iov, n, static_cast<off_t>(off));
}

// What _FORTIFY_SOURCE builds call where the buffer's size is known.
extern "C" ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) abort();
  return read(fd, buf, n);
}
extern "C" ssize_t __pread_chk(int fd, void* buf, size_t n, off_t off, size_t buflen) {
  if (n > buflen) abort();
  return pread(fd, buf, n, off);
}
extern "C" ssize_t __pread64_chk(int fd, void* buf, size_t n, off64_t off, size_t buflen) {
  if (n > buflen) abort();
  return pread64(fd, buf, n, off);
}

extern "C" off_t lseek(int fd, off_t off, int whence) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(lseek)(fd, off, whence);
  if (d->bfd < 0) return whence == SEEK_SET && off == 0 ? 0 : fail(EINVAL);
  return call_benchfs([&] { return benchfs_lseek(d->bfd, off, whence); });
}

extern "C" off64_t lseek64(int fd, off64_t off, int whence) noexcept {
  if (!fds().holds(fd)) return REAL(lseek64)(fd, off, whence);
  return lseek(fd, static_cast<off_t>(off), whence);
}

extern "C" int fsync(int fd) {
  auto d = ours(fd);
  if (!d) return REAL(fsync)(fd);
  // A directory's entries are on their servers when each call returns.
  if (d->bfd < 0) return 0;
  return call_benchfs([&] { return benchfs_fsync(d->bfd); });
}

extern "C" int fdatasync(int fd) {
  if (!fds().holds(fd)) return REAL(fdatasync)(fd);
  return fsync(fd);
}

extern "C" int ftruncate(int fd, off_t len) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(ftruncate)(fd, len);
  int bfd = bfd_of(*d, EINVAL);
  if (bfd < 0) return -1;
  return call_benchfs([&] { return benchfs_ftruncate(bfd, len); });
}

extern "C" int ftruncate64(int fd, off64_t len) noexcept {
  if (!fds().holds(fd)) return REAL(ftruncate64)(fd, len);
  return ftruncate(fd, static_cast<off_t>(len));
}

// --- What BenchFS descriptors do not support ----------------------------------

extern "C" void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  if (!(flags & MAP_ANONYMOUS) && fds().holds(fd)) {
    errno = ENODEV;  // "the file system does not support memory mapping"
    return MAP_FAILED;
  }
  return REAL(mmap)(addr, len, prot, flags, fd, off);
}

extern "C" void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off64_t off) noexcept {
  if (!(flags & MAP_ANONYMOUS) && fds().holds(fd)) {
    errno = ENODEV;
    return MAP_FAILED;
  }
  return REAL(mmap64)(addr, len, prot, flags, fd, off);
}

extern "C" int flock(int fd, int op) noexcept {
  if (fds().holds(fd)) return fail(ENOLCK);
  return REAL(flock)(fd, op);
}

extern "C" int lockf(int fd, int cmd, off_t len) {
  if (fds().holds(fd)) return fail(ENOLCK);
  return REAL(lockf)(fd, cmd, len);
}

extern "C" int ioctl(int fd, unsigned long req, ...) noexcept {
  va_list ap;
  va_start(ap, req);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  if (fds().holds(fd)) return fail(ENOTTY);  // no request applies to a BenchFS file
  return REAL(ioctl)(fd, req, arg);
}

extern "C" ssize_t sendfile(int out, int in, off_t* off, size_t n) noexcept {
  if (fds().holds(out) || fds().holds(in)) return fail(EINVAL);  // as for a file without mmap
  return REAL(sendfile)(out, in, off, n);
}

extern "C" ssize_t copy_file_range(int in, off64_t* in_off, int out, off64_t* out_off, size_t n,
                                   unsigned flags) {
  // EXDEV: callers (cp, ...) fall back to read and write.
  if (fds().holds(in) || fds().holds(out)) return fail(EXDEV);
  return REAL(copy_file_range)(in, in_off, out, out_off, n, flags);
}

extern "C" int fallocate(int fd, int mode, off_t off, off_t len) {
  if (fds().holds(fd)) return fail(EOPNOTSUPP);
  return REAL(fallocate)(fd, mode, off, len);
}

extern "C" int posix_fallocate(int fd, off_t off, off_t len) {
  // glibc's own fallback would write zeros to the placeholder.
  if (fds().holds(fd)) return EOPNOTSUPP;
  return REAL(posix_fallocate)(fd, off, len);
}

extern "C" int posix_fadvise(int fd, off_t off, off_t len, int advice) noexcept {
  if (fds().holds(fd)) return 0;  // advice: BenchFS has no page cache to act on
  return REAL(posix_fadvise)(fd, off, len, advice);
}

// --- stat -------------------------------------------------------------------

extern "C" int stat(const char* path, struct stat* st) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(stat)(p, st); },
      [&](const std::string& p) { return benchfs_stat(p.c_str(), st); });
}

extern "C" int lstat(const char* path, struct stat* st) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(lstat)(p, st); },
      [&](const std::string& p) { return benchfs_lstat(p.c_str(), st); });
}

extern "C" int fstat(int fd, struct stat* st) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(fstat)(fd, st);
  return call_benchfs([&] { return stat_benchfs(*d, st); });
}

extern "C" int fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept {
  if (!*path && (flags & AT_EMPTY_PATH) && fds().holds(dirfd)) return fstat(dirfd, st);
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(fstatat)(dirfd, p, st, flags); },
      [&](const std::string& p) {
        return flags & AT_SYMLINK_NOFOLLOW ? benchfs_lstat(p.c_str(), st) : benchfs_stat(p.c_str(), st);
      });
}

// On 64-bit Linux struct stat64 is struct stat.
static_assert(sizeof(struct stat64) == sizeof(struct stat));
extern "C" int stat64(const char* path, struct stat64* st) noexcept {
  return stat(path, reinterpret_cast<struct stat*>(st));
}
extern "C" int lstat64(const char* path, struct stat64* st) noexcept {
  return lstat(path, reinterpret_cast<struct stat*>(st));
}
extern "C" int fstat64(int fd, struct stat64* st) noexcept {
  return fstat(fd, reinterpret_cast<struct stat*>(st));
}
extern "C" int fstatat64(int dirfd, const char* path, struct stat64* st, int flags) noexcept {
  return fstatat(dirfd, path, reinterpret_cast<struct stat*>(st), flags);
}

extern "C" int statx(int dirfd, const char* path, int flags, unsigned mask,
                     struct statx* x) noexcept {
  struct stat st;
  if (!*path && (flags & AT_EMPTY_PATH) && fds().holds(dirfd)) {
    if (fstat(dirfd, &st) != 0) return -1;
    fill_statx(st, x);
    return 0;
  }
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(statx)(dirfd, p, flags, mask, x); },
      [&](const std::string& p) {
        int r = flags & AT_SYMLINK_NOFOLLOW ? benchfs_lstat(p.c_str(), &st) : benchfs_stat(p.c_str(), &st);
        if (r != 0) return -1;
        fill_statx(st, x);
        return 0;
      });
}

extern "C" int statfs(const char* path, struct statfs* buf) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(statfs)(p, buf); },
      [&](const std::string& p) { return statfs_benchfs(p, buf); });
}
extern "C" int statfs64(const char* path, struct statfs64* buf) noexcept {
  static_assert(sizeof(struct statfs64) == sizeof(struct statfs));
  return statfs(path, reinterpret_cast<struct statfs*>(buf));
}
extern "C" int fstatfs(int fd, struct statfs* buf) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(fstatfs)(fd, buf);
  return call_benchfs([&] { return statfs_benchfs(d->path, buf); });
}
extern "C" int fstatfs64(int fd, struct statfs64* buf) noexcept {
  return fstatfs(fd, reinterpret_cast<struct statfs*>(buf));
}
extern "C" int statvfs(const char* path, struct statvfs* buf) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(statvfs)(p, buf); },
      [&](const std::string& p) { return benchfs_statvfs(p.c_str(), buf); });
}
extern "C" int statvfs64(const char* path, struct statvfs64* buf) noexcept {
  static_assert(sizeof(struct statvfs64) == sizeof(struct statvfs));
  return statvfs(path, reinterpret_cast<struct statvfs*>(buf));
}
extern "C" int fstatvfs(int fd, struct statvfs* buf) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(fstatvfs)(fd, buf);
  return call_benchfs([&] { return benchfs_statvfs(d->path.c_str(), buf); });
}
extern "C" int fstatvfs64(int fd, struct statvfs64* buf) noexcept {
  return fstatvfs(fd, reinterpret_cast<struct statvfs*>(buf));
}

#pragma GCC visibility pop
