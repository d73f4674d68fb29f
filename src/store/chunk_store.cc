#include "store/chunk_store.h"

#include <cerrno>
#include <cstring>

#include "common/config.h"
#include "common/log.h"
#include "store/job_directories.h"
#include "store/memory_chunk_store.h"
#include "store/uring_chunk_store.h"

namespace benchfs {

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
