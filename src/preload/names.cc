// The POSIX calls on names: directories, rename, unlink, permissions and
// times, the working directory, realpath, symbolic links; and the calls
// BenchFS does not support on its paths (hard links, owners, extended
// attributes).
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "benchfs/benchfs.h"
#include "common/path.h"
#include "preload/preload.h"
#include "preload/real.h"

namespace benchfs::preload {
namespace {

// Calls BenchFS does not offer: fail on its paths with err, after checking
// that the path exists (ENOENT first, as a kernel would).
template <typename Libc>
int unsupported(int dirfd, const char* path, int err, Libc libc) {
  return on_path(dirfd, path, libc, [err](const std::string& p) {
    struct stat st;
    if (benchfs_stat(p.c_str(), &st) != 0) return -1;
    return fail(err);
  });
}

// rename with both paths resolved: within BenchFS, within libc, or EXDEV.
template <typename Libc>
int rename_at(int olddir, const char* from, int newdir, const char* to, Libc libc) {
  Target a = resolve(olddir, from);
  Target b = resolve(newdir, to);
  if (a.kind == Target::kError) return fail(a.error);
  if (b.kind == Target::kError) return fail(b.error);
  bool a_ours = a.kind == Target::kBenchfs, b_ours = b.kind == Target::kBenchfs;
  if (a_ours != b_ours) return fail(EXDEV);
  if (a_ours) return call_benchfs([&] { return benchfs_rename(a.path.c_str(), b.path.c_str()); });
  return libc(a.kind == Target::kLibcPath ? a.path.c_str() : from,
              b.kind == Target::kLibcPath ? b.path.c_str() : to);
}

int utimens_benchfs(const std::string& p, const struct timespec* times) {
  return benchfs_utimens(p.c_str(), times);
}

// timeval[2] (utimes) as timespec[2]; NULL stays NULL.
const struct timespec* from_timevals(const struct timeval* tv, struct timespec* ts) {
  if (!tv) return nullptr;
  for (int i = 0; i < 2; ++i) {
    ts[i].tv_sec = tv[i].tv_sec;
    ts[i].tv_nsec = tv[i].tv_usec * 1000;
  }
  return ts;
}

}  // namespace
}  // namespace benchfs::preload

using namespace benchfs::preload;

// The replacements of libc's (and MPI's) functions: exported, unlike the
// rest of the library (-fvisibility=hidden).
#pragma GCC visibility push(default)

extern "C" int access(const char* path, int mode) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(access)(p, mode); },
      [&](const std::string& p) { return benchfs_access(p.c_str(), mode); });
}

extern "C" int faccessat(int dirfd, const char* path, int mode, int flags) noexcept {
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(faccessat)(dirfd, p, mode, flags); },
      [&](const std::string& p) { return benchfs_access(p.c_str(), mode); });
}

extern "C" int euidaccess(const char* path, int mode) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(euidaccess)(p, mode); },
      [&](const std::string& p) { return benchfs_access(p.c_str(), mode); });
}

extern "C" int eaccess(const char* path, int mode) noexcept { return euidaccess(path, mode); }

extern "C" int mkdir(const char* path, mode_t mode) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(mkdir)(p, mode); },
      [&](const std::string& p) { return benchfs_mkdir(p.c_str(), mode); });
}

extern "C" int mkdirat(int dirfd, const char* path, mode_t mode) noexcept {
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(mkdirat)(dirfd, p, mode); },
      [&](const std::string& p) { return benchfs_mkdir(p.c_str(), mode); });
}

extern "C" int rmdir(const char* path) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(rmdir)(p); },
      [&](const std::string& p) { return benchfs_rmdir(p.c_str()); });
}

extern "C" int unlink(const char* path) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(unlink)(p); },
      [&](const std::string& p) { return benchfs_unlink(p.c_str()); });
}

extern "C" int unlinkat(int dirfd, const char* path, int flags) noexcept {
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(unlinkat)(dirfd, p, flags); },
      [&](const std::string& p) {
        if (flags & ~AT_REMOVEDIR) return fail(EINVAL);
        return flags & AT_REMOVEDIR ? benchfs_rmdir(p.c_str()) : benchfs_unlink(p.c_str());
      });
}

extern "C" int remove(const char* path) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(remove)(p); },
      [&](const std::string& p) {
        if (benchfs_unlink(p.c_str()) == 0) return 0;
        return errno == EISDIR ? benchfs_rmdir(p.c_str()) : -1;
      });
}

