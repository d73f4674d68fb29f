// The C entry points for files and directories: argument checks, the fd
// table, errno.  The work happens in the Client.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include "api/instance.h"
#include "api/public_api.h"
#include "common/path.h"
#include "common/placement.h"

namespace benchfs {
namespace {

// Flags we accept and ignore: they change nothing for BenchFS.
constexpr int kIgnoredFlags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_LARGEFILE | O_DIRECT |
                              O_NOATIME;
constexpr int kSupportedFlags = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY |
                                O_SYNC | O_DSYNC | O_NOFOLLOW | kIgnoredFlags;

// Sets errno from err and returns -1, or returns value when err is 0.
template <typename T>
T result(int err, T value) {
  if (err) {
    errno = err;
    return static_cast<T>(-1);
  }
  return value;
}

std::shared_ptr<OpenFile> lookup(Instance& inst, int fd) {
  // fd < kFirstFd first: fd - kFirstFd must not overflow for INT_MIN.
  if (fd < kFirstFd) return nullptr;
  std::lock_guard<std::mutex> lock(inst.fd_mutex);
  size_t slot = static_cast<size_t>(fd - kFirstFd);
  if (slot >= inst.fds.size()) return nullptr;
  return inst.fds[slot];
}

int install(Instance& inst, std::shared_ptr<OpenFile> f) {
  std::lock_guard<std::mutex> lock(inst.fd_mutex);
  for (size_t i = 0; i < inst.fds.size(); ++i) {
    if (!inst.fds[i]) {
      inst.fds[i] = std::move(f);
      return static_cast<int>(i) + kFirstFd;
    }
  }
  inst.fds.push_back(std::move(f));
  return static_cast<int>(inst.fds.size()) - 1 + kFirstFd;
}

bool readable(const OpenFile& f) { return (f.flags & O_ACCMODE) != O_WRONLY; }
bool writable(const OpenFile& f) { return (f.flags & O_ACCMODE) != O_RDONLY; }

// The checks of every read and write, in the order Linux makes them: the fd
// and its access mode (EBADF), a directory (EISDIR) ...
int check_fd(Instance& inst, int fd, bool write, std::shared_ptr<OpenFile>* file) {
  auto f = lookup(inst, fd);
  if (!f || !(write ? writable(*f) : readable(*f))) return EBADF;
  if (f->is_dir) return EISDIR;
  *file = std::move(f);
  return 0;
}

// ... then the count and the range [offset, offset + count) as an off_t
// (EINVAL, also when the end overflows), then the buffer (EFAULT).
int check_range(const void* buf, size_t count, long long offset) {
  long long end;
  if (count > SSIZE_MAX || offset < 0 ||
      __builtin_add_overflow(offset, static_cast<long long>(count), &end))
    return EINVAL;
  if (!buf && count > 0) return EFAULT;
  return 0;
}

int do_pwrite(Instance& inst, OpenFile& f, const void* buf, size_t count, uint64_t offset,
              size_t* done) {
  int err = inst.client->pwrite(f, buf, count, offset, done);
  // A short write succeeds with its count, as write(2); the error shows on
  // the next call.
  if (err && *done == 0) return err;
  if (f.flags & (O_SYNC | O_DSYNC)) return inst.client->fsync(f);
  return 0;
}

// Checks and normalises a path argument: the one place for NULL (EFAULT),
// relative or empty (EINVAL) and over-long (ENAMETOOLONG) paths, and for the
// mount prefix ("/benchfs/a" is "/a").
// *dir_only: the path ended in "/" (or "/.", "/..") and so names a directory.
int parse_path(const Instance& inst, const char* path, std::string* out, bool* dir_only) {
  if (!path) return EFAULT;
  if (int err = normalize_path(path, out, dir_only)) return err;
  std::string inside;
  if (under_mount(*out, inst.config.mount, &inside)) *out = std::move(inside);
  return 0;
}

// A path ending in "/" names a directory: an existing non-directory there is
// ENOTDIR (a missing one is left to the operation).  Costs a stat only for
// such paths.
int check_dir_only(Instance& inst, const std::string& p) {
  Attr a;
  int err = inst.client->stat(p, &a);
  if (err == 0 && !a.is_dir()) return ENOTDIR;
  return err == ENOENT ? 0 : err;
}

// How an entry point treats a trailing slash (see check_dir_only).
enum class Slash {
  kNamesDir,     // the path must be a directory if it exists
  kEntryPoint,   // the entry point handles it itself (mkdir, open with O_CREAT)
};

// Runs fn(normalised path, dir_only) for a path argument: parse_path and
// the trailing-slash rule.  Every entry point taking one path goes through
// here.  The Client resolves symbolic links, and refines ENOENT to ENOTDIR
// when the path leads through a file.
template <typename Fn>
int path_op(Instance& inst, const char* path, Slash slash, Fn fn) {
  std::string p;
  bool dir_only = false;
  if (int e = parse_path(inst, path, &p, &dir_only)) return e;
  if (dir_only && slash == Slash::kNamesDir)
    if (int e = check_dir_only(inst, p)) return e;
  return fn(p, dir_only);
}

// The same under the instance: ENODEV when BenchFS is not running.
template <typename Fn>
int with_path(const char* path, Slash slash, Fn fn) {
  return with_instance(
      [&](Instance& inst) { return path_op(inst, path, slash, [&](const std::string& p, bool d) {
                              return fn(inst, p, d);
                            }); });
}

}  // namespace
}  // namespace benchfs

