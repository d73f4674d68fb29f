// Chunk store in RAM: per file id, one anonymous memory file (memfd) that
// holds the chunks this server stores at their global offsets, as the
// uring backend's sparse backing files do on a tmpfs.
//
// Memory files rather than heap buffers so that clients on this host can
// copy chunk bytes in and out themselves (ChunkStore::backing_file, see
// DirectIo::file): a peer may write into a file without racing its
// release, which a heap chunk freed meanwhile would not allow.  A file the
// server drops is emptied and sealed (F_SEAL_SEAL): a client still holding
// a duplicate of its descriptor sees the seal and asks for the current one.
#pragma once

#include <map>
#include <unordered_map>

#include "store/chunk_store.h"

namespace benchfs {

class MemoryChunkStore final : public ChunkStore {
 public:
  // With `limit` > 0, stores at most `limit` bytes (writes beyond fail with
  // ENOSPC) and serves every byte itself: a peer copying into a file could
  // not be held to the limit.  With 0, the bound is the machine's RAM and
  // same-host clients copy directly (offers_backing_files()).
  MemoryChunkStore(uint64_t chunk_size, uint64_t limit);
  ~MemoryChunkStore() override;

  void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) override;
  void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) override;
  void truncate(uint64_t file_id, uint64_t size, Done done) override;
  void remove(uint64_t file_id, Done done) override;
  void fsync(uint64_t file_id, Done done) override;
  int backing_file(uint64_t file_id, bool create, int* fd, uint64_t* dev, uint64_t* ino) override;
  bool offers_backing_files() const override { return limit_ == 0; }
  unsigned poll() override { return 0; }
  int event_fd() const override { return -1; }
  bool busy() const override { return false; }
  size_t file_count() const override { return files_.size(); }
  void destroy(bool keep) override;
  int capacity(uint64_t* total, uint64_t* free) const override;
  // Bytes this server stored itself: per chunk, up to its highest written
  // byte (what the limit counts).
  uint64_t used() const { return used_; }

 private:
  struct File {
    int fd = -1;
    std::map<uint64_t, uint64_t> chunk_sizes;  // chunk index -> highest byte written + 1
  };
  // The file of an id; created if `create`, else null when absent.
  File* file(uint64_t file_id, bool create, int* err);
  // Empties, seals and closes a file's memory file.
  static void retire(File& f);

  uint64_t chunk_size_;
  uint64_t limit_;
  uint64_t used_ = 0;  // sum of chunk_sizes over all files
  std::unordered_map<uint64_t, File> files_;
};

}  // namespace benchfs
