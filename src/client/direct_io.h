// Same-host direct I/O.  A server on this host whose large arena is made of
// tmpfs files or memory files (Runtime::offers_backing_files) tells a
// client where a file's extent lies in it (kOpenData); the client takes a
// duplicate of that arena file's descriptor (pidfd_getfd), once, and
// copies bytes into and out of the extent with pwrite/pread, with no
// request and no copy through the server.  Everything about it on the
// client side lives here; the transport side is rpc/same_host.h, the
// server side store/packed_files.h.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/runtime.h"

namespace benchfs {

// One open file's extents in the large arenas of servers on this host.
struct DirectFiles {
  struct Extent {
    uint64_t local_start;  // local offset (striping.h) of the extent's first byte
    int fd;                // the arena file holding it, opened here
    uint64_t address;      // that byte's place in it
    uint64_t length;
    bool holds(uint64_t local) const { return local >= local_start && local - local_start < length; }
  };
  std::mutex mutex;
  std::unordered_map<int, std::vector<Extent>> by_rank;

  bool any() {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [rank, extents] : by_rank)
      if (!extents.empty()) return true;
    return false;
  }
};

class DirectIo {
 public:
  // `enabled`: BENCHFS_DIRECT and a store that offers direct extents.
  DirectIo(Runtime& runtime, bool enabled, uint64_t chunk_size);
  ~DirectIo();

  // Where this process may itself copy the `len` bytes at `offset` of file
  // `id`, a piece of one chunk that server `rank` holds: true with the
  // server's arena opened here (*fd) and the piece's place in it
  // (*address); false: send a request.  A piece of a file that is small on
  // that server is sent as a request (one request either way, and the
  // server keeps small files packed); `create` (a write) makes the server
  // allocate the extent.  Extents are cached in *files.
  bool locate(DirectFiles& files, uint64_t id, int rank, uint64_t offset, uint64_t len,
              bool create, int* fd, uint64_t* address);
  // Frees the bytes of every extent in *files and forgets them: for a file
  // that was removed while this fd could still copy into its extents,
  // which no server reads or frees again (their addresses are never given
  // to another file, see locate).
  void discard(DirectFiles& files);

 private:
  // A large arena file of server `rank` opened here, duplicated from the
  // descriptor its reply names; -1 if it cannot be (or is over budget).
  int arena_fd(int rank, uint32_t remote_fd, uint64_t dev, uint64_t ino);

  Runtime& runtime_;
  bool enabled_;
  uint64_t chunk_size_;
  std::mutex mutex_;
  std::map<std::pair<int, uint32_t>, int> arenas_;  // (rank, its fd) -> fd here
  std::unordered_set<int> refused_;                // ranks that offer none
  // The most descriptors arenas_ may hold: a quarter of RLIMIT_NOFILE (the
  // rest is the application's); each same-host server has a few.
  size_t max_held_;
};

}  // namespace benchfs
