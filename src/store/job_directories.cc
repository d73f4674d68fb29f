#include "store/job_directories.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
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

// True if s[from, to) is one or more characters that all pass `is`.
template <typename Is>
bool all_of(const std::string& s, size_t from, size_t to, Is is) {
  if (from >= to) return false;
  for (size_t i = from; i < to; ++i)
    if (!is(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// A job directory as BenchFS makes it: rank<N> directories and perhaps
// the keep marker, nothing else.
bool holds_only_backing_directories(const std::string& job_dir) {
  DIR* d = ::opendir(job_dir.c_str());
  if (!d) return false;
  bool ours = true;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == kKeepMarker) continue;
    ours = ours && name.rfind("rank", 0) == 0 &&
           all_of(name, 4, name.size(), [](unsigned char c) { return std::isdigit(c); }) &&
           is_directory(job_dir + "/" + name);
  }
  ::closedir(d);
  return ours;
}

// The job names ("benchfs-<tag>") that have a lock file in dir: a job
// directory without one is not swept.
std::set<std::string> locked_job_names(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  const std::string suffix = kLockSuffix;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    name.resize(name.size() - suffix.size());
    if (is_job_directory_name(name)) names.insert(name);
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
  if (fd < 0) return false;  // another sweep removed it, or cannot tell: leave it
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || !still_named(fd, lock_path) ||
      (is_directory(job_dir) && !holds_only_backing_directories(job_dir))) {
    ::close(fd);  // a live job holds it, another sweep just removed it, or not ours
    return false;
  }
  // The job is gone: a lock nobody holds.
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
  if (!out->kept && !out->error) ::unlink(lock_path.c_str());
  ::close(fd);
  return true;
}

}  // namespace

std::string job_directory(const std::string& dir, const std::string& job_tag) {
  return dir + "/" + kPrefix + job_tag;
}

std::string new_job_tag() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char tag[64];
  std::snprintf(tag, sizeof tag, "%d-%llx", static_cast<int>(getpid()),
                static_cast<unsigned long long>(ts.tv_sec) * 1000000000ULL + ts.tv_nsec);
  return tag;
}

bool is_job_directory_name(const std::string& name) {
  const size_t prefix = std::char_traits<char>::length(kPrefix);
  if (name.compare(0, prefix, kPrefix) != 0) return false;
  size_t dash = name.find('-', prefix);
  return dash != std::string::npos &&
         all_of(name, prefix, dash, [](unsigned char c) { return std::isdigit(c); }) &&
         all_of(name, dash + 1, name.size(),
                [](unsigned char c) { return std::isdigit(c) || (c >= 'a' && c <= 'f'); });
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
  for (const std::string& name : locked_job_names(dir)) {
    SweptDirectory s;
    if (sweep_job(dir, name, &s)) swept.push_back(s);
  }
  return swept;
}

}  // namespace benchfs
