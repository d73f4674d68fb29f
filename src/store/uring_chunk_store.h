// Chunk store on a local directory: the two arenas
// (store/arena_chunk_store.h) are the files "small" and "large" in it, all
// data I/O through io_uring.
//
// Reads, writes and fsyncs started by the owner thread (the progress
// thread) are io_uring submissions completed in poll(); on any other thread
// they run in place, and on tmpfs or ramfs (BENCHFS_URING_INLINE, see
// start_io()) reads and writes do too.  Punching removed bytes out
// (fallocate) and moving a small file's at most 64 KiB to the large arena
// are synchronous; no file is opened, created or unlinked after open().
#pragma once

#include <liburing.h>

#include <string>
#include <thread>

#include "store/arena_chunk_store.h"

namespace benchfs {

class UringChunkStore final : public ArenaChunkStore {
 public:
  ~UringChunkStore() override;

  // Creates `directory` (must not exist), its arenas and the ring.  With
  // `inline_on_ram`, reads and writes on a tmpfs or ramfs directory are
  // plain pread/pwrite (io_uring hands each to a kernel worker there).
  // Files are split in `chunk_size` chunks over `nservers`; this is `rank`.
  // 0 or an errno.
  int open(const std::string& directory, unsigned queue_depth, bool inline_on_ram = true,
           uint64_t chunk_size = 1 << 20, int nservers = 1, int rank = 0);

  unsigned poll() override;
  int event_fd() const override { return event_fd_; }
  bool busy() const override { return in_flight_ > 0; }
  void destroy(bool keep) override;
  int capacity(uint64_t* total, uint64_t* free) const override;
  // The file system of the backing directory, on this kernel.
  StoragePool storage_pool() const override { return pool_; }
  void set_owner_thread() override { owner_ = std::this_thread::get_id(); }

 protected:
  void start_io(IoKind kind, int fd, char* buf, size_t len, uint64_t address, Done done) override;
  bool completes_in_place(IoKind kind) const override;

 private:
  struct Op;
  void submit(Op* op);
  void drain();

  std::string dir_;
  StoragePool pool_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int event_fd_ = -1;
  unsigned in_flight_ = 0;
  unsigned unsubmitted_ = 0;
  bool inline_ = false;  // tmpfs/ramfs: pread/pwrite in place of io_uring
  // The only thread that enters the ring (io_uring_submit).  The kernel
  // cancels a task's pending io_uring work when that task exits (seen as
  // writes failing with ECANCELED after an application thread that had
  // driven the worker returned); other threads do their I/O in place.
  std::thread::id owner_;
  bool on_owner_thread() const { return std::this_thread::get_id() == owner_; }
};

}  // namespace benchfs
