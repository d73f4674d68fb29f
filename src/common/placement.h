// Where things live: metadata by hash(path), chunks from the file's id.
#pragma once

#include <cstdint>
#include <string_view>

namespace benchfs {

// 64-bit FNV-1a followed by the murmur3 finalizer, so that similar paths
// ("/out/file.0", "/out/file.1") spread evenly (a weak hash skewed the Rust
// BenchFS onto 2 of 16 servers).
uint64_t hash64(std::string_view bytes);
uint64_t mix64(uint64_t x);

// Rank that owns the metadata of a normalised path.
inline int metadata_owner(std::string_view path, int nservers) {
  return static_cast<int>(hash64(path) % static_cast<uint64_t>(nservers));
}

// A file id names the rank that made it (the metadata owner of the path at
// its creation) in its bits from kIdRankShift up, and a serial number of
// that rank below.
inline constexpr unsigned kIdRankShift = 40;
inline uint64_t make_file_id(int rank, uint64_t serial) {
  return (static_cast<uint64_t>(rank) << kIdRankShift) | serial;
}

// Rank that stores chunk `index` of the file with the given id: chunk 0 on
// the rank that made the id, then round robin, so consecutive chunks of one
// file go to different servers and every file's chunks spread over all of
// them.  Chunk 0 sits with the metadata (as Lustre's Data-on-MDT): a small
// file's create, write, size update and read all go to one server, and
// the spread is that of hash(path).  The id (not the path) decides, so a
// rename does not move data.
inline int chunk_owner(uint64_t file_id, uint64_t index, int nservers) {
  uint64_t n = static_cast<uint64_t>(nservers);
  return static_cast<int>(((file_id >> kIdRankShift) % n + index % n) % n);
}

// First chunk index of the file that lives on `rank` (the rank holds chunks
// first, first + n, first + 2n, ...).
inline uint64_t first_chunk_on(uint64_t file_id, int rank, int nservers) {
  uint64_t n = static_cast<uint64_t>(nservers);
  return (static_cast<uint64_t>(rank) + n - (file_id >> kIdRankShift) % n) % n;
}

}  // namespace benchfs
