#include "preload/fd_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "preload/real.h"

namespace benchfs::preload {

FdTable& fds() {
  // Never destroyed: calls may come from other libraries' destructors.
  static FdTable* table = new FdTable;
  return *table;
}

std::shared_ptr<Description> FdTable::get(int fd) {
  if (!holds(fd)) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  return find(fd);
}

std::shared_ptr<Description> FdTable::find(int fd) {
  auto it = slots_.find(fd);
  return it == slots_.end() ? nullptr : it->second;
}

int FdTable::install(std::shared_ptr<Description> d, bool cloexec) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (placeholder_ < 0) {
    placeholder_ = REAL(open)("/dev/null", O_PATH | O_CLOEXEC);
    if (placeholder_ < 0) return -1;
  }
  int fd = REAL(fcntl)(placeholder_, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
  if (fd < 0) return -1;
  if (fd >= kMaxFds) {
    REAL(close)(fd);
    errno = EMFILE;
    return -1;
  }
  d->links.fetch_add(1);
  slots_[fd] = std::move(d);
  marks_[fd].store(true, std::memory_order_release);
  return fd;
}

void FdTable::attach(int fd, std::shared_ptr<Description> d) {
  // The caller holds mutex() (it made fd by dup under it).
  d->links.fetch_add(1);
  slots_[fd] = std::move(d);
  marks_[fd].store(true, std::memory_order_release);
}

std::shared_ptr<Description> FdTable::detach(int fd, bool* last) {
  // The caller holds mutex().
  *last = false;
  if (!holds(fd)) return nullptr;
  auto it = slots_.find(fd);
  if (it == slots_.end()) return nullptr;
  auto d = std::move(it->second);
  slots_.erase(it);
  marks_[fd].store(false, std::memory_order_release);
  *last = d->links.fetch_sub(1) == 1;
  return d;
}

}  // namespace benchfs::preload
