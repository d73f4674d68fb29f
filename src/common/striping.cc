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

}  // namespace benchfs
