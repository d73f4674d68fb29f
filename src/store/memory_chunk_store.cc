#include "store/memory_chunk_store.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace benchfs {

MemoryChunkStore::MemoryChunkStore(uint64_t chunk_size, uint64_t limit, int nservers, int rank)
    : limit_(limit) {
  bool direct = limit == 0;
  int small = ::memfd_create("benchfs-small", MFD_CLOEXEC);
  std::vector<int> large;
  for (unsigned i = 0; small >= 0 && i < kLargeFiles; ++i) {
    int fd = ::memfd_create("benchfs-large", MFD_CLOEXEC);
    if (fd < 0) break;
    large.push_back(fd);
  }
  if (large.size() < kLargeFiles) {
    error_ = errno;
    for (int fd : large) ::close(fd);
    if (small >= 0) ::close(small);
    small = -1;
    large.assign(kLargeFiles, -1);
  }
  // A memory file may be 2^63 bytes long; its holes cost nothing.
  set_arenas(small, large, layout_for(chunk_size, nservers, rank, direct, uint64_t{1} << 60),
             direct, limit);
}

MemoryChunkStore::~MemoryChunkStore() { destroy(false); }

void MemoryChunkStore::destroy(bool) { close_arenas(); }

int MemoryChunkStore::capacity(uint64_t* total, uint64_t* free) const {
  if (limit_) {
    *total = limit_;
    *free = limit_ > used() ? limit_ - used() : 0;
    return 0;
  }
  // Clients on this host write into the large arena too: count what the
  // memory files hold, not what this server wrote.
  *total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t held = 0;
  for (int fd : arena_fds()) {
    struct stat st;
    if (fd >= 0 && ::fstat(fd, &st) == 0) held += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  *free = *total > held ? *total - held : 0;
  return 0;
}

StoragePool MemoryChunkStore::storage_pool() const {
  if (limit_) return StoragePool{};
  static const uint64_t ram = storage_pool_key("ram");
  return StoragePool{ram, false};
}

}  // namespace benchfs
