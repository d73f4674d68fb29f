// Chunk store on a local directory, all data I/O through io_uring.
//
// One sparse backing file per file id ("<dir>/<id in hex>") holds the chunks
// this server stores at their global offsets: no per-chunk files, truncate is
// ftruncate, holes read as zeros.  Reads, writes and fsyncs started by the
// owner thread (the progress thread) are io_uring submissions completed in
// poll(); on any other thread they run in place, and on tmpfs or ramfs
// (BENCHFS_URING_INLINE, see write()) reads and writes do too.  open, unlink
// and ftruncate are synchronous calls (liburing 2.3 has no ftruncate op).
#pragma once

#include <liburing.h>

#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "store/chunk_store.h"

namespace benchfs {

class UringChunkStore final : public ChunkStore {
 public:
  ~UringChunkStore() override;

  // Creates `directory` (must not exist) and the ring.  With
  // `inline_on_ram`, reads and writes on a tmpfs or ramfs directory are
  // plain pread/pwrite (io_uring hands each to a kernel worker there).
  // 0 or an errno.
  int open(const std::string& directory, unsigned queue_depth, bool inline_on_ram = true);

  void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) override;
  void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) override;
  void truncate(uint64_t file_id, uint64_t size, Done done) override;
  void remove(uint64_t file_id, Done done) override;
  void fsync(uint64_t file_id, Done done) override;
  unsigned poll() override;
  int event_fd() const override { return event_fd_; }
  bool busy() const override { return in_flight_ > 0; }
  size_t file_count() const override { return files_.size(); }
  void destroy(bool keep) override;
  int capacity(uint64_t* total, uint64_t* free) const override;
  int backing_file(uint64_t file_id, bool create, int* fd, uint64_t* dev, uint64_t* ino) override;
  bool offers_backing_files() const override { return inline_; }
  void set_owner_thread() override { owner_ = std::this_thread::get_id(); }

 private:
  struct BackingFile {
    int fd = -1;
    ~BackingFile();
  };
  struct Op;

  std::string path_of(uint64_t file_id) const;
  // The backing file of an id; created if `create`, else null when absent.
  std::shared_ptr<BackingFile> file(uint64_t file_id, bool create, int* err);
  void submit(Op* op);

  std::string dir_;
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
  bool in_place() const { return inline_ || !on_owner_thread(); }
  std::unordered_map<uint64_t, std::shared_ptr<BackingFile>> files_;
};

}  // namespace benchfs
