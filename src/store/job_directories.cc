#include "store/job_directories.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

namespace benchfs {

namespace {

constexpr const char* kPrefix = "benchfs-";
constexpr const char* kLockSuffix = ".lock";

// True if path still names the file open as fd (a sweep may have unlinked
// it between our open and our flock).
bool still_named(int fd, const std::string& path) {
  struct stat open_st, path_st;
  return ::fstat(fd, &open_st) == 0 && ::stat(path.c_str(), &path_st) == 0 &&
         open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

uint64_t stored_bytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) n += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return n;
}

// The job names ("benchfs-<tag>") that have a directory or a lock file in dir.
std::set<std::string> job_names(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  const std::string suffix = kLockSuffix;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(kPrefix, 0) != 0) continue;
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      names.insert(name.substr(0, name.size() - suffix.size()));
    else if (is_directory(dir + "/" + name))
      names.insert(name);
  }
  ::closedir(d);
  return names;
}

// Sweeps one job: nothing if it runs, else removes its directory (unless
// kept) and its lock file.  Returns false when the job still runs (or its
// lock cannot be opened).
bool sweep_job(const std::string& dir, const std::string& name, SweptDirectory* out) {
  const std::string job_dir = dir + "/" + name;
  const std::string lock_path = job_dir + kLockSuffix;
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT) return false;  // cannot tell: leave it
  if (fd >= 0 && (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_named(fd, lock_path))) {
    ::close(fd);  // a live job holds it, or another sweep just removed it
    return false;
  }
  // The job is gone (a lock nobody holds, or a directory that never had one).
  out->path = job_dir;
  if (!is_directory(job_dir)) {
    out->path = lock_path;  // the directory went, the lock stayed
  } else if (exists(job_dir + "/" + kKeepMarker)) {
    out->kept = true;
  } else {
    out->bytes = stored_bytes(job_dir);
    std::error_code ec;
    std::filesystem::remove_all(job_dir, ec);
    out->error = ec.value();
  }
  if (!out->kept && !out->error && fd >= 0) ::unlink(lock_path.c_str());
  if (fd >= 0) ::close(fd);
  return true;
}

}  // namespace

std::string job_directory(const std::string& dir, const std::string& job_tag) {
  return dir + "/" + kPrefix + job_tag;
}

JobLock::~JobLock() {
  if (fd_ >= 0) ::close(fd_);
}

int JobLock::acquire(const std::string& dir, const std::string& job_tag) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  job_dir_ = job_directory(dir, job_tag);
  lock_path_ = job_dir_ + kLockSuffix;
  for (;;) {
    int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return errno;
    if (::flock(fd, LOCK_SH) != 0) {
      int err = errno;
      ::close(fd);
      return err;
    }
    if (still_named(fd, lock_path_)) {
      fd_ = fd;
      return 0;
    }
    ::close(fd);  // a sweep removed the file between open and flock: anew
  }
}

void JobLock::release() {
  if (fd_ < 0) return;
  if (!exists(job_dir_) && still_named(fd_, lock_path_)) ::unlink(lock_path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

std::vector<SweptDirectory> sweep_job_directories(const std::string& dir) {
  std::vector<SweptDirectory> swept;
  for (const std::string& name : job_names(dir)) {
    SweptDirectory s;
    if (sweep_job(dir, name, &s)) swept.push_back(s);
  }
  return swept;
}

}  // namespace benchfs