extern "C" int rename(const char* from, const char* to) noexcept {
  return rename_at(AT_FDCWD, from, AT_FDCWD, to,
                   [](const char* a, const char* b) { return REAL(rename)(a, b); });
}

extern "C" int renameat(int olddir, const char* from, int newdir, const char* to) noexcept {
  return rename_at(olddir, from, newdir, to, [&](const char* a, const char* b) {
    return REAL(renameat)(olddir, a, newdir, b);
  });
}

extern "C" int renameat2(int olddir, const char* from, int newdir, const char* to,
                         unsigned flags) noexcept {
  Target a = resolve(olddir, from);
  if (a.kind == Target::kBenchfs && flags != 0) return fail(EINVAL);  // no RENAME_NOREPLACE etc.
  return rename_at(olddir, from, newdir, to, [&](const char* x, const char* y) {
    return REAL(renameat2)(olddir, x, newdir, y, flags);
  });
}

extern "C" int truncate(const char* path, off_t len) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(truncate)(p, len); },
      [&](const std::string& p) { return benchfs_truncate(p.c_str(), len); });
}

extern "C" int truncate64(const char* path, off64_t len) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(truncate64)(p, len); },
      [&](const std::string& p) { return benchfs_truncate(p.c_str(), static_cast<off_t>(len)); });
}

extern "C" int chmod(const char* path, mode_t mode) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(chmod)(p, mode); },
      [&](const std::string& p) { return benchfs_chmod(p.c_str(), mode); });
}

extern "C" int fchmodat(int dirfd, const char* path, mode_t mode, int flags) noexcept {
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(fchmodat)(dirfd, p, mode, flags); },
      [&](const std::string& p) { return benchfs_chmod(p.c_str(), mode); });
}

extern "C" int fchmod(int fd, mode_t mode) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(fchmod)(fd, mode);
  return call_benchfs([&] { return benchfs_chmod(d->path.c_str(), mode); });
}

extern "C" int utimensat(int dirfd, const char* path, const struct timespec times[2],
                         int flags) noexcept {
  if (!*path && (flags & AT_EMPTY_PATH) && fds().holds(dirfd)) return futimens(dirfd, times);
  return on_path(
      dirfd, path, [&](const char* p) { return REAL(utimensat)(dirfd, p, times, flags); },
      [&](const std::string& p) { return utimens_benchfs(p, times); });
}

extern "C" int futimens(int fd, const struct timespec times[2]) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(futimens)(fd, times);
  return call_benchfs([&] { return utimens_benchfs(d->path, times); });
}

extern "C" int utimes(const char* path, const struct timeval tv[2]) noexcept {
  struct timespec ts[2];
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(utimes)(p, tv); },
      [&](const std::string& p) { return utimens_benchfs(p, from_timevals(tv, ts)); });
}

extern "C" int lutimes(const char* path, const struct timeval tv[2]) noexcept {
  struct timespec ts[2];
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(lutimes)(p, tv); },
      [&](const std::string& p) { return utimens_benchfs(p, from_timevals(tv, ts)); });
}

extern "C" int futimes(int fd, const struct timeval tv[2]) noexcept {
  auto d = ours(fd);
  if (!d) return REAL(futimes)(fd, tv);
  struct timespec ts[2];
  return call_benchfs([&] { return utimens_benchfs(d->path, from_timevals(tv, ts)); });
}

extern "C" int utime(const char* path, const struct utimbuf* buf) noexcept {
  return on_path(
      AT_FDCWD, path, [&](const char* p) { return REAL(utime)(p, buf); },
      [&](const std::string& p) {
        if (!buf) return utimens_benchfs(p, nullptr);
        struct timespec ts[2] = {{buf->actime, 0}, {buf->modtime, 0}};
        return utimens_benchfs(p, ts);
      });
}

// --- The working directory ----------------------------------------------------

extern "C" int chdir(const char* path) noexcept {
  Target t = resolve(AT_FDCWD, path);
  switch (t.kind) {
    case Target::kError: return fail(t.error);
    case Target::kBenchfs: {
      struct stat st;
      if (call_benchfs([&] { return benchfs_stat(t.path.c_str(), &st); }) != 0) return -1;
      if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR);
      set_virtual_cwd(t.path);
      return 0;
    }
    case Target::kLibc:
    case Target::kLibcPath: break;
  }
  int r = REAL(chdir)(t.kind == Target::kLibcPath ? t.path.c_str() : path);
  if (r == 0) set_virtual_cwd("");
  return r;
}

