#include "store/uring_chunk_store.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/config.h"
#include "common/file_io.h"
#include "common/log.h"

namespace benchfs {

struct UringChunkStore::Op {
  IoKind kind;
  int fd;
  char* buf;
  size_t len;
  uint64_t offset;
  size_t done_bytes = 0;
  Done done;
};

// Finishes what is in flight, so no completion touches freed memory.
void UringChunkStore::drain() {
  while (in_flight_ > 0 && ring_ready_) {
    io_uring_submit_and_wait(&ring_, 1);
    poll();
  }
}

UringChunkStore::~UringChunkStore() {
  drain();
  close_arenas();
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

int UringChunkStore::open(const std::string& directory, unsigned queue_depth, bool inline_on_ram,
                          uint64_t chunk_size, int nservers, int rank) {
  dir_ = directory;
  owner_ = std::this_thread::get_id();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir_).parent_path(), ec);
  if (::mkdir(dir_.c_str(), 0700) != 0) {
    int err = errno;
    log().error("cannot create backing directory {}: {}", dir_, std::strerror(err));
    return err;
  }
  struct statfs fs {};
  inline_ = inline_on_ram && ::statfs(dir_.c_str(), &fs) == 0 &&
            (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
  struct stat dir_stat {};
  if (::stat(dir_.c_str(), &dir_stat) == 0)
    pool_ = StoragePool{storage_pool_key("dev " + std::to_string(dir_stat.st_dev)), true};
  int ret = io_uring_queue_init(queue_depth, &ring_, 0);
  if (ret < 0) {
    log().error("io_uring_queue_init failed: {}", std::strerror(-ret));
    return -ret;
  }
  ring_ready_ = true;
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return errno;
  ret = io_uring_register_eventfd(&ring_, event_fd_);
  if (ret < 0) return -ret;
  auto create = [this](const std::string& name) {
    return ::open((dir_ + "/" + name).c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  };
  std::vector<int> fds;  // small, then the large arena's files
  for (unsigned i = 0; i <= kLargeFiles; ++i) {
    int fd = create(i == 0 ? "small" : "large." + std::to_string(i - 1));
    if (fd < 0) {
      int err = errno;
      for (int f : fds) ::close(f);
      return err;
    }
    fds.push_back(fd);
  }
  // The largest file this file system allows bounds the arenas (ext4:
  // 2^44 bytes, tmpfs and xfs: 2^63): the highest power of two lseek
  // accepts (pathconf's _PC_FILESIZEBITS says 32 for tmpfs).
  uint64_t max_bytes = uint64_t{1} << 60;
  while (max_bytes > (uint64_t{1} << 30) &&
         ::lseek(fds[0], static_cast<off_t>(max_bytes), SEEK_SET) < 0)
    max_bytes >>= 1;
  // Peers copy into the large arena only where that is one memory copy
  // (tmpfs, ramfs); then its addresses are never reused.
  set_arenas(fds[0], std::vector<int>(fds.begin() + 1, fds.end()),
             layout_for(chunk_size, nservers, rank, inline_, max_bytes), inline_, 0);
  return 0;
}

void UringChunkStore::submit(Op* op) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {  // submission queue full: hand the batch to the kernel, retry
    io_uring_submit(&ring_);
    unsubmitted_ = 0;
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) {
    op->done(-EAGAIN);
    delete op;
    return;
  }
  switch (op->kind) {
    case IoKind::kWrite:
      io_uring_prep_write(sqe, op->fd, op->buf + op->done_bytes, op->len - op->done_bytes,
                          op->offset + op->done_bytes);
      break;
    case IoKind::kRead:
      io_uring_prep_read(sqe, op->fd, op->buf + op->done_bytes, op->len - op->done_bytes,
                         op->offset + op->done_bytes);
      break;
    case IoKind::kFsync:
      io_uring_prep_fsync(sqe, op->fd, IORING_FSYNC_DATASYNC);
      break;
  }
  io_uring_sqe_set_data(sqe, op);
  ++in_flight_;
  ++unsubmitted_;
}

// tmpfs and ramfs have no non-blocking I/O path, so io_uring hands every
// read and write on them to a kernel worker thread: a thread wake-up per
// chunk request (measured: remote 4 KiB round trip ~100 us, the caller
// sleeping for most of them).  Their I/O never waits for a device, so there
// the store copies with pread/pwrite in place (inline_), as the memory
// backend does; so does a thread that may not enter the ring.
bool UringChunkStore::completes_in_place(IoKind kind) const {
  return !on_owner_thread() || (inline_ && kind != IoKind::kFsync);
}

void UringChunkStore::start_io(IoKind kind, int fd, char* buf, size_t len, uint64_t address,
                               Done done) {
  if (completes_in_place(kind))
    return ArenaChunkStore::start_io(kind, fd, buf, len, address, std::move(done));
  submit(new Op{kind, fd, buf, len, address, 0, std::move(done)});
}

unsigned UringChunkStore::poll() {
  if (!ring_ready_) return 0;
  const bool owner = on_owner_thread();
  if (unsubmitted_ && owner) {
    io_uring_submit(&ring_);
    unsubmitted_ = 0;
  }
  // The eventfd only wakes a sleeping progress thread; it is never read
  // (watched edge-triggered): a read costs a system call, and poll() runs on
  // every round of a thread that drives the worker.
  if (in_flight_ == 0) return 0;
  unsigned completed = 0;
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    --in_flight_;
    ++completed;
    if (res < 0) {
      // A write that stored some bytes before the device filled up reports
      // them, as write(2) does: the client turns it into a short count.
      if (op->kind == IoKind::kWrite && op->done_bytes > 0)
        op->done(static_cast<int64_t>(op->done_bytes));
      else
        op->done(res);
      delete op;
      continue;
    }
    if (op->kind == IoKind::kFsync) {
      op->done(0);
      delete op;
      continue;
    }
    op->done_bytes += static_cast<size_t>(res);
    if (op->done_bytes < op->len && res > 0 && !owner) {
      // A short transfer seen by a thread that may not submit: the rest in place.
      char* rest = op->buf + op->done_bytes;
      size_t left = op->len - op->done_bytes;
      uint64_t at = op->offset + op->done_bytes;
      int64_t r = op->kind == IoKind::kWrite ? pwrite_full(op->fd, rest, left, at)
                                             : pread_full(op->fd, rest, left, at);
      if (r < 0 && op->kind == IoKind::kWrite)
        op->done(static_cast<int64_t>(op->done_bytes));  // what was stored, as write(2)
      else
        op->done(r < 0 ? r : static_cast<int64_t>(op->done_bytes + static_cast<size_t>(r)));
      delete op;
      continue;
    }
    if (op->done_bytes < op->len) {
      if (res > 0) {  // a short transfer: continue where it stopped
        submit(op);
        continue;
      }
      if (op->kind == IoKind::kRead) {  // end of the backing file: the rest is a hole
        std::memset(op->buf + op->done_bytes, 0, op->len - op->done_bytes);
        op->done_bytes = op->len;
      } else {
        op->done(-EIO);
        delete op;
        continue;
      }
    }
    op->done(static_cast<int64_t>(op->len));
    delete op;
  }
  if (unsubmitted_ && owner) {
    io_uring_submit(&ring_);
    unsubmitted_ = 0;
  }
  return completed;
}

int UringChunkStore::capacity(uint64_t* total, uint64_t* free) const {
  struct statvfs vfs;
  if (::statvfs(dir_.c_str(), &vfs) != 0) return errno;
  *total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  *free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return 0;
}

void UringChunkStore::destroy(bool keep) {
  drain();
  close_arenas();
  if (!keep && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace benchfs
