// BenchFS descriptors as the application sees them: real kernel descriptor
// numbers, each reserved for BenchFS by a placeholder (an O_PATH descriptor
// of /dev/null), so libc, MPI and UCX are never handed the same number, and
// a call that reaches the kernel on one fails with EBADF instead of doing
// I/O somewhere else.  Each number maps to a Description: the open file of
// BenchFS behind it, shared by dup()s as an open file description is.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace benchfs::preload {

struct Description {
  int bfd = -1;      // benchfs_open's descriptor; -1 for a directory opened by opendir
  std::string path;  // normalised, mount prefix included, as at open
  // Kernel descriptors that refer to it: the last close closes bfd.
  std::atomic<int> links{0};
};

constexpr int kMaxFds = 1 << 16;

class FdTable {
 public:
  // Whether fd is a BenchFS descriptor: one load, the cost every call on a
  // descriptor pays before it goes on to libc.
  bool holds(int fd) const {
    return fd >= 0 && fd < kMaxFds && marks_[fd].load(std::memory_order_acquire);
  }
  std::shared_ptr<Description> get(int fd);
  // get() for a caller that holds mutex().
  std::shared_ptr<Description> find(int fd);

  // Reserves a new descriptor number (lowest free, as open) for d.
  // Returns it, or -1 with errno (EMFILE).
  int install(std::shared_ptr<Description> d, bool cloexec);
  // Makes the kernel descriptor fd (already a placeholder, from dup) refer
  // to d.
  void attach(int fd, std::shared_ptr<Description> d);
  // Forgets fd; returns its description, and whether fd was its last link.
  std::shared_ptr<Description> detach(int fd, bool* last);
  // The lock that keeps a descriptor number and its entry in step across
  // close, dup2 and install (the kernel may hand out a number the moment it
  // is closed).
  std::mutex& mutex() { return mutex_; }

 private:
  std::atomic<bool> marks_[kMaxFds] = {};
  std::mutex mutex_;
  std::unordered_map<int, std::shared_ptr<Description>> slots_;
  int placeholder_ = -1;  // the O_PATH descriptor every reservation duplicates
};

FdTable& fds();

}  // namespace benchfs::preload