extern "C" int fchdir(int fd) noexcept {
  auto d = ours(fd);
  if (!d) {
    int r = REAL(fchdir)(fd);
    if (r == 0) set_virtual_cwd("");
    return r;
  }
  struct stat st;
  if (call_benchfs([&] { return benchfs_stat(d->path.c_str(), &st); }) != 0) return -1;
  if (!S_ISDIR(st.st_mode)) return fail(ENOTDIR);
  set_virtual_cwd(d->path);
  return 0;
}

extern "C" char* getcwd(char* buf, size_t size) noexcept {
  std::string cwd = virtual_cwd();
  if (cwd.empty()) return REAL(getcwd)(buf, size);
  if (!buf) {
    // glibc's extension: allocate (size bytes, or as many as needed if 0).
    size_t n = size ? size : cwd.size() + 1;
    if (n < cwd.size() + 1) return errno = ERANGE, nullptr;
    buf = static_cast<char*>(std::malloc(n));
    if (!buf) return errno = ENOMEM, nullptr;
  } else if (size == 0) {
    return errno = EINVAL, nullptr;
  } else if (size < cwd.size() + 1) {
    return errno = ERANGE, nullptr;
  }
  std::memcpy(buf, cwd.c_str(), cwd.size() + 1);
  return buf;
}

extern "C" char* get_current_dir_name(void) noexcept {
  std::string cwd = virtual_cwd();
  if (cwd.empty()) return REAL(get_current_dir_name)();
  return strdup(cwd.c_str());
}

extern "C" char* realpath(const char* path, char* resolved) noexcept {
  Target t = resolve(AT_FDCWD, path);
  switch (t.kind) {
    case Target::kLibc: return REAL(realpath)(path, resolved);
    case Target::kLibcPath: return REAL(realpath)(t.path.c_str(), resolved);
    case Target::kError: return errno = t.error, nullptr;
    case Target::kBenchfs: break;
  }
  struct stat st;
  if (call_benchfs([&] { return benchfs_stat(t.path.c_str(), &st); }) != 0) return nullptr;
  if (t.path.size() >= PATH_MAX) return errno = ENAMETOOLONG, nullptr;
  if (!resolved) return strdup(t.path.c_str());
  std::memcpy(resolved, t.path.c_str(), t.path.size() + 1);
  return resolved;
}

extern "C" char* canonicalize_file_name(const char* path) noexcept { return realpath(path, nullptr); }

// --- Not supported on BenchFS paths ---------------------------------------------

extern "C" int link(const char* from, const char* to) noexcept {
  // EPERM: "the file system does not support hard links" (link(2)).
  Target a = resolve(AT_FDCWD, from), b = resolve(AT_FDCWD, to);
  if (a.kind == Target::kBenchfs || b.kind == Target::kBenchfs)
    return fail(a.kind == b.kind ? EPERM : EXDEV);
  return REAL(link)(a.kind == Target::kLibcPath ? a.path.c_str() : from,
                    b.kind == Target::kLibcPath ? b.path.c_str() : to);
}

extern "C" int linkat(int olddir, const char* from, int newdir, const char* to, int flags) noexcept {
  Target a = resolve(olddir, from), b = resolve(newdir, to);
  if (a.kind == Target::kBenchfs || b.kind == Target::kBenchfs)
    return fail(a.kind == b.kind ? EPERM : EXDEV);
  return REAL(linkat)(olddir, from, newdir, to, flags);
}

// A link's target as BenchFS stores it: an absolute target under the mount
// without the prefix (BenchFS reads absolute targets in its own namespace),
// anything else as given.
static std::string stored_target(const char* target) {
  std::string norm;
  if (target[0] == '/' && benchfs::normalize_path(target, &norm) == 0) {
    std::string inside;
    if (benchfs::under_mount(norm, mount(), &inside)) return inside;
  }
  return target;
}

// readlink's answer from what BenchFS stored: an absolute target under the
// mount again.
static ssize_t read_link(const std::string& path, char* buf, size_t size) {
  char target[PATH_MAX];
  ssize_t n = benchfs_readlink(path.c_str(), target, sizeof target - 1);
  if (n < 0) return -1;
  std::string t(target, static_cast<size_t>(n));
  if (!t.empty() && t[0] == '/') t = t == "/" ? mount() : mount() + t;
  if (!buf) return fail(EFAULT);
  if (size == 0) return fail(EINVAL);
  size_t copied = std::min(size, t.size());
  std::memcpy(buf, t.data(), copied);
  return static_cast<ssize_t>(copied);
}

