#include "store/memory_chunk_store.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "common/striping.h"

namespace benchfs {

void MemoryChunkStore::write(uint64_t id, uint64_t offset, const void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  auto pieces = split_into_chunks(offset, len, chunk_size_);
  // Room first, so a refused write changes nothing: a chunk grows to its
  // highest written byte.
  uint64_t growth = 0;
  auto f = files_.find(id);
  for (const ChunkPiece& p : pieces) {
    uint64_t end = p.file_offset % chunk_size_ + p.length, have = 0;
    if (f != files_.end()) {
      auto c = f->second.find(p.index);
      if (c != f->second.end()) have = c->second.size();
    }
    if (end > have) growth += end - have;
  }
  if (used_ + growth > limit_) return done(-ENOSPC);
  try {
    Chunks& chunks = files_[id];
    for (const ChunkPiece& p : pieces) {
      uint64_t in_chunk = p.file_offset % chunk_size_;
      std::vector<char>& chunk = chunks[p.index];
      if (chunk.size() < in_chunk + p.length) {
        used_ += in_chunk + p.length - chunk.size();
        chunk.resize(in_chunk + p.length);
      }
      std::memcpy(chunk.data() + in_chunk, static_cast<const char*>(buf) + p.buffer_offset,
                  p.length);
    }
  } catch (const std::bad_alloc&) {
    done(-ENOSPC);
    return;
  }
  done(static_cast<int64_t>(len));
}

void MemoryChunkStore::read(uint64_t id, uint64_t offset, void* buf, size_t len, Done done) {
  char* out = static_cast<char*>(buf);
  std::memset(out, 0, len);
  auto f = files_.find(id);
  if (f != files_.end()) {
    for (const ChunkPiece& p : split_into_chunks(offset, len, chunk_size_)) {
      uint64_t in_chunk = p.file_offset % chunk_size_;
      auto c = f->second.find(p.index);
      if (c != f->second.end() && c->second.size() > in_chunk) {
        size_t avail = std::min<size_t>(p.length, c->second.size() - in_chunk);
        std::memcpy(out + p.buffer_offset, c->second.data() + in_chunk, avail);
      }
    }
  }
  done(static_cast<int64_t>(len));
}

void MemoryChunkStore::truncate(uint64_t id, uint64_t size, Done done) {
  auto f = files_.find(id);
  if (f != files_.end()) {
    Chunks& chunks = f->second;
    uint64_t first_dropped = (size + chunk_size_ - 1) / chunk_size_;
    for (auto c = chunks.lower_bound(first_dropped); c != chunks.end();) {
      used_ -= c->second.size();
      c = chunks.erase(c);
    }
    if (size % chunk_size_) {
      auto c = chunks.find(size / chunk_size_);
      if (c != chunks.end() && c->second.size() > size % chunk_size_) {
        used_ -= c->second.size() - size % chunk_size_;
        c->second.resize(size % chunk_size_);
        c->second.shrink_to_fit();
      }
    }
    if (chunks.empty()) files_.erase(f);
  }
  done(0);
}

void MemoryChunkStore::remove(uint64_t id, Done done) {
  auto f = files_.find(id);
  if (f != files_.end()) {
    for (auto& [index, chunk] : f->second) used_ -= chunk.size();
    files_.erase(f);
  }
  done(0);
}

void MemoryChunkStore::fsync(uint64_t, Done done) { done(0); }

}  // namespace benchfs
