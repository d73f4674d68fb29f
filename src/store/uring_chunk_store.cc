#include "store/uring_chunk_store.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/config.h"
#include "common/file_io.h"
#include "common/log.h"

namespace benchfs {

enum class OpKind { kWrite, kRead, kFsync };

struct UringChunkStore::Op {
  OpKind kind;
  std::shared_ptr<BackingFile> file;  // keeps the fd open while in flight
  char* buf;
  size_t len;
  uint64_t offset;
  size_t done_bytes = 0;
  Done done;
};

UringChunkStore::BackingFile::~BackingFile() {
  if (fd >= 0) ::close(fd);
}

UringChunkStore::~UringChunkStore() {
  // Finish what is in flight so no completion touches freed memory.
  while (in_flight_ > 0 && ring_ready_) {
    io_uring_submit_and_wait(&ring_, 1);
    poll();
  }
  files_.clear();
  if (ring_ready_) io_uring_queue_exit(&ring_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

int UringChunkStore::open(const std::string& directory, unsigned queue_depth, bool inline_on_ram) {
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
  return 0;
}

std::string UringChunkStore::path_of(uint64_t id) const {
  char name[32];
  std::snprintf(name, sizeof name, "/%016" PRIx64, id);
  return dir_ + name;
}

std::shared_ptr<UringChunkStore::BackingFile> UringChunkStore::file(uint64_t id, bool create,
                                                                    int* err) {
  auto it = files_.find(id);
  if (it != files_.end()) return it->second;
  if (!create) return nullptr;
  int fd = ::open(path_of(id).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *err = store_file_error(errno);
    return nullptr;
  }
  auto f = std::make_shared<BackingFile>();
  f->fd = fd;
  files_.emplace(id, f);
  return f;
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
    case OpKind::kWrite:
      io_uring_prep_write(sqe, op->file->fd, op->buf + op->done_bytes, op->len - op->done_bytes,
                          op->offset + op->done_bytes);
      break;
    case OpKind::kRead:
      io_uring_prep_read(sqe, op->file->fd, op->buf + op->done_bytes, op->len - op->done_bytes,
                         op->offset + op->done_bytes);
      break;
    case OpKind::kFsync:
      io_uring_prep_fsync(sqe, op->file->fd, 0);
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
// backend does.
void UringChunkStore::write(uint64_t id, uint64_t offset, const void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  int err = 0;
  auto f = file(id, true, &err);
  if (!f) return done(-err);
  if (in_place()) return done(pwrite_full(f->fd, static_cast<const char*>(buf), len, offset));
  submit(new Op{OpKind::kWrite, std::move(f), const_cast<char*>(static_cast<const char*>(buf)),
                len, offset, 0, std::move(done)});
}

void UringChunkStore::read(uint64_t id, uint64_t offset, void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  int err = 0;
  auto f = file(id, false, &err);
  if (!f) {  // this server never stored a byte of the file: a hole
    std::memset(buf, 0, len);
    return done(static_cast<int64_t>(len));
  }
  if (in_place()) return done(pread_full(f->fd, static_cast<char*>(buf), len, offset));
  submit(new Op{OpKind::kRead, std::move(f), static_cast<char*>(buf), len, offset, 0,
                std::move(done)});
}

void UringChunkStore::fsync(uint64_t id, Done done) {
  int err = 0;
  auto f = file(id, false, &err);
  if (!f) return done(0);
  if (!on_owner_thread()) return done(::fsync(f->fd) == 0 ? 0 : -errno);
  submit(new Op{OpKind::kFsync, std::move(f), nullptr, 0, 0, 0, std::move(done)});
}

void UringChunkStore::truncate(uint64_t id, uint64_t size, Done done) {
  int err = 0;
  auto f = file(id, false, &err);
  if (!f) return done(0);
  if (::ftruncate(f->fd, static_cast<off_t>(size)) != 0) return done(-errno);
  done(0);
}

void UringChunkStore::remove(uint64_t id, Done done) {
  auto it = files_.find(id);
  if (it == files_.end()) return done(0);
  // The fd closes when the last in-flight operation on it completes.
  files_.erase(it);
  if (::unlink(path_of(id).c_str()) != 0 && errno != ENOENT) return done(-errno);
  done(0);
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
      if (op->kind == OpKind::kWrite && op->done_bytes > 0)
        op->done(static_cast<int64_t>(op->done_bytes));
      else
        op->done(res);
      delete op;
      continue;
    }
    if (op->kind == OpKind::kFsync) {
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
      int64_t r = op->kind == OpKind::kWrite ? pwrite_full(op->file->fd, rest, left, at)
                                             : pread_full(op->file->fd, rest, left, at);
      if (r < 0 && op->kind == OpKind::kWrite)
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
      if (op->kind == OpKind::kRead) {  // end of the backing file: the rest is a hole
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

// Only on tmpfs/ramfs: there a client's pwrite into the file is the one
// memory copy the server would otherwise make after copying the payload
// out of the client (measured: two copies held 1 MiB transfers to 0.4x of
// tmpfs).  On a device the server keeps the I/O (io_uring, its queue).
int UringChunkStore::backing_file(uint64_t id, bool create, int* fd, uint64_t* dev,
                                  uint64_t* ino) {
  if (!offers_backing_files()) return EOPNOTSUPP;
  int err = 0;
  auto f = file(id, create, &err);
  if (!f) return create ? err : ENOENT;
  return name_backing_file(f->fd, fd, dev, ino);
}

int UringChunkStore::capacity(uint64_t* total, uint64_t* free) const {
  struct statvfs vfs;
  if (::statvfs(dir_.c_str(), &vfs) != 0) return errno;
  *total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  *free = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  return 0;
}

void UringChunkStore::destroy(bool keep) {
  while (in_flight_ > 0) {
    io_uring_submit_and_wait(&ring_, 1);
    poll();
  }
  files_.clear();
  if (!keep && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

}  // namespace benchfs
