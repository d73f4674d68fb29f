// The C entry points for files and directories: argument checks, the fd
// table, errno.  The work happens in the Client.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>

#include "api/instance.h"
#include "benchfs/benchfs.h"
#include "common/path.h"

namespace benchfs {
namespace {

// Flags we accept and ignore: they change nothing for BenchFS.
constexpr int kIgnoredFlags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_LARGEFILE | O_DIRECT |
                              O_NOATIME | O_NOFOLLOW;
constexpr int kSupportedFlags = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY |
                                O_SYNC | O_DSYNC | kIgnoredFlags;

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
  std::lock_guard<std::mutex> lock(inst.fd_mutex);
  int slot = fd - kFirstFd;
  if (slot < 0 || static_cast<size_t>(slot) >= inst.fds.size()) return nullptr;
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

int do_pwrite(Instance& inst, OpenFile& f, const void* buf, size_t count, uint64_t offset) {
  if (int err = inst.client->pwrite(f, buf, count, offset)) return err;
  if (f.flags & (O_SYNC | O_DSYNC)) return inst.client->fsync(f);
  return 0;
}

int check_io_args(const void* buf, size_t count) {
  if (count > SSIZE_MAX) return EINVAL;
  if (!buf && count > 0) return EFAULT;
  return 0;
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
  int err = with_instance([&](Instance& inst) {
    if (!path) return EFAULT;
    if ((flags & ~kSupportedFlags) || (flags & O_ACCMODE) == O_ACCMODE) return EINVAL;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    auto f = std::make_shared<OpenFile>();
    if (int e = inst.client->open(p, flags, mode, f.get())) return e;
    if ((flags & O_DIRECTORY) && !f->is_dir) return ENOTDIR;
    fd = install(inst, std::move(f));
    return 0;
  });
  return result(err, fd);
}

extern "C" int benchfs_close(int fd) {
  int err = with_instance([&](Instance& inst) {
    std::shared_ptr<OpenFile> f;
    {
      std::lock_guard<std::mutex> lock(inst.fd_mutex);
      int slot = fd - kFirstFd;
      if (slot < 0 || static_cast<size_t>(slot) >= inst.fds.size() || !inst.fds[slot])
        return EBADF;
      f = std::move(inst.fds[slot]);
    }
    return inst.client->close(*f);
  });
  return result(err, 0);
}

extern "C" ssize_t benchfs_pwrite(int fd, const void* buf, size_t count, off_t offset) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f || !writable(*f)) return EBADF;
    if (f->is_dir) return EISDIR;
    if (offset < 0) return EINVAL;
    if (int e = check_io_args(buf, count)) return e;
    if (static_cast<uint64_t>(offset) + count > static_cast<uint64_t>(LLONG_MAX)) return EFBIG;
    return do_pwrite(inst, *f, buf, count, static_cast<uint64_t>(offset));
  });
  return result<ssize_t>(err, static_cast<ssize_t>(count));
}

extern "C" ssize_t benchfs_pread(int fd, void* buf, size_t count, off_t offset) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f || !readable(*f)) return EBADF;
    if (f->is_dir) return EISDIR;
    if (offset < 0) return EINVAL;
    if (int e = check_io_args(buf, count)) return e;
    return inst.client->pread(*f, buf, count, static_cast<uint64_t>(offset), &done);
  });
  return result<ssize_t>(err, static_cast<ssize_t>(done));
}

extern "C" ssize_t benchfs_write(int fd, const void* buf, size_t count) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f || !writable(*f)) return EBADF;
    if (f->is_dir) return EISDIR;
    if (int e = check_io_args(buf, count)) return e;
    std::lock_guard<std::mutex> lock(f->offset_mutex);
    uint64_t offset = f->offset;
    if (f->flags & O_APPEND) {
      // Appends go to the end as far as this rank knows it (close-to-open:
      // concurrent appenders on several ranks are not serialised).
      if (int e = inst.client->file_size(*f, &offset)) return e;
    }
    if (int e = do_pwrite(inst, *f, buf, count, offset)) return e;
    f->offset = offset + count;
    return 0;
  });
  return result<ssize_t>(err, static_cast<ssize_t>(count));
}

extern "C" ssize_t benchfs_read(int fd, void* buf, size_t count) {
  size_t done = 0;
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f || !readable(*f)) return EBADF;
    if (f->is_dir) return EISDIR;
    if (int e = check_io_args(buf, count)) return e;
    std::lock_guard<std::mutex> lock(f->offset_mutex);
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

