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

}  // namespace benchfs
