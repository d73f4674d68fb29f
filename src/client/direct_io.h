// Same-host direct I/O.  A server on this host that keeps a file's chunks in
// a tmpfs file or a memory file (Runtime::offers_backing_files) hands its
// descriptor's number to a client (kOpenData); the client takes a duplicate
// of it (pidfd_getfd) and copies bytes into and out of it with pwrite/pread,
// with no request and no copy through the server.  Everything about it on
// the client side lives here; the transport side is rpc/same_host.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "engine/runtime.h"

namespace benchfs {

// A server's backing file, opened in this process.
struct DirectFile {
  int fd = -1;
  bool memfd = false;  // a memory file (memory backend), not a tmpfs file
  // False once the server removed the file (then ask for the current one).
  bool live() const;
  std::shared_ptr<std::atomic<int>> held;  // the client's count of such fds
  ~DirectFile();
};

// One open file's direct files, by server rank: null where that server
// offers none (then requests go to it).
struct DirectFiles {
  std::mutex mutex;
  std::unordered_map<int, std::shared_ptr<DirectFile>> by_rank;
};

class DirectIo {
 public:
  // `enabled`: BENCHFS_DIRECT and a store that offers backing files.
  DirectIo(Runtime& runtime, bool enabled);

  // The backing file that server `rank` keeps for file `id`, opened in this
  // process, when that server is on this host and offers it; else null
  // (send requests instead).  Created there if `create`.  Cached in *files.
  std::shared_ptr<DirectFile> file(DirectFiles& files, uint64_t id, int rank, bool create);

 private:
  Runtime& runtime_;
  bool enabled_;
  // Descriptors direct I/O holds in this process, and the most it may: a
  // quarter of RLIMIT_NOFILE, the rest is the application's.
  std::shared_ptr<std::atomic<int>> held_ = std::make_shared<std::atomic<int>>(0);
  int max_held_;
};

}  // namespace benchfs
