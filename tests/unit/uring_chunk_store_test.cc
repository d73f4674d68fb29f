// Tests of the io_uring chunk store's own behaviour: one backing file per
// file id in its directory, which thread enters the ring, and how the
// directory is opened and destroyed.  What it shares with the other backends
// is tested in chunk_store_test.cc.
#include <doctest/doctest.h>

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

TEST_CASE("uring store: backing files live in the directory and go on remove") {
  UringBackend b;
  ChunkStore& s = b.store();
  REQUIRE(fs::is_directory(b.dir));
  CHECK(files_in(b.dir).empty());
  CHECK(s.event_fd() >= 0);

  const uint64_t id = 0xabcdef0123456789ULL;
  CHECK(do_write(s, id, 0, pattern(5000, 1)) == 5000);
  CHECK(do_write(s, 7, 1 << 20, pattern(10, 2)) == 10);
  auto names = files_in(b.dir);
  CHECK(names.size() == 2);
  char expected[32];
  std::snprintf(expected, sizeof expected, "%016" PRIx64, id);
  CHECK(fs::exists(b.dir + "/" + expected));
  CHECK(fs::file_size(b.dir + "/" + expected) == 5000);

  // Reads and fsyncs of unknown ids create no files.
  do_read(s, 999, 0, 100);
  CHECK(do_fsync(s, 998) == 0);
  CHECK(do_truncate(s, 997, 100) == 0);
  CHECK(files_in(b.dir).size() == 2);

  CHECK(do_remove(s, id) == 0);
  CHECK_FALSE(fs::exists(b.dir + "/" + expected));
  CHECK(do_remove(s, 7) == 0);
  CHECK(files_in(b.dir).empty());
  CHECK(s.file_count() == 0);
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

TEST_CASE("uring store: truncate shrinks the backing file") {
  UringBackend b;
  ChunkStore& s = b.store();
  CHECK(do_write(s, 3, 0, pattern(10000, 1)) == 10000);
  CHECK(do_truncate(s, 3, 1234) == 0);
  char name[32];
  std::snprintf(name, sizeof name, "%016" PRIx64, uint64_t{3});
  CHECK(fs::file_size(b.dir + "/" + name) == 1234);
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
    CHECK(files_in(dir).size() == 1);
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
