#include "common/striping.h"

namespace benchfs {

std::vector<ChunkPiece> split_into_chunks(uint64_t offset, uint64_t length, uint64_t chunk_size) {
  std::vector<ChunkPiece> pieces;
  if (length == 0) return pieces;
  pieces.reserve(length / chunk_size + 2);
  uint64_t done = 0;
  while (done < length) {
    uint64_t pos = offset + done;
    uint64_t index = pos / chunk_size;
    uint64_t in_chunk = pos % chunk_size;
    uint64_t n = chunk_size - in_chunk;
    if (n > length - done) n = length - done;
    pieces.push_back({index, pos, n, done});
    done += n;
  }
  return pieces;
}

uint64_t local_end(uint64_t size, uint64_t first, uint64_t chunk_size, int nservers) {
  uint64_t n = static_cast<uint64_t>(nservers);
  uint64_t index = size / chunk_size;
  // Chunks held here below `index`: first, first + n, ... < index.
  uint64_t below = index > first ? (index - first + n - 1) / n : 0;
  bool holds_index = index % n == first;
  return below * chunk_size + (holds_index ? size % chunk_size : 0);
}

}  // namespace benchfs
