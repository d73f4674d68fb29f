// Splitting a byte range of a file into per-chunk pieces.
#pragma once

#include <cstdint>
#include <vector>

namespace benchfs {

struct ChunkPiece {
  uint64_t index;         // chunk number in the file
  uint64_t file_offset;   // where the piece starts in the file
  uint64_t length;        // bytes of the piece (never crosses a chunk boundary)
  uint64_t buffer_offset; // where the piece starts in the caller's buffer
};

// Pieces covering [offset, offset + length), in file order.
std::vector<ChunkPiece> split_into_chunks(uint64_t offset, uint64_t length, uint64_t chunk_size);

// Number of chunks a file of `size` bytes spans.
inline uint64_t chunk_count(uint64_t size, uint64_t chunk_size) {
  return (size + chunk_size - 1) / chunk_size;
}

// A server holds chunks first, first + n, first + 2n, ... of a file (first
// < n, see first_chunk_on) and keeps them packed one after the other: the
// local offset of a byte of a chunk it holds.
inline uint64_t local_offset(uint64_t offset, uint64_t chunk_size, int nservers) {
  return offset / chunk_size / static_cast<uint64_t>(nservers) * chunk_size + offset % chunk_size;
}

// The bytes below `size` that the server holding chunk `first` stores are
// exactly the local range [0, local_end(...)).
uint64_t local_end(uint64_t size, uint64_t first, uint64_t chunk_size, int nservers);

// While a file's bytes on a server lie below this local offset, they are a
// small file there: packed with others, served by requests only (see
// store/packed_files.h).
inline uint64_t small_file_bytes(uint64_t chunk_size) {
  return chunk_size < (64 << 10) ? chunk_size : 64 << 10;
}

}  // namespace benchfs
