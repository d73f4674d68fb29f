#include "store/chunk_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/config.h"
#include "common/log.h"
#include "common/placement.h"
#include "store/job_directories.h"
#include "store/memory_chunk_store.h"
#include "store/uring_chunk_store.h"

namespace benchfs {

uint64_t storage_pool_key(const std::string& what) {
  // One boot id per running kernel; without it (no /proc) the host name.
  static const std::string kernel = [] {
    std::string id;
    std::ifstream("/proc/sys/kernel/random/boot_id") >> id;
    if (!id.empty()) return id;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return std::string(host);
  }();
  return hash64(kernel + "\n" + what) | 1;  // never 0, which means "not shared"
}

std::unique_ptr<ChunkStore> make_chunk_store(const Config& config, int rank, int nranks,
                                             const std::string& job_tag, std::string* error) {
  if (config.backend == "memory") {
    auto store = std::make_unique<MemoryChunkStore>(config.chunk_size, config.memory_limit,
                                                    nranks, rank);
    if (int err = store->error()) {
      *error = std::string("cannot make the memory chunk store: ") + std::strerror(err);
      return nullptr;
    }
    return store;
  }
  auto store = std::make_unique<UringChunkStore>();
  std::string dir = job_directory(config.dir, job_tag) + "/rank" + std::to_string(rank);
  int err = store->open(dir, 256, config.uring_inline, config.chunk_size, nranks, rank);
  if (err) {
    *error = "cannot open the uring chunk store in " + dir + ": " + std::strerror(err);
    return nullptr;
  }
  return store;
}

}  // namespace benchfs
