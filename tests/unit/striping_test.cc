// Tests of src/common/striping.h.
#include "common/striping.h"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace benchfs {
namespace {

// The pieces exactly tile [offset, offset + length): in order, contiguous,
// non-empty, each within one chunk, buffer offsets matching file offsets.
void check_cover(const std::vector<ChunkPiece>& pieces, uint64_t offset, uint64_t length,
                 uint64_t chunk_size) {
  CAPTURE(offset);
  CAPTURE(length);
  CAPTURE(chunk_size);
  if (length == 0) {
    CHECK(pieces.empty());
    return;
  }
  REQUIRE_FALSE(pieces.empty());
  uint64_t expected_pos = offset;
  uint64_t expected_buf = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const ChunkPiece& p = pieces[i];
    CAPTURE(i);
    CHECK(p.length > 0);
    CHECK(p.file_offset == expected_pos);
    CHECK(p.buffer_offset == expected_buf);
    CHECK(p.buffer_offset == p.file_offset - offset);
    CHECK(p.index == p.file_offset / chunk_size);
    // Never crosses a chunk boundary.
    CHECK((p.file_offset + p.length - 1) / chunk_size == p.index);
    // Every piece but the first starts on a chunk boundary; every piece but
    // the last ends on one.
    if (i > 0) CHECK(p.file_offset % chunk_size == 0);
    if (i + 1 < pieces.size()) CHECK((p.file_offset + p.length) % chunk_size == 0);
    if (i > 0) CHECK(p.index == pieces[i - 1].index + 1);
    expected_pos += p.length;
    expected_buf += p.length;
  }
  CHECK(expected_pos == offset + length);
  CHECK(expected_buf == length);
  uint64_t first = offset / chunk_size, last = (offset + length - 1) / chunk_size;
  CHECK(pieces.size() == last - first + 1);
}

}  // namespace

TEST_CASE("split_into_chunks: aligned range of whole chunks") {
  auto pieces = split_into_chunks(8192, 3 * 4096, 4096);
  REQUIRE(pieces.size() == 3);
  for (uint64_t i = 0; i < 3; ++i) {
    CHECK(pieces[i].index == 2 + i);
    CHECK(pieces[i].file_offset == 8192 + i * 4096);
    CHECK(pieces[i].length == 4096);
    CHECK(pieces[i].buffer_offset == i * 4096);
  }
  check_cover(pieces, 8192, 3 * 4096, 4096);
}

TEST_CASE("split_into_chunks: exactly one chunk") {
  auto pieces = split_into_chunks(0, 4096, 4096);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].index == 0);
  CHECK(pieces[0].file_offset == 0);
  CHECK(pieces[0].length == 4096);
  CHECK(pieces[0].buffer_offset == 0);
}

TEST_CASE("split_into_chunks: unaligned start within one chunk") {
  auto pieces = split_into_chunks(100, 200, 4096);
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0].index == 0);
  CHECK(pieces[0].file_offset == 100);
  CHECK(pieces[0].length == 200);
  CHECK(pieces[0].buffer_offset == 0);
}

TEST_CASE("split_into_chunks: unaligned start straddling boundaries") {
  // [4000, 4000 + 9000) with 4096-byte chunks: 96 | 4096 | 4096 | 712.
  auto pieces = split_into_chunks(4000, 9000, 4096);
  REQUIRE(pieces.size() == 4);
  CHECK(pieces[0].index == 0);
  CHECK(pieces[0].file_offset == 4000);
  CHECK(pieces[0].length == 96);
  CHECK(pieces[0].buffer_offset == 0);
  CHECK(pieces[1].index == 1);
  CHECK(pieces[1].file_offset == 4096);
  CHECK(pieces[1].length == 4096);
  CHECK(pieces[1].buffer_offset == 96);
  CHECK(pieces[2].index == 2);
  CHECK(pieces[2].file_offset == 8192);
  CHECK(pieces[2].length == 4096);
  CHECK(pieces[2].buffer_offset == 96 + 4096);
  CHECK(pieces[3].index == 3);
  CHECK(pieces[3].file_offset == 12288);
  CHECK(pieces[3].length == 712);
  CHECK(pieces[3].buffer_offset == 96 + 8192);
  check_cover(pieces, 4000, 9000, 4096);
}

