// What the client needs of its rank's runtime, and nothing more: calls in,
// replies out, and the few facts same-host direct I/O asks for.  Engine
// implements it over UCX; a unit test implements it over in-process servers
// (tests/unit/client_test.cc), as LevelDB's Env lets its tests run without
// a disk.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/call.h"

namespace benchfs {

class Runtime {
 public:
  virtual ~Runtime() = default;

  // This rank and the number of ranks (servers) of the job.
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Runs the calls, at most `window` in flight, and returns when every one
  // has its reply (or error, in Call::status).  Any application thread.
  virtual void execute(Call* calls, size_t n, size_t window) = 0;

  // Same-host direct I/O (client/direct_io.h).  Whether this rank's store
  // keeps backing files a same-host client may open itself (a job's ranks
  // share their store settings, so a peer's store does as well).
  virtual bool offers_backing_files() const = 0;
  // Whether server `rank` runs on this host and its memory may be reached.
  virtual bool same_host(int rank) const = 0;
  // A duplicate of descriptor `fd` of same-host server `rank`'s process, or
  // -1 with errno set.
  virtual int take_peer_fd(int rank, int fd) const = 0;
  // Counts a copy a client thread made into or out of a same-host server's
  // backing file.  Any thread.
  virtual void count_direct(uint64_t bytes) = 0;
};

}  // namespace benchfs
