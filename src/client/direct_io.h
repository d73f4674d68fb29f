// Same-host direct I/O.  A server on this host whose large arena is a tmpfs
// file or a memory file (Runtime::offers_backing_files) tells a client
// where a file's extent lies in it (kOpenData); the client takes a
// duplicate of the arena's descriptor (pidfd_getfd), once per server, and
// copies bytes into and out of the extent with pwrite/pread, with no
// request and no copy through the server.  Everything about it on the
// client side lives here; the transport side is rpc/same_host.h, the
// server side store/packed_files.h.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/runtime.h"

namespace benchfs {

// One open file's extents in the large arenas of servers on this host.
struct DirectFiles {
  struct Extent {
    uint64_t local_start;  // local offset (striping.h) of the extent's first byte
    uint64_t address;      // that byte's place in the server's large arena
    uint64_t length;
  };
  std::mutex mutex;
  std::unordered_map<int, std::vector<Extent>> by_rank;
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

 private:
  // The large arena of server `rank` opened here (-1: it offers none, or
  // not to this process), duplicated from the descriptor its reply names.
  int arena_fd(int rank, uint32_t remote_fd, uint64_t dev, uint64_t ino);

  Runtime& runtime_;
  bool enabled_;
  uint64_t chunk_size_;
  std::mutex mutex_;
  std::unordered_map<int, int> arenas_;  // rank -> fd here, -1 for none
};

}  // namespace benchfs