TEST_CASE("split_into_chunks: two bytes across a boundary") {
  auto pieces = split_into_chunks(4095, 2, 4096);
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[0].index == 0);
  CHECK(pieces[0].length == 1);
  CHECK(pieces[1].index == 1);
  CHECK(pieces[1].file_offset == 4096);
  CHECK(pieces[1].length == 1);
  CHECK(pieces[1].buffer_offset == 1);
}

TEST_CASE("split_into_chunks: length 0 gives no pieces") {
  CHECK(split_into_chunks(0, 0, 4096).empty());
  CHECK(split_into_chunks(12345, 0, 4096).empty());
  CHECK(split_into_chunks(4096, 0, 1 << 20).empty());
}

TEST_CASE("split_into_chunks: single byte") {
  for (uint64_t off : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{4096}, uint64_t{1000000}}) {
    CAPTURE(off);
    auto pieces = split_into_chunks(off, 1, 4096);
    REQUIRE(pieces.size() == 1);
    CHECK(pieces[0].index == off / 4096);
    CHECK(pieces[0].file_offset == off);
    CHECK(pieces[0].length == 1);
    CHECK(pieces[0].buffer_offset == 0);
  }
}

TEST_CASE("split_into_chunks: chunk size 1 gives one piece per byte") {
  auto pieces = split_into_chunks(10, 5, 1);
  REQUIRE(pieces.size() == 5);
  for (uint64_t i = 0; i < 5; ++i) {
    CHECK(pieces[i].index == 10 + i);
    CHECK(pieces[i].length == 1);
    CHECK(pieces[i].buffer_offset == i);
  }
}

TEST_CASE("split_into_chunks: large offsets do not lose precision") {
  uint64_t cs = 1ULL << 20;
  uint64_t off = (1ULL << 40) + 17;  // 1 TiB + 17
  auto pieces = split_into_chunks(off, 2 * cs, cs);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0].index == (1ULL << 20));
  CHECK(pieces[0].length == cs - 17);
  CHECK(pieces[2].length == 17);
  check_cover(pieces, off, 2 * cs, cs);
}

TEST_CASE("split_into_chunks: pieces always tile the range exactly") {
  const uint64_t sizes[] = {1, 3, 512, 4096, 65536};
  uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  for (uint64_t cs : sizes) {
    for (int trial = 0; trial < 200; ++trial) {
      uint64_t off = next() % (cs * 10 + 7);
      uint64_t len = next() % (cs * 5 + 3);
      check_cover(split_into_chunks(off, len, cs), off, len, cs);
    }
  }
}

TEST_CASE("chunk_count") {
  CHECK(chunk_count(0, 4096) == 0);
  CHECK(chunk_count(1, 4096) == 1);
  CHECK(chunk_count(4095, 4096) == 1);
  CHECK(chunk_count(4096, 4096) == 1);
  CHECK(chunk_count(4097, 4096) == 2);
  CHECK(chunk_count(8192, 4096) == 2);
  CHECK(chunk_count(8193, 4096) == 3);
  CHECK(chunk_count(16ULL << 20, 1ULL << 20) == 16);
  CHECK(chunk_count(7, 1) == 7);
  // Largest file size an off_t can describe.
  CHECK(chunk_count(0x7fffffffffffffffULL, 1ULL << 20) == (1ULL << 43));
}

TEST_CASE("chunk_count agrees with split_into_chunks from offset 0") {
  for (uint64_t size : {uint64_t{1}, uint64_t{100}, uint64_t{4096}, uint64_t{4097}, uint64_t{50000}}) {
    CAPTURE(size);
    CHECK(split_into_chunks(0, size, 4096).size() == chunk_count(size, 4096));
  }
}

}  // namespace benchfs