using namespace benchfs;

extern "C" int benchfs_open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (flags & O_CREAT) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  int fd = -1;
  // With O_CREAT a trailing slash is EISDIR whatever is there (as Linux).
  Slash slash = (flags & O_CREAT) ? Slash::kEntryPoint : Slash::kNamesDir;
  int err = with_path(path, slash, [&](Instance& inst, const std::string& p, bool dir_only) {
    if ((flags & ~kSupportedFlags) || (flags & O_ACCMODE) == O_ACCMODE) return EINVAL;
    // O_CREAT | O_DIRECTORY: what should it create?  EINVAL, as Linux 6.4+.
    if ((flags & O_CREAT) && (flags & O_DIRECTORY)) return EINVAL;
    if ((flags & O_CREAT) && dir_only) return EISDIR;
    auto f = std::make_shared<OpenFile>();
    if (int e = inst.client->open(p, flags, mode, f.get())) return e;
    fd = install(inst, std::move(f));
    return 0;
  });
  return result(err, fd);
}

extern "C" int benchfs_close(int fd) {
  int err = with_instance([&](Instance& inst) {
    if (fd < kFirstFd) return EBADF;
    std::shared_ptr<OpenFile> f;
    {
      std::lock_guard<std::mutex> lock(inst.fd_mutex);
      size_t slot = static_cast<size_t>(fd - kFirstFd);
      if (slot >= inst.fds.size() || !inst.fds[slot]) return EBADF;
      f = std::move(inst.fds[slot]);
    }
    return inst.client->close(*f);
  });
  return result(err, 0);
}

extern "C" ssize_t benchfs_pwrite(int fd, const void* buf, size_t count, off_t offset) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    std::shared_ptr<OpenFile> f;
    if (int e = check_fd(inst, fd, true, &f)) return e;
    if (int e = check_range(buf, count, offset)) return e;
    return do_pwrite(inst, *f, buf, count, static_cast<uint64_t>(offset), &done);
  });
  return result<ssize_t>(err, static_cast<ssize_t>(done));
}

extern "C" ssize_t benchfs_pread(int fd, void* buf, size_t count, off_t offset) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    std::shared_ptr<OpenFile> f;
    if (int e = check_fd(inst, fd, false, &f)) return e;
    if (int e = check_range(buf, count, offset)) return e;
    return inst.client->pread(*f, buf, count, static_cast<uint64_t>(offset), &done);
  });
  return result<ssize_t>(err, static_cast<ssize_t>(done));
}

extern "C" ssize_t benchfs_write(int fd, const void* buf, size_t count) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    std::shared_ptr<OpenFile> f;
    if (int e = check_fd(inst, fd, true, &f)) return e;
    std::lock_guard<std::mutex> lock(f->offset_mutex);
    uint64_t offset = f->offset;
    if ((f->flags & O_APPEND) && count > 0) {
      // The metadata owner hands out the range at the end: appends from
      // every rank are atomic with respect to each other.
      if (int e = check_range(buf, count, 0)) return e;
      if (int e = inst.client->append_offset(*f, count, &offset)) return e;
    }
    if (int e = check_range(buf, count, static_cast<long long>(offset))) return e;
    if (int e = do_pwrite(inst, *f, buf, count, offset, &done)) return e;
    f->offset = offset + done;
    return 0;
  });
  return result<ssize_t>(err, static_cast<ssize_t>(done));
}

