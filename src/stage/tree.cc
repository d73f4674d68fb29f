#include "stage/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "benchfs/benchfs.h"

namespace benchfs::stage {

namespace {

Kind kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return Kind::kDirectory;
  if (S_ISREG(mode)) return Kind::kFile;
  return Kind::kOther;
}

void fill(const struct stat& st, Entry* entry) {
  entry->kind = kind_of(st.st_mode);
  entry->mode = st.st_mode;
  entry->size = static_cast<uint64_t>(st.st_size);
  entry->mtime = st.st_mtim;
}

bool is_dot_or_dotdot(const char* name) {
  return std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0;
}

// mkdir found the path taken: success if by a directory, else ENOTDIR
// (the path cannot be a directory, nor lead to one).
template <typename StatFn>
int existing_directory(StatFn stat_fn) {
  struct stat st;
  if (stat_fn(&st) != 0) return -EEXIST;
  return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

}  // namespace

// --- Outside ---------------------------------------------------------------

int OutsideTree::stat(const std::string& path, Entry* entry) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return -errno;
  fill(st, entry);
  return 0;
}

int OutsideTree::list(const std::string& dir, std::vector<Entry>* entries) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -errno;
  int dfd = ::dirfd(d);
  int err = 0;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (!e) {
      err = -errno;
      break;
    }
    if (is_dot_or_dotdot(e->d_name)) continue;
    struct stat st;
    if (::fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while listed
      err = -errno;
      break;
    }
    Entry entry;
    entry.path = e->d_name;
    fill(st, &entry);
    entries->push_back(std::move(entry));
  }
  ::closedir(d);
  return err;
}

int OutsideTree::make_directory(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return 0;
  if (errno != EEXIST) return -errno;
  return existing_directory([&](struct stat* st) { return ::stat(path.c_str(), st); });
}

int OutsideTree::open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  return fd >= 0 ? fd : -errno;
}

int64_t OutsideTree::pread(int fd, char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(done);
}

int64_t OutsideTree::pwrite(int fd, const char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(done);
}

int OutsideTree::fstat(int fd, Entry* entry) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return -errno;
  fill(st, entry);
  return 0;
}

int OutsideTree::close(int fd) { return ::close(fd) == 0 ? 0 : -errno; }

int OutsideTree::set_attributes(const std::string& path, bool set_mode, mode_t mode,
                                const timespec& mtime) {
  if (set_mode && ::chmod(path.c_str(), mode & 07777) != 0) return -errno;
  const timespec times[2] = {{0, UTIME_OMIT}, mtime};
  return ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int OutsideTree::rename(const std::string& from, const std::string& to) {
  return ::rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
}

int OutsideTree::unlink(const std::string& path) {
  return ::unlink(path.c_str()) == 0 ? 0 : -errno;
}

// --- BenchFS ---------------------------------------------------------------

int BenchfsTree::stat(const std::string& path, Entry* entry) {
  struct stat st;
  if (benchfs_stat(path.c_str(), &st) != 0) return -errno;
  fill(st, entry);
  return 0;
}

int BenchfsTree::list(const std::string& dir, std::vector<Entry>* entries) {
  benchfs_dir* d = benchfs_opendir(dir.c_str());
  if (!d) return -errno;
  int err = 0;
  for (;;) {
    errno = 0;
    dirent* e = benchfs_readdir(d);
    if (!e) {
      err = -errno;
      break;
    }
    if (is_dot_or_dotdot(e->d_name)) continue;
    Entry entry;
    int stat_err = stat(dir + "/" + e->d_name, &entry);
    if (stat_err == -ENOENT) continue;  // removed while listed
    if (stat_err) {
      err = stat_err;
      break;
    }
    entry.path = e->d_name;
    entries->push_back(std::move(entry));
  }
  benchfs_closedir(d);
  return err;
}

int BenchfsTree::make_directory(const std::string& path, mode_t mode) {
  if (benchfs_mkdir(path.c_str(), mode) == 0) return 0;
  if (errno != EEXIST) return -errno;
  return existing_directory([&](struct stat* st) { return benchfs_stat(path.c_str(), st); });
}

int BenchfsTree::open(const std::string& path, int flags, mode_t mode) {
  int fd = benchfs_open(path.c_str(), flags, mode);
  return fd >= 0 ? fd : -errno;
}

int64_t BenchfsTree::pread(int fd, char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = benchfs_pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) return -errno;
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(done);
}

int64_t BenchfsTree::pwrite(int fd, const char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = benchfs_pwrite(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) return -errno;
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(done);
}

int BenchfsTree::fstat(int fd, Entry* entry) {
  struct stat st;
  if (benchfs_fstat(fd, &st) != 0) return -errno;
  fill(st, entry);
  return 0;
}

int BenchfsTree::close(int fd) { return benchfs_close(fd) == 0 ? 0 : -errno; }

int BenchfsTree::set_attributes(const std::string& path, bool set_mode, mode_t mode,
                                const timespec& mtime) {
  if (set_mode && benchfs_chmod(path.c_str(), mode & 07777) != 0) return -errno;
  const timespec times[2] = {{0, UTIME_OMIT}, mtime};
  return benchfs_utimens(path.c_str(), times) == 0 ? 0 : -errno;
}

int BenchfsTree::rename(const std::string& from, const std::string& to) {
  return benchfs_rename(from.c_str(), to.c_str()) == 0 ? 0 : -errno;
}

int BenchfsTree::unlink(const std::string& path) {
  return benchfs_unlink(path.c_str()) == 0 ? 0 : -errno;
}

}  // namespace benchfs::stage
