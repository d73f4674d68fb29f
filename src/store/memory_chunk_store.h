// Chunk store in RAM: the two arenas (store/arena_chunk_store.h) are
// anonymous memory files (memfd), read and written in place.
//
// Memory files rather than heap buffers so that clients on this host can
// copy chunk bytes in and out of the large arena themselves
// (ChunkStore::direct_extent, client/direct_io.h).
#pragma once

#include "store/arena_chunk_store.h"

namespace benchfs {

class MemoryChunkStore final : public ArenaChunkStore {
 public:
  // With `limit` > 0, stores at most `limit` bytes (writes beyond fail with
  // ENOSPC) and serves every byte itself: a peer copying into an arena
  // could not be held to the limit.  With 0, the bound is the machine's
  // RAM and same-host clients copy directly (offers_backing_files()).
  // Files are split in `chunk_size` chunks over `nservers`; this is `rank`.
  MemoryChunkStore(uint64_t chunk_size, uint64_t limit, int nservers = 1, int rank = 0);
  ~MemoryChunkStore() override;

  // 0, or the errno with which the memory files could not be made.
  int error() const { return error_; }

  unsigned poll() override { return 0; }
  int event_fd() const override { return -1; }
  bool busy() const override { return false; }
  void destroy(bool keep) override;
  int capacity(uint64_t* total, uint64_t* free) const override;
  // With a limit, this rank's own; else the host's RAM, used per rank.
  StoragePool storage_pool() const override;

 private:
  uint64_t limit_;
  int error_ = 0;
};

}  // namespace benchfs
