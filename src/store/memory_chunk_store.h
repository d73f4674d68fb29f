// Chunk store in RAM: per file, a map from chunk index to the chunk's bytes.
#pragma once

#include <map>
#include <unordered_map>
#include <vector>

#include "store/chunk_store.h"

namespace benchfs {

class MemoryChunkStore final : public ChunkStore {
 public:
  explicit MemoryChunkStore(uint64_t chunk_size) : chunk_size_(chunk_size) {}

  void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) override;
  void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) override;
  void truncate(uint64_t file_id, uint64_t size, Done done) override;
  void remove(uint64_t file_id, Done done) override;
  void fsync(uint64_t file_id, Done done) override;
  unsigned poll() override { return 0; }
  int event_fd() const override { return -1; }
  bool busy() const override { return false; }
  size_t file_count() const override { return files_.size(); }
  void destroy(bool) override { files_.clear(); }

 private:
  // A chunk's vector holds bytes up to the highest one written in it.
  using Chunks = std::map<uint64_t, std::vector<char>>;
  uint64_t chunk_size_;
  std::unordered_map<uint64_t, Chunks> files_;
};

}  // namespace benchfs