extern "C" int benchfs_fsync(int fd) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    return inst.client->fsync(*f);
  });
  return result(err, 0);
}

extern "C" int benchfs_stat(const char* path, struct stat* st) {
  int err = with_instance([&](Instance& inst) {
    if (!path || !st) return EFAULT;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    Attr a;
    if (int e = inst.client->stat(p, &a)) return e;
    attr_to_stat(a, inst.config.chunk_size, st);
    return 0;
  });
  return result(err, 0);
}

extern "C" int benchfs_fstat(int fd, struct stat* st) {
  int err = with_instance([&](Instance& inst) {
    if (!st) return EFAULT;
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    Attr a;
    if (int e = inst.client->fstat(*f, &a)) return e;
    attr_to_stat(a, inst.config.chunk_size, st);
    return 0;
  });
  return result(err, 0);
}

extern "C" int benchfs_unlink(const char* path) {
  int err = with_instance([&](Instance& inst) {
    if (!path) return EFAULT;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    if (p == "/") return EISDIR;
    return inst.client->unlink(p);
  });
  return result(err, 0);
}

extern "C" int benchfs_mkdir(const char* path, mode_t mode) {
  int err = with_instance([&](Instance& inst) {
    if (!path) return EFAULT;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    return inst.client->mkdir(p, mode);
  });
  return result(err, 0);
}

extern "C" int benchfs_rmdir(const char* path) {
  int err = with_instance([&](Instance& inst) {
    if (!path) return EFAULT;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    return inst.client->rmdir(p);
  });
  return result(err, 0);
}

namespace {

// Normalises path and runs fn(instance, normalised path).
template <typename Fn>
int with_path(const char* path, Fn fn) {
  return with_instance([&](Instance& inst) {
    if (!path) return EFAULT;
    std::string p;
    if (int e = normalize_path(path, &p)) return e;
    return fn(inst, p);
  });
}

}  // namespace

extern "C" int benchfs_truncate(const char* path, off_t length) {
  int err = with_path(path, [&](Instance& inst, const std::string& p) {
    if (length < 0) return EINVAL;
    return inst.client->truncate(p, static_cast<uint64_t>(length), nullptr);
  });
  return result(err, 0);
}

extern "C" int benchfs_ftruncate(int fd, off_t length) {
  int err = with_instance([&](Instance& inst) {
    auto f = lookup(inst, fd);
    if (!f) return EBADF;
    if (!writable(*f) || f->is_dir || length < 0) return EINVAL;  // as Linux
    return inst.client->truncate(f->path, static_cast<uint64_t>(length), f.get());
  });
  return result(err, 0);
}

extern "C" int benchfs_chmod(const char* path, mode_t mode) {
  int err = with_path(path, [&](Instance& inst, const std::string& p) {
    return inst.client->chmod(p, mode);
  });
  return result(err, 0);
}

extern "C" int benchfs_access(const char* path, int mode) {
  int err = with_path(path, [&](Instance& inst, const std::string& p) {
    if (mode & ~(R_OK | W_OK | X_OK)) return EINVAL;
    return inst.client->access(p, mode);
  });
  return result(err, 0);
}

extern "C" int benchfs_rename(const char* oldpath, const char* newpath) {
  int err = with_instance([&](Instance& inst) {
    if (!oldpath || !newpath) return EFAULT;
    std::string from, to;
    if (int e = normalize_path(oldpath, &from)) return e;
    if (int e = normalize_path(newpath, &to)) return e;
    return inst.client->rename(from, to);
  });
  return result(err, 0);
}

extern "C" int benchfs_statvfs(const char* path, struct statvfs* buf) {
  int err = with_path(path, [&](Instance& inst, const std::string& p) {
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
  int err = with_path(path, [&](Instance& inst, const std::string& p) {
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
    d.d_type = S_ISDIR(e.mode) ? DT_DIR : S_ISREG(e.mode) ? DT_REG : DT_UNKNOWN;
    d.d_reclen = sizeof d;
    std::snprintf(d.d_name, sizeof d.d_name, "%s", e.name.c_str());
    out = &d;
    return 0;
  });
  if (err) errno = err;
  return out;
}

extern "C" int benchfs_closedir(benchfs_dir* dir) {
  if (!dir) {
    errno = EBADF;
    return -1;
  }
  delete dir;
  return 0;
}
