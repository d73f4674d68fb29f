// Chunk store in RAM: per file, a map from chunk index to the chunk's bytes.
#pragma once

#include <map>
#include <memory>
#include <unordered_map>

#include "store/chunk_store.h"

namespace benchfs {

class MemoryChunkStore final : public ChunkStore {
 public:
  // Stores at most `limit` bytes; writes beyond fail with ENOSPC.
  MemoryChunkStore(uint64_t chunk_size, uint64_t limit) : chunk_size_(chunk_size), limit_(limit) {}

  void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) override;
  void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) override;
  void truncate(uint64_t file_id, uint64_t size, Done done) override;
  void remove(uint64_t file_id, Done done) override;
  void fsync(uint64_t file_id, Done done) override;
  unsigned poll() override { return 0; }
  int event_fd() const override { return -1; }
  bool busy() const override { return false; }
  size_t file_count() const override { return files_.size(); }
  void destroy(bool) override {
    files_.clear();
    used_ = 0;
  }
  int capacity(uint64_t* total, uint64_t* free) const override {
    *total = limit_;
    *free = limit_ > used_ ? limit_ - used_ : 0;
    return 0;
  }
  uint64_t used() const { return used_; }

 private:
  // A chunk reserves chunk_size bytes of address space but holds (and
  // touches, so the kernel backs with RAM) only those up to the highest one
  // written: no zero-filling of what a write then overwrites, no copying
  // as it grows (a std::vector did both: two passes per write, up to twice
  // the stored bytes resident for a chunk filled in small records).
  struct Chunk {
    std::unique_ptr<char[]> bytes;
    uint64_t size = 0;
  };
  using Chunks = std::map<uint64_t, Chunk>;
  // Gives the pages of a chunk past its size back to the kernel.
  void release_tail(Chunk& chunk) const;
  // Makes the kernel back the chunk's pages from its size up to `end`.
  void populate(Chunk& chunk, uint64_t end) const;
  void advise(Chunk& chunk, uint64_t from, uint64_t to, int advice) const;
  uint64_t chunk_size_;
  uint64_t limit_;
  uint64_t used_ = 0;  // sum of the chunks' sizes
  std::unordered_map<uint64_t, Chunks> files_;
};

}  // namespace benchfs
