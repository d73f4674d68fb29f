// Tests of src/store/packed_files.h: the slot allocator, and where a file's
// bytes go in the two arenas as it is written, truncated and removed.
#include "store/packed_files.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <set>
#include <vector>

#include "common/placement.h"
#include "common/striping.h"

namespace benchfs {
namespace {

constexpr uint64_t kChunk = 1 << 20;
constexpr uint64_t kSmall = 64 << 10;
constexpr uint64_t kExtent = 64 << 20;

PackedLayout layout(bool reuse_extents, int nservers = 1, int rank = 0) {
  PackedLayout l;
  l.chunk_size = kChunk;
  l.nservers = nservers;
  l.rank = rank;
  l.small_bytes = small_file_bytes(kChunk);
  l.extent_bytes = kExtent;
  l.reuse_extents = reuse_extents;
  return l;
}

struct Placed {
  int err;
  ArenaSpan at;
};

Placed write(PackedFiles& p, uint64_t id, uint64_t offset, uint64_t len) {
  Placed r{};
  r.err = p.place_write(id, offset, len, &r.at);
  if (!r.err) p.record_write(id, offset, len);
  return r;
}

}  // namespace

TEST_CASE("slot allocator: reuses freed numbers only when told, and stops at its limit") {
  SlotAllocator reuse(true, 3), fresh(false, 3);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  REQUIRE(reuse.allocate(&a));
  REQUIRE(reuse.allocate(&b));
  REQUIRE(reuse.allocate(&c));
  CHECK(std::set<uint64_t>{a, b, c}.size() == 3);
  CHECK_FALSE(reuse.allocate(&d));  // full: no crash, no number
  reuse.release(b);
  REQUIRE(reuse.allocate(&d));
  CHECK(d == b);
  CHECK(reuse.in_use() == 3);

  REQUIRE(fresh.allocate(&a));
  fresh.release(a);
  REQUIRE(fresh.allocate(&b));
  CHECK(b != a);  // never given twice
  REQUIRE(fresh.allocate(&c));
  CHECK_FALSE(fresh.allocate(&d));  // three ever given
  CHECK(fresh.in_use() == 2);
}

TEST_CASE("packed files: a small file takes a slot of the small arena, reused after removal") {
  PackedFiles p(layout(false));
  Placed w = write(p, 1, 0, 3901);
  REQUIRE(w.err == 0);
  CHECK(w.at.arena == Arena::kSmall);
  CHECK(w.at.length == 3901);
  Placed w2 = write(p, 2, 100, 50);
  CHECK(w2.at.arena == Arena::kSmall);
  CHECK(w2.at.address / kSmall != w.at.address / kSmall);
  CHECK(w2.at.address % kSmall == 100);
  CHECK(p.file_count() == 2);
  CHECK(p.used() == 3901 + 150);

  ArenaSpan r;
  p.place_read(1, 1000, 5000, &r);  // past the small range: only what the slot holds
  CHECK(r.arena == Arena::kSmall);
  CHECK(r.address == w.at.address + 1000);
  CHECK(r.length == 5000);
  p.place_read(1, kSmall - 10, 100, &r);
  CHECK(r.length == 10);
  p.place_read(9, 0, 100, &r);
  CHECK(r.length == 0);  // unknown: a hole

  std::vector<ArenaSpan> punch;
  p.remove(1, &punch);
  REQUIRE(punch.size() == 1);
  CHECK(punch[0].arena == Arena::kSmall);
  CHECK(punch[0].address == w.at.address);
  CHECK(punch[0].length == kSmall);
  CHECK(p.used() == 150);
  Placed w3 = write(p, 3, 0, 10);
  CHECK(w3.at.address == w.at.address);  // the freed slot again
  CHECK(p.small_slots_in_use() == 2);
}

TEST_CASE("packed files: a file outgrowing its slot moves once to the large arena") {
  PackedFiles p(layout(false));
  Placed w = write(p, 1, 0, 3901);
  CHECK(p.needs_move(1, 60 << 10, 4 << 10) == false);  // still within 64 KiB
  REQUIRE(p.needs_move(1, 60 << 10, 8 << 10));
  CHECK(write(p, 1, 60 << 10, 8 << 10).err == EAGAIN);  // move first
  ArenaSpan from, to;
  REQUIRE(p.begin_move(1, &from, &to) == 0);
  CHECK(from.arena == Arena::kSmall);
  CHECK(from.address == w.at.address);
  CHECK(from.length == kSmall);  // the slot, punched after the copy
  CHECK(to.arena == Arena::kLarge);
  CHECK(to.length == 3901);  // what the slot held
  p.end_move(1, true);
  CHECK(p.small_slots_in_use() == 0);
  Placed big = write(p, 1, 60 << 10, 8 << 10);
  REQUIRE(big.err == 0);
  CHECK(big.at.arena == Arena::kLarge);
  CHECK(big.at.address == to.address + (60 << 10));
  // From now on even a small write goes to the large arena: no move again.
  CHECK_FALSE(p.needs_move(1, 0, 10));
  CHECK(write(p, 1, 0, 10).at.arena == Arena::kLarge);
  // A second extent 64 MiB of local bytes further.
  Placed far = write(p, 1, kExtent + 5, 10);
  CHECK(far.at.arena == Arena::kLarge);
  CHECK(far.at.address % kExtent == 5);
  CHECK(p.extents_in_use() == 2);
}

TEST_CASE("packed files: a failed move leaves the small file as it was") {
  PackedFiles p(layout(true));
  Placed w = write(p, 1, 0, 3901);
  ArenaSpan from, to;
  REQUIRE(p.begin_move(1, &from, &to) == 0);
  p.end_move(1, false);  // the copy failed (the arena's file system is full)
  CHECK(p.in_small_slot(1));
  CHECK(p.extents_in_use() == 0);
  ArenaSpan r;
  p.place_read(1, 0, 3901, &r);
  CHECK(r.arena == Arena::kSmall);
  CHECK(r.address == w.at.address);
  CHECK(p.used() == 3901);
}

TEST_CASE("packed files: direct extents are refused for small files and made on demand") {
  PackedFiles p(layout(false));
  Extent e;
  CHECK(p.direct_extent(1, 0, false, &e) == ENOENT);
  CHECK(p.file_count() == 0);
  write(p, 1, 0, 100);
  CHECK(p.direct_extent(1, 0, false, &e) == EAGAIN);
  CHECK(p.direct_extent(1, 0, true, &e) == EAGAIN);  // the store moves it first
  ArenaSpan from, to;
  REQUIRE(p.begin_move(1, &from, &to) == 0);
  p.end_move(1, true);
  REQUIRE(p.direct_extent(1, 0, false, &e) == 0);
  CHECK(e.local_start == 0);
  CHECK(e.length == kExtent);
  CHECK(e.address == to.address);
  CHECK(p.direct_extent(1, 3 * kExtent, false, &e) == ENOENT);
  REQUIRE(p.direct_extent(1, 3 * kExtent, true, &e) == 0);
  CHECK(e.local_start == 3 * kExtent);
  // A new file gets its extent at once.
  REQUIRE(p.direct_extent(2, 0, true, &e) == 0);
  CHECK(p.file_count() == 2);
}

TEST_CASE("packed files: extent addresses are reused only where no client holds them") {
  for (bool reuse : {false, true}) {
    CAPTURE(reuse);
    PackedFiles p(layout(reuse));
    Placed a = write(p, 1, 0, kChunk);
    std::vector<ArenaSpan> punch;
    p.remove(1, &punch);
    REQUIRE(punch.size() == 1);
    CHECK(punch[0].length == kExtent);
    Placed b = write(p, 2, 0, kChunk);
    CHECK((b.at.address == a.at.address) == reuse);
  }
}

TEST_CASE("packed files: truncate punches what lies past the size, in local offsets") {
  // 4 servers; this is rank 2; file id made by rank 1: chunks 1, 5, 9, ...
  // live here, packed at local offsets 0, 1 MiB, 2 MiB, ...
  const uint64_t id = make_file_id(1, 7);
  REQUIRE(first_chunk_on(id, 2, 4) == 1);
  for (bool reuse : {false, true}) {
    CAPTURE(reuse);
    PackedFiles p(layout(reuse, 4, 2));
    REQUIRE(p.local(5 * kChunk + 3) == kChunk + 3);
    Placed w1 = write(p, id, 1 * kChunk, kChunk);
    Placed w5 = write(p, id, 5 * kChunk, kChunk);
    REQUIRE(w1.err == 0);
    REQUIRE(w5.err == 0);
    CHECK(w5.at.address == w1.at.address + kChunk);
    CHECK(p.used() == 2 * kChunk);

    // Cut in chunk 5 (held here): its tail goes.
    std::vector<ArenaSpan> punch;
    p.truncate(id, 5 * kChunk + 100, &punch);
    REQUIRE(punch.size() == 1);
    CHECK(punch[0].address == w1.at.address + kChunk + 100);
    CHECK(punch[0].length == kExtent - kChunk - 100);
    CHECK(p.used() == kChunk + 100);

    // Cut in chunk 3 (another server's): everything from local 1 MiB on.
    punch.clear();
    p.truncate(id, 3 * kChunk + 5, &punch);
    REQUIRE(punch.size() == 1);
    CHECK(punch[0].address == w1.at.address + kChunk);
    CHECK(p.used() == kChunk);

    // Cut below chunk 1: nothing left here.  Where clients may hold the
    // extent's address it stays the file's (a later direct write lands
    // where reads look); else the file is forgotten.
    punch.clear();
    p.truncate(id, kChunk - 1, &punch);
    CHECK(punch.size() == 1);
    CHECK(p.used() == 0);
    CHECK(p.file_count() == (reuse ? 0u : 1u));
    CHECK(p.extents_in_use() == (reuse ? 0u : 1u));
  }
}

TEST_CASE("packed files: truncating a small file, to nothing forgets it") {
  PackedFiles p(layout(true));
  Placed w = write(p, 1, 0, 3901);
  std::vector<ArenaSpan> punch;
  p.truncate(1, 1000, &punch);
  REQUIRE(punch.size() == 1);
  CHECK(punch[0].address == w.at.address + 1000);
  CHECK(punch[0].length == kSmall - 1000);
  CHECK(p.used() == 1000);
  punch.clear();
  p.truncate(1, 0, &punch);
  CHECK(p.file_count() == 0);
  CHECK(p.small_slots_in_use() == 0);
  CHECK(p.used() == 0);
}

TEST_CASE("packed files: a full arena refuses the write and keeps nothing of it") {
  PackedLayout l = layout(true);
  l.max_large_bytes = 2 * kExtent;  // two extents
  PackedFiles p(l);
  CHECK(write(p, 1, 0, kChunk).err == 0);
  CHECK(write(p, 2, 0, kChunk).err == 0);
  CHECK(write(p, 3, 0, kChunk).err == ENOSPC);
  CHECK(p.file_count() == 2);
  ArenaSpan r;
  p.place_read(3, 0, 10, &r);
  CHECK(r.length == 0);
  std::vector<ArenaSpan> punch;
  p.remove(1, &punch);
  CHECK(write(p, 3, 0, kChunk).err == 0);
}

TEST_CASE("local offsets: a server's chunks packed one after the other") {
  // 3 servers; the server holding chunk 2 holds 2, 5, 8, ...
  CHECK(local_offset(2 * kChunk + 9, kChunk, 3) == 9);
  CHECK(local_offset(5 * kChunk, kChunk, 3) == kChunk);
  CHECK(local_offset(8 * kChunk + 1, kChunk, 3) == 2 * kChunk + 1);
  // local_end: its bytes below a size.
  CHECK(local_end(0, 2, kChunk, 3) == 0);
  CHECK(local_end(2 * kChunk, 2, kChunk, 3) == 0);
  CHECK(local_end(2 * kChunk + 7, 2, kChunk, 3) == 7);
  CHECK(local_end(4 * kChunk, 2, kChunk, 3) == kChunk);
  CHECK(local_end(5 * kChunk + 1, 2, kChunk, 3) == kChunk + 1);
  CHECK(local_end(100 * kChunk, 0, kChunk, 1) == 100 * kChunk);
}

}  // namespace benchfs