extern "C" ssize_t benchfs_read(int fd, void* buf, size_t count) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    std::shared_ptr<OpenFile> f;
    if (int e = check_fd(inst, fd, false, &f)) return e;
    std::lock_guard<std::mutex> lock(f->offset_mutex);
    if (int e = check_range(buf, count, static_cast<long long>(f->offset))) return e;
    if (int e = inst.client->pread(*f, buf, count, f->offset, &done)) return e;
    f->offset += done;
    return 0;
  });
  return result<ssize_t>(err, static_cast<ssize_t>(done));
}

extern "C" off_t benchfs_lseek(int fd, off_t offset, int whence) {
  off_t pos = 0;
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    std::lock_guard<std::mutex> lock(f->offset_mutex);
    long long base;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = static_cast<long long>(f->offset); break;
      case SEEK_END: {
        uint64_t size = 0;
        if (int e = inst.client->file_size(*f, &size)) return e;
        base = static_cast<long long>(size);
        break;
      }
      default: return EINVAL;
    }
    long long target;
    if (__builtin_add_overflow(base, static_cast<long long>(offset), &target)) return EOVERFLOW;
    if (target < 0) return EINVAL;
    f->offset = static_cast<uint64_t>(target);
    pos = static_cast<off_t>(target);
    return 0;
  });
  return result<off_t>(err, pos);
}

extern "C" int benchfs_fcntl(int fd, int cmd, ...) {
  int value = 0;
  if (cmd == F_SETFL) {
    va_list ap;
    va_start(ap, cmd);
    value = va_arg(ap, int);
    va_end(ap);
  }
  int flags = 0;
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    switch (cmd) {
      case F_GETFL: flags = f->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY); return 0;
      case F_SETFL: {
        // As Linux: only the status flags change, the others are ignored;
        // of those BenchFS acts on O_APPEND (O_NONBLOCK etc. mean nothing
        // for it).  Under the offset lock: a write in flight sees the old
        // or the new mode, whole.
        constexpr int kSettable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
        std::lock_guard<std::mutex> lock(f->offset_mutex);
        f->flags = (f->flags & ~kSettable) | (value & kSettable);
        return 0;
      }
      default: return EINVAL;
    }
  });
  return result(err, flags);
}

extern "C" int benchfs_fsync(int fd) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    return inst.client->fsync(*f);
  });
  return result(err, 0);
}

// Placement as the client uses it to send data (Client::pwrite/pread) and
// the server checks it (Server::check_chunk_range): the file's id decides.
extern "C" int benchfs_chunk_rank(int fd, off_t offset) {
  int owner = -1;
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    if (f->is_dir) return EISDIR;
    if (offset < 0) return EINVAL;
    owner = chunk_owner(f->id, static_cast<uint64_t>(offset) / inst.config.chunk_size, inst.size);
    return 0;
  });
  return result(err, owner);
}

// This rank's open files (a truncate cuts their unpublished writes too).
static std::vector<std::shared_ptr<OpenFile>> open_files(Instance& inst) {
  std::vector<std::shared_ptr<OpenFile>> files;
  std::lock_guard<std::mutex> lock(inst.fd_mutex);
  for (const auto& f : inst.fds)
    if (f && !f->is_dir) files.push_back(f);
  return files;
}

// The end of what this rank wrote to file `id` through descriptors still
// open and not yet published (close, fsync): a rank's own stat counts its
// own writes, as fstat does.
static uint64_t unpublished_end(Instance& inst, uint64_t id) {
  uint64_t end = 0;
  std::lock_guard<std::mutex> lock(inst.fd_mutex);
  for (const auto& f : inst.fds)
    if (f && f->id == id) end = std::max(end, f->written_end.load());
  return end;
}

