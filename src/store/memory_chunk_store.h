// Chunk store in RAM: per file, a map from chunk index to the chunk's bytes.
#pragma once

#include <map>
#include <unordered_map>
#include <vector>

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
  // A chunk's vector holds bytes up to the highest one written in it.
  using Chunks = std::map<uint64_t, std::vector<char>>;
  uint64_t chunk_size_;
  uint64_t limit_;
  uint64_t used_ = 0;  // bytes held in chunk vectors
  std::unordered_map<uint64_t, Chunks> files_;
};

}  // namespace benchfs
