#include "store/memory_chunk_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/file_io.h"
#include "common/striping.h"

namespace benchfs {

MemoryChunkStore::MemoryChunkStore(uint64_t chunk_size, uint64_t limit)
    : chunk_size_(chunk_size), limit_(limit) {}

MemoryChunkStore::~MemoryChunkStore() { destroy(false); }

MemoryChunkStore::File* MemoryChunkStore::file(uint64_t id, bool create, int* err) {
  auto it = files_.find(id);
  if (it != files_.end()) return &it->second;
  if (!create) return nullptr;
  char name[32];
  std::snprintf(name, sizeof name, "benchfs-%016" PRIx64, id);
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    *err = store_file_error(errno);
    return nullptr;
  }
  File& f = files_[id];
  f.fd = fd;
  return &f;
}

void MemoryChunkStore::retire(File& f) {
  if (f.fd < 0) return;
  // The memory goes back now, not when the last client holding a duplicate
  // descriptor looks again; the seal tells that client the file is gone.
  (void)!::ftruncate(f.fd, 0);
  (void)!::fcntl(f.fd, F_ADD_SEALS, F_SEAL_SEAL);
  ::close(f.fd);
  f.fd = -1;
}

void MemoryChunkStore::write(uint64_t id, uint64_t offset, const void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  auto pieces = split_into_chunks(offset, len, chunk_size_);
  // Room first, so a refused write changes nothing: a chunk counts up to
  // its highest written byte.
  File* f = file(id, false, nullptr);
  uint64_t growth = 0;
  for (const ChunkPiece& p : pieces) {
    uint64_t end = p.file_offset % chunk_size_ + p.length, have = 0;
    if (f) {
      auto c = f->chunk_sizes.find(p.index);
      if (c != f->chunk_sizes.end()) have = c->second;
    }
    if (end > have) growth += end - have;
  }
  if (limit_ && used_ + growth > limit_) return done(-ENOSPC);
  int err = 0;
  if (!f && !(f = file(id, true, &err))) return done(-err);
  int64_t stored = pwrite_full(f->fd, static_cast<const char*>(buf), len, offset);
  if (stored < 0) return done(stored == -ENOMEM ? -ENOSPC : stored);
  // Count what was stored (all of it unless the memory ran out part way).
  for (const ChunkPiece& p : pieces) {
    if (p.buffer_offset >= static_cast<uint64_t>(stored)) break;
    uint64_t end = p.file_offset % chunk_size_ +
                   std::min<uint64_t>(p.length, static_cast<uint64_t>(stored) - p.buffer_offset);
    uint64_t& have = f->chunk_sizes[p.index];
    if (end > have) {
      used_ += end - have;
      have = end;
    }
  }
  done(stored);
}

void MemoryChunkStore::read(uint64_t id, uint64_t offset, void* buf, size_t len, Done done) {
  File* f = file(id, false, nullptr);
  if (!f) {  // this server never stored a byte of the file: a hole
    std::memset(buf, 0, len);
    return done(static_cast<int64_t>(len));
  }
  done(pread_full(f->fd, static_cast<char*>(buf), len, offset));
}

void MemoryChunkStore::truncate(uint64_t id, uint64_t size, Done done) {
  File* f = file(id, false, nullptr);
  if (!f) return done(0);
  struct stat st;
  if (::fstat(f->fd, &st) != 0) return done(-errno);
  // Never grows the memory file: past its end everything reads as zeros.
  if (static_cast<uint64_t>(st.st_size) > size && ::ftruncate(f->fd, static_cast<off_t>(size)) != 0)
    return done(-errno);
  auto& chunks = f->chunk_sizes;
  for (auto c = chunks.lower_bound((size + chunk_size_ - 1) / chunk_size_); c != chunks.end();) {
    used_ -= c->second;
    c = chunks.erase(c);
  }
  if (size % chunk_size_) {
    auto c = chunks.find(size / chunk_size_);
    if (c != chunks.end() && c->second > size % chunk_size_) {
      used_ -= c->second - size % chunk_size_;
      c->second = size % chunk_size_;
    }
  }
  done(0);
}

void MemoryChunkStore::remove(uint64_t id, Done done) {
  auto it = files_.find(id);
  if (it != files_.end()) {
    for (const auto& [index, size] : it->second.chunk_sizes) used_ -= size;
    retire(it->second);
    files_.erase(it);
  }
  done(0);
}

void MemoryChunkStore::fsync(uint64_t, Done done) { done(0); }

int MemoryChunkStore::backing_file(uint64_t id, bool create, int* fd, uint64_t* dev,
                                   uint64_t* ino) {
  if (!offers_backing_files()) return EOPNOTSUPP;
  int err = 0;
  File* f = file(id, create, &err);
  if (!f) return create ? err : ENOENT;
  return name_backing_file(f->fd, fd, dev, ino);
}

int MemoryChunkStore::capacity(uint64_t* total, uint64_t* free) const {
  if (limit_) {
    *total = limit_;
    *free = limit_ > used_ ? limit_ - used_ : 0;
    return 0;
  }
  // Clients on this host write into the files too: count what the memory
  // files hold, not what this server wrote.
  *total = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t held = 0;
  for (const auto& [id, f] : files_) {
    struct stat st;
    if (::fstat(f.fd, &st) == 0) held += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  *free = *total > held ? *total - held : 0;
  return 0;
}

void MemoryChunkStore::destroy(bool) {
  for (auto& [id, f] : files_) retire(f);
  files_.clear();
  used_ = 0;
}

}  // namespace benchfs