// benchfs_stat (follow: true) and benchfs_lstat.
static int stat_path(const char* path, struct stat* st, bool follow) {
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    if (!st) return EFAULT;
    Attr a;
    if (int e = follow ? inst.client->stat(p, &a) : inst.client->lstat(p, &a)) return e;
    if (S_ISREG(a.mode)) a.size = std::max(a.size, unpublished_end(inst, a.id));
    attr_to_stat(a, inst.config.chunk_size, st);
    return 0;
  });
  return result(err, 0);
}

extern "C" int benchfs_stat(const char* path, struct stat* st) { return stat_path(path, st, true); }

extern "C" int benchfs_lstat(const char* path, struct stat* st) { return stat_path(path, st, false); }

extern "C" int benchfs_symlink(const char* target, const char* linkpath) {
  int err = with_instance([&](Instance& inst) {
    // The target is stored as given, checked only as symlink(2) does.
    if (!target) return EFAULT;
    size_t len = std::strlen(target);
    if (len == 0) return ENOENT;
    if (len >= PATH_MAX) return ENAMETOOLONG;
    return path_op(inst, linkpath, Slash::kEntryPoint, [&](const std::string& p, bool dir_only) {
      // "/new/" names a directory, which a link is not (Linux: ENOENT, or
      // EEXIST for an existing path).
      if (dir_only) {
        Attr a;
        return inst.client->lstat(p, &a) == 0 ? EEXIST : ENOENT;
      }
      return inst.client->symlink(target, p);
    });
  });
  return result(err, 0);
}

extern "C" ssize_t benchfs_readlink(const char* path, char* buf, size_t size) {
  size_t copied = 0;
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    if (size == 0) return EINVAL;  // as Linux, before the lookup
    if (!buf) return EFAULT;
    std::string target;
    if (int e = inst.client->readlink(p, &target)) return e;
    // As readlink(2): truncated to size, no terminating NUL.
    copied = std::min(size, target.size());
    std::memcpy(buf, target.data(), copied);
    return 0;
  });
  return result<ssize_t>(err, static_cast<ssize_t>(copied));
}

extern "C" int benchfs_fstat(int fd, struct stat* st) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    if (!st) return EFAULT;
    Attr a;
    if (int e = inst.client->fstat(*f, &a)) return e;
    attr_to_stat(a, inst.config.chunk_size, st);
    return 0;
  });
  return result(err, 0);
}

extern "C" int benchfs_unlink(const char* path) {
  // "/dir/" is EISDIR, "/file/" ENOTDIR (Linux): kNamesDir then the owner.
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    if (p == "/") return EISDIR;
    return inst.client->unlink(p);
  });
  return result(err, 0);
}

extern "C" int benchfs_mkdir(const char* path, mode_t mode) {
  // "/new/" makes a directory, as it should; "/file/" is EEXIST (Linux).
  int err = with_path(path, Slash::kEntryPoint, [&](Instance& inst, const std::string& p, bool) {
    return inst.client->mkdir(p, mode);
  });
  return result(err, 0);
}

extern "C" int benchfs_rmdir(const char* path) {
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    return inst.client->rmdir(p);
  });
  return result(err, 0);
}

extern "C" int benchfs_truncate(const char* path, off_t length) {
  int err = with_instance([&](Instance& inst) {
    if (length < 0) return EINVAL;  // before the path, as Linux
    return path_op(inst, path, Slash::kNamesDir, [&](const std::string& p, bool) {
      return inst.client->truncate(p, static_cast<uint64_t>(length), false, open_files(inst));
    });
  });
  return result(err, 0);
}

extern "C" int benchfs_ftruncate(int fd, off_t length) {
  int err = with_instance([&](Instance& inst) {
    if (length < 0) return EINVAL;  // before the fd, as Linux
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    if (!writable(*f) || f->is_dir) return EINVAL;  // as Linux
    return inst.client->truncate(f->path, static_cast<uint64_t>(length), true, open_files(inst));
  });
  return result(err, 0);
}

extern "C" int benchfs_chmod(const char* path, mode_t mode) {
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    return inst.client->chmod(p, mode);
  });
  return result(err, 0);
}

extern "C" int benchfs_utimens(const char* path, const struct timespec times[2]) {
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    return inst.client->utimens(p, times);
  });
  return result(err, 0);
}

