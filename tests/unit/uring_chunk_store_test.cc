// Tests of the io_uring chunk store's own behaviour: its arena files in its
// directory whatever the file count, which thread enters the ring, and how
// the directory is opened and destroyed.  What it shares with the other backends
// is tested in chunk_store_test.cc.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "chunk_store_testing.h"

namespace benchfs {
using namespace chunk_store_testing;

// Bytes held by a file, as the file system counts them (holes are free).
uint64_t held_bytes(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.st_blocks) * 512;
}

uint64_t large_bytes(const std::string& dir) {
  uint64_t n = 0;
  for (int i = 0; i < 4; ++i) n += held_bytes(dir + "/large." + std::to_string(i));
  return n;
}

TEST_CASE("uring store: five arena files whatever the file count; remove punches their bytes") {
  UringBackend b;
  ChunkStore& s = b.store();
  REQUIRE(fs::is_directory(b.dir));
  auto names = files_in(b.dir);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"large.0", "large.1", "large.2", "large.3", "small"});
  CHECK(s.event_fd() >= 0);

  // 300 small files and 3 large ones: still the two arenas.
  for (uint64_t id = 1; id <= 300; ++id) CHECK(do_write(s, id, 0, pattern(3901, 1)) == 3901);
  for (uint64_t id = 1000; id < 1003; ++id) CHECK(do_write(s, id, 0, pattern(300000, 2)) == 300000);
  CHECK(files_in(b.dir).size() == 5);
  CHECK(s.file_count() == 303);
  CHECK(held_bytes(b.dir + "/small") >= 300 * 3901);
  CHECK(large_bytes(b.dir) >= 3 * 300000);

  // Reads and fsyncs of unknown ids store nothing.
  do_read(s, 999, 0, 100);
  CHECK(do_fsync(s, 998) == 0);
  CHECK(do_truncate(s, 997, 100) == 0);
  CHECK(s.file_count() == 303);

  for (uint64_t id = 1; id <= 300; ++id) CHECK(do_remove(s, id) == 0);
  for (uint64_t id = 1000; id < 1003; ++id) CHECK(do_remove(s, id) == 0);
  CHECK(s.file_count() == 0);
  // ext4 may keep a block or two of metadata per file.
  CHECK(held_bytes(b.dir + "/small") <= 64 << 10);
  CHECK(large_bytes(b.dir) <= 4 * (64 << 10));
}

// Addresses are reused on a device (no same-host client holds them): a
// removal, a truncate or a move out of the small arena must wait for the
// file's I/O still in flight on the ring, or a late write would land in
// bytes already given to another file.  Completion order shows it.
TEST_CASE("uring store: freeing or moving a file's bytes waits for its I/O in flight") {
  UringBackend b;
  ChunkStore& s = b.store();
  auto first = pattern(3901, 1), second = pattern(3901, 2), big = pattern(100000, 3);
  std::vector<std::string> order;
  int64_t w = 0, rm = 0, w2 = 0;
  s.write(1, 0, first.data(), first.size(), [&](int64_t r) { w = r, order.push_back("write 1"); });
  REQUIRE(s.busy());  // in the ring, not yet completed
  s.remove(1, [&](int64_t r) { rm = r, order.push_back("remove 1"); });
  CHECK(order.empty());  // the removal waits
  s.write(2, 0, second.data(), second.size(), [&](int64_t r) { w2 = r, order.push_back("write 2"); });
  poll_until(s, [&] { return order.size() == 3; });
  CHECK(order[0] == "write 1");
  CHECK(order[1] == "remove 1");
  CHECK(w == 3901);
  CHECK(rm == 0);
  CHECK(w2 == 3901);
  CHECK(do_read(s, 2, 0, 3901) == second);  // file 2 got file 1's slot, intact
  CHECK(s.file_count() == 1);

  // A write that moves file 2 to the large arena waits for a read of it in
  // flight; both see the bytes they should.
  std::vector<char> back(3901);
  bool read_done = false, moved = false;
  s.read(2, 0, back.data(), back.size(), [&](int64_t) { read_done = true; });
  s.write(2, 3901, big.data(), big.size(), [&](int64_t r) { moved = r == 100000 && read_done; });
  poll_until(s, [&] { return moved; });
  CHECK(back == second);
  auto all = do_read(s, 2, 0, 3901 + big.size());
  CHECK(same(all, 0, second, 0, 3901));
  CHECK(same(all, 3901, big, 0, big.size()));
}