extern "C" int symlink(const char* target, const char* linkpath) noexcept {
  return on_path(
      AT_FDCWD, linkpath, [&](const char* p) { return REAL(symlink)(target, p); },
      [&](const std::string& p) {
        if (!target) return fail(EFAULT);
        return benchfs_symlink(stored_target(target).c_str(), p.c_str());
      });
}

extern "C" int symlinkat(const char* target, int dirfd, const char* linkpath) noexcept {
  return on_path(
      dirfd, linkpath, [&](const char* p) { return REAL(symlinkat)(target, dirfd, p); },
      [&](const std::string& p) {
        if (!target) return fail(EFAULT);
        return benchfs_symlink(stored_target(target).c_str(), p.c_str());
      });
}

extern "C" ssize_t readlink(const char* path, char* buf, size_t size) noexcept {
  Target t = resolve(AT_FDCWD, path);
  switch (t.kind) {
    case Target::kLibc: return REAL(readlink)(path, buf, size);
    case Target::kLibcPath: return REAL(readlink)(t.path.c_str(), buf, size);
    case Target::kError: return fail(t.error);
    case Target::kBenchfs: break;
  }
  return call_benchfs([&] { return read_link(t.path, buf, size); });
}

extern "C" ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) noexcept {
  Target t = resolve(dirfd, path);
  switch (t.kind) {
    case Target::kLibc: return REAL(readlinkat)(dirfd, path, buf, size);
    case Target::kLibcPath: return REAL(readlink)(t.path.c_str(), buf, size);
    case Target::kError: return fail(t.error);
    case Target::kBenchfs: break;
  }
  return call_benchfs([&] { return read_link(t.path, buf, size); });
}

extern "C" int chown(const char* path, uid_t uid, gid_t gid) noexcept {
  return unsupported(AT_FDCWD, path, EPERM, [&](const char* p) { return REAL(chown)(p, uid, gid); });
}
extern "C" int lchown(const char* path, uid_t uid, gid_t gid) noexcept {
  return unsupported(AT_FDCWD, path, EPERM, [&](const char* p) { return REAL(lchown)(p, uid, gid); });
}
extern "C" int fchownat(int dirfd, const char* path, uid_t uid, gid_t gid, int flags) noexcept {
  return unsupported(dirfd, path, EPERM,
                     [&](const char* p) { return REAL(fchownat)(dirfd, p, uid, gid, flags); });
}
extern "C" int fchown(int fd, uid_t uid, gid_t gid) noexcept {
  if (fds().holds(fd)) return fail(EPERM);
  return REAL(fchown)(fd, uid, gid);
}

extern "C" ssize_t getxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP, [&](const char* p) {
    return static_cast<int>(REAL(getxattr)(p, name, value, size));
  });
}
extern "C" ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP, [&](const char* p) {
    return static_cast<int>(REAL(lgetxattr)(p, name, value, size));
  });
}
extern "C" int setxattr(const char* path, const char* name, const void* value, size_t size,
                        int flags) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP,
                     [&](const char* p) { return REAL(setxattr)(p, name, value, size, flags); });
}
extern "C" int lsetxattr(const char* path, const char* name, const void* value, size_t size,
                         int flags) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP,
                     [&](const char* p) { return REAL(lsetxattr)(p, name, value, size, flags); });
}
extern "C" ssize_t listxattr(const char* path, char* list, size_t size) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP, [&](const char* p) {
    return static_cast<int>(REAL(listxattr)(p, list, size));
  });
}
extern "C" ssize_t llistxattr(const char* path, char* list, size_t size) noexcept {
  return unsupported(AT_FDCWD, path, ENOTSUP, [&](const char* p) {
    return static_cast<int>(REAL(llistxattr)(p, list, size));
  });
}
extern "C" ssize_t fgetxattr(int fd, const char* name, void* value, size_t size) noexcept {
  if (fds().holds(fd)) return fail(ENOTSUP);
  return REAL(fgetxattr)(fd, name, value, size);
}
extern "C" int fsetxattr(int fd, const char* name, const void* value, size_t size, int flags) noexcept {
  if (fds().holds(fd)) return fail(ENOTSUP);
  return REAL(fsetxattr)(fd, name, value, size, flags);
}
extern "C" ssize_t flistxattr(int fd, char* list, size_t size) noexcept {
  if (fds().holds(fd)) return fail(ENOTSUP);
  return REAL(flistxattr)(fd, list, size);
}

#pragma GCC visibility pop