extern "C" int benchfs_futimens(int fd, const struct timespec times[2]) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    return inst.client->utimens(f->path, times);
  });
  return result(err, 0);
}

extern "C" int benchfs_access(const char* path, int mode) {
  int err = with_instance([&](Instance& inst) {
    if (mode & ~(R_OK | W_OK | X_OK)) return EINVAL;  // before the path, as Linux
    return path_op(inst, path, Slash::kNamesDir, [&](const std::string& p, bool) {
      return inst.client->access(p, mode);
    });
  });
  return result(err, 0);
}

extern "C" int benchfs_rename(const char* oldpath, const char* newpath) {
  int err = with_instance([&](Instance& inst) {
    std::string from, to;
    bool from_dir = false, to_dir = false;
    if (int e = parse_path(inst, oldpath, &from, &from_dir)) return e;
    if (int e = parse_path(inst, newpath, &to, &to_dir)) return e;
    // A trailing slash on either side says "directory": moving a file
    // that way is ENOTDIR (Linux checks the source only).
    if (from_dir || to_dir)
      if (int e = check_dir_only(inst, from)) return e;
    return inst.client->rename(from, to);
  });
  return result(err, 0);
}

extern "C" int benchfs_statvfs(const char* path, struct statvfs* buf) {
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    if (!buf) return EFAULT;
    Attr a;
    if (int e = inst.client->stat(p, &a)) return e;
    FsStats s;
    if (int e = inst.client->statfs(&s)) return e;
    const uint64_t frag = 4096;
    std::memset(buf, 0, sizeof *buf);
    buf->f_bsize = static_cast<unsigned long>(inst.config.chunk_size);
    buf->f_frsize = frag;
    buf->f_blocks = static_cast<fsblkcnt_t>(s.capacity / frag);
    buf->f_bfree = static_cast<fsblkcnt_t>(s.free / frag);
    buf->f_bavail = buf->f_bfree;
    // Metadata entries are limited only by memory: report what is used and
    // a large number free.
    buf->f_files = static_cast<fsfilcnt_t>(s.entries + (1ULL << 40));
    buf->f_ffree = static_cast<fsfilcnt_t>(1ULL << 40);
    buf->f_favail = buf->f_ffree;
    buf->f_fsid = 0xBE4C;
    buf->f_namemax = NAME_MAX;
    return 0;
  });
  return result(err, 0);
}

struct benchfs_dir {
  benchfs::DirListing listing;
  struct dirent entry;
};

extern "C" benchfs_dir* benchfs_opendir(const char* path) {
  benchfs_dir* dir = nullptr;
  int err = with_path(path, Slash::kNamesDir, [&](Instance& inst, const std::string& p, bool) {
    auto d = std::make_unique<benchfs_dir>();
    if (int e = inst.client->opendir(p, &d->listing)) return e;
    dir = d.release();
    return 0;
  });
  if (err) {
    errno = err;
    return nullptr;
  }
  return dir;
}

extern "C" struct dirent* benchfs_readdir(benchfs_dir* dir) {
  struct dirent* out = nullptr;
  int err = with_instance([&](Instance& inst) {
    if (!dir) return EBADF;
    DirListing::Entry e;
    int r = inst.client->readdir(dir->listing, &e);
    if (r == ENOENT) return 0;  // end of the listing: NULL, errno unchanged
    if (r) return r;
    struct dirent& d = dir->entry;
    std::memset(&d, 0, sizeof d);
    d.d_ino = e.id;
    d.d_type = S_ISDIR(e.mode)   ? DT_DIR
               : S_ISREG(e.mode) ? DT_REG
               : S_ISLNK(e.mode) ? DT_LNK
                                 : DT_UNKNOWN;
    d.d_reclen = sizeof d;
    std::snprintf(d.d_name, sizeof d.d_name, "%s", e.name.c_str());
    out = &d;
    return 0;
  });
  if (err) errno = err;
  return out;
}

extern "C" int benchfs_closedir(benchfs_dir* dir) {
  // A stream holds only memory: it is released even when BenchFS is no
  // longer running (a stream left open across benchfs_finalize must not
  // leak), so only a NULL stream is an error.
  int err = with_instance([&](Instance&) { return dir ? 0 : EBADF; });
  if (!dir) return result(err, 0);
  delete dir;
  return 0;
}