// The kernel cancels a thread's pending io_uring work when the thread
// exits, and application threads drive the worker (and so the store) in
// turn: only the owner (the progress thread; here the thread that opened
// the store) enters the ring, any other thread does its I/O in place.
TEST_CASE("uring store: only the owner thread enters the ring") {
  UringBackend b;
  ChunkStore& s = b.store();
  auto data = pattern(10000, 4);
  bool completed_in_call = false, busy_after = true;
  int64_t result = 0;
  std::thread([&] {
    s.write(7, 0, data.data(), data.size(), [&](int64_t r) { result = r; });
    completed_in_call = result != 0;
    busy_after = s.busy();
    std::vector<char> back(data.size());
    s.read(7, 0, back.data(), back.size(), [](int64_t) {});
    completed_in_call = completed_in_call && back == data;
    s.poll();  // a driving thread polls: nothing of the owner's is submitted by it
  }).join();
  CHECK(completed_in_call);
  CHECK(result == static_cast<int64_t>(data.size()));
  CHECK_FALSE(busy_after);
  // The owner's own operations go through the ring.
  int64_t r = 0;
  s.write(7, data.size(), data.data(), data.size(), [&](int64_t x) { r = x; });
  CHECK(s.busy());
  std::thread([&] { s.poll(); }).join();  // another thread's poll, then its exit
  while (s.busy()) s.poll();
  CHECK(r == static_cast<int64_t>(data.size()));
  CHECK(do_read(s, 7, 0, 2 * data.size()) == [&] {
    auto both = data;
    both.insert(both.end(), data.begin(), data.end());
    return both;
  }());
}

TEST_CASE("uring store: truncate punches the bytes past the new size") {
  UringBackend b;
  ChunkStore& s = b.store();
  CHECK(do_write(s, 3, 0, pattern(4 << 20, 1)) == 4 << 20);
  uint64_t before = large_bytes(b.dir);
  CHECK(before >= 4 << 20);
  CHECK(do_truncate(s, 3, 1234) == 0);
  CHECK(large_bytes(b.dir) <= before - (3 << 20));
  auto back = do_read(s, 3, 0, 8192);
  CHECK(same(back, 0, pattern(4 << 20, 1), 0, 1234));
  CHECK(all_zero(back, 1234));
}

TEST_CASE("uring store: open fails on an existing directory") {
  TempParent parent;
  UringChunkStore s;
  CHECK(s.open(parent.path(), 8) == EEXIST);
  s.destroy(true);  // keep: the directory is not the store's
  CHECK(fs::is_directory(parent.path()));
}

TEST_CASE("uring store: open creates missing parents") {
  TempParent parent;
  std::string dir = parent.path() + "/a/b/store";
  UringChunkStore s;
  REQUIRE(s.open(dir, 8) == 0);
  CHECK(fs::is_directory(dir));
  s.destroy(false);
  CHECK_FALSE(fs::exists(dir));
}

TEST_CASE("uring store: destroy(false) removes the directory, destroy(true) keeps it") {
  TempParent parent;
  SUBCASE("remove") {
    std::string dir = parent.path() + "/store";
    UringChunkStore s;
    REQUIRE(s.open(dir, 64) == 0);
    CHECK(do_write(s, 1, 0, pattern(100, 1)) == 100);
    s.destroy(false);
    CHECK_FALSE(fs::exists(dir));
    CHECK(fs::is_directory(parent.path()));
  }
  SUBCASE("keep") {
    std::string dir = parent.path() + "/kept";
    UringChunkStore s;
    REQUIRE(s.open(dir, 64) == 0);
    CHECK(do_write(s, 1, 0, pattern(100, 1)) == 100);
    s.destroy(true);
    CHECK(fs::is_directory(dir));
    CHECK(files_in(dir).size() == 5);  // the arenas
  }
}

TEST_CASE("uring store: destroy waits for operations in flight") {
  TempParent parent;
  std::string dir = parent.path() + "/store";
  int completed = 0;
  auto data = pattern(kChunk, 1);
  {
    UringChunkStore s;
    REQUIRE(s.open(dir, 64) == 0);
    for (int i = 0; i < 10; ++i)
      s.write(1, static_cast<uint64_t>(i) * kChunk, data.data(), data.size(),
              [&completed](int64_t r) {
                CHECK(r == static_cast<int64_t>(kChunk));
                ++completed;
              });
    CHECK(s.busy());
    s.destroy(false);
    CHECK_FALSE(s.busy());
  }
  CHECK(completed == 10);
  CHECK_FALSE(fs::exists(dir));
}

}  // namespace benchfs
