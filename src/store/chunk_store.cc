#include "store/chunk_store.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/config.h"
#include "common/log.h"
#include "store/memory_chunk_store.h"
#include "store/uring_chunk_store.h"

namespace benchfs {

int store_file_error(int err) {
  if (err != EMFILE && err != ENFILE) return err;
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true))
    log().warn("chunk store full: no descriptor for another file ({}); each file with bytes on "
               "a server holds one, raise the hard RLIMIT_NOFILE (ulimit -Hn) for more",
               std::strerror(err));
  return ENOSPC;
}

int name_backing_file(int file, int* fd, uint64_t* dev, uint64_t* ino) {
  struct stat st;
  if (::fstat(file, &st) != 0) return errno;
  *fd = file;
  *dev = static_cast<uint64_t>(st.st_dev);
  *ino = static_cast<uint64_t>(st.st_ino);
  return 0;
}

std::string job_directory(const Config& config, const std::string& job_tag) {
  return config.dir + "/benchfs-" + job_tag;
}

std::unique_ptr<ChunkStore> make_chunk_store(const Config& config, int rank,
                                             const std::string& job_tag, std::string* error) {
  if (config.backend == "memory")
    return std::make_unique<MemoryChunkStore>(config.chunk_size, config.memory_limit);
  auto store = std::make_unique<UringChunkStore>();
  std::string dir = job_directory(config, job_tag) + "/rank" + std::to_string(rank);
  int err = store->open(dir, 256, config.uring_inline);
  if (err) {
    *error = "cannot open the uring chunk store in " + dir + ": " + std::strerror(err);
    return nullptr;
  }
  return store;
}

}  // namespace benchfs
