// Tests of the chunk stores: what every backend must do, the same cases
// against the memory store (uncapped and capped) and the io_uring store (on
// a device and on a tmpfs), and which backends offer their backing files to
// same-host clients.  Each backend's own behaviour is tested in
// memory_chunk_store_test.cc and uring_chunk_store_test.cc; the helpers are
// in chunk_store_testing.h.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "chunk_store_testing.h"

namespace benchfs {
using namespace chunk_store_testing;

TEST_CASE_TEMPLATE("chunk store: write then read back", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  CHECK(s.file_count() == 0);
  auto data = pattern(10000, 1);
  CHECK(do_write(s, 1, 123, data) == 10000);
  CHECK(s.file_count() == 1);

  auto back = do_read(s, 1, 123, data.size());
  CHECK(back == data);

  // A sub-range in the middle.
  auto mid = do_read(s, 1, 123 + 4000, 1000);
  CHECK(same(mid, 0, data, 4000, 1000));

  // Overwrite part of it.
  auto over = pattern(50, 9);
  CHECK(do_write(s, 1, 123 + 10, over) == 50);
  auto again = do_read(s, 1, 123, data.size());
  CHECK(same(again, 0, data, 0, 10));
  CHECK(same(again, 10, over, 0, 50));
  CHECK(same(again, 60, data, 60, data.size() - 60));
}

TEST_CASE_TEMPLATE("chunk store: a never-written file reads as zeros", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  auto buf = do_read(s, 42, 777, 5000);
  CHECK(all_zero(buf));
  CHECK(s.file_count() == 0);

  // Past the end of a written file, too.
  CHECK(do_write(s, 43, 0, pattern(100, 2)) == 100);
  auto past = do_read(s, 43, 100000, 3000);
  CHECK(all_zero(past));
  // Straddling the end of the written bytes.
  auto tail = do_read(s, 43, 50, 200);
  CHECK(same(tail, 0, pattern(100, 2), 50, 50));
  CHECK(all_zero(tail, 50));
}

TEST_CASE_TEMPLATE("chunk store: files are independent", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  auto a = pattern(6000, 3), c = pattern(6000, 4);
  CHECK(do_write(s, 100, 1000, a) == 6000);
  CHECK(do_write(s, 200, 1000, c) == 6000);
  CHECK(s.file_count() == 2);
  CHECK(do_read(s, 100, 1000, 6000) == a);
  CHECK(do_read(s, 200, 1000, 6000) == c);
  CHECK(all_zero(do_read(s, 300, 1000, 6000)));
}

TEST_CASE_TEMPLATE("chunk store: holes between writes read as zeros", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  std::vector<char> a(100, 'A'), z(100, 'Z');
  CHECK(do_write(s, 5, 0, a) == 100);
  CHECK(do_write(s, 5, 10000, z) == 100);
  auto buf = do_read(s, 5, 0, 10100);
  CHECK(same(buf, 0, a, 0, 100));
  CHECK(all_zero(buf, 100, 10000));
  CHECK(same(buf, 10000, z, 0, 100));

  // A hole inside one chunk.
  std::vector<char> x(10, 'x'), y(10, 'y');
  CHECK(do_write(s, 6, 20, x) == 10);
  CHECK(do_write(s, 6, 60, y) == 10);
  auto small = do_read(s, 6, 0, 100);
  CHECK(all_zero(small, 0, 20));
  CHECK(same(small, 20, x, 0, 10));
  CHECK(all_zero(small, 30, 60));
  CHECK(same(small, 60, y, 0, 10));
  CHECK(all_zero(small, 70, 100));
}

TEST_CASE_TEMPLATE("chunk store: writes straddling chunk boundaries", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  // Ends of chunk 0 and start of chunk 1.
  auto p1 = pattern(20, 5);
  CHECK(do_write(s, 9, kChunk - 10, p1) == 20);
  // Spans three chunks: the end of 1, all of 2, the start of 3.
  auto p2 = pattern(kChunk + 100, 6);
  CHECK(do_write(s, 9, 2 * kChunk - 50, p2) == static_cast<int64_t>(p2.size()));

  auto buf = do_read(s, 9, 0, 4 * kChunk);
  CHECK(all_zero(buf, 0, kChunk - 10));
  CHECK(same(buf, kChunk - 10, p1, 0, 20));
  CHECK(all_zero(buf, kChunk + 10, 2 * kChunk - 50));
  CHECK(same(buf, 2 * kChunk - 50, p2, 0, p2.size()));
  CHECK(all_zero(buf, 3 * kChunk + 50));

  // Reading pieces that straddle boundaries gives the same bytes.
  auto piece = do_read(s, 9, kChunk - 5, 10);
  CHECK(same(piece, 0, p1, 5, 10));
  auto piece2 = do_read(s, 9, 3 * kChunk - 1, 2);
  CHECK(same(piece2, 0, p2, kChunk + 49, 2));
}

TEST_CASE_TEMPLATE("chunk store: truncate shrinks, later writes extend again", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  const size_t len = 3 * kChunk + 500;
  auto data = pattern(len, 7);
  REQUIRE(do_write(s, 11, 0, data) == static_cast<int64_t>(len));

  SUBCASE("to the middle of a chunk") {
    CHECK(do_truncate(s, 11, 5000) == 0);
    auto buf = do_read(s, 11, 0, len + 1000);
    CHECK(same(buf, 0, data, 0, 5000));
    CHECK(all_zero(buf, 5000));

    // Write beyond the new end: the gap must read as zeros, not old bytes.
    std::vector<char> w(10, 'w');
    CHECK(do_write(s, 11, 20000, w) == 10);
    auto after = do_read(s, 11, 0, 20010);
    CHECK(same(after, 0, data, 0, 5000));
    CHECK(all_zero(after, 5000, 20000));
    CHECK(same(after, 20000, w, 0, 10));

    // A write inside the truncated chunk, past the cut.
    std::vector<char> v(4, 'v');
    CHECK(do_write(s, 11, 6000, v) == 4);
    auto again = do_read(s, 11, 4096, 4096);
    CHECK(same(again, 0, data, 4096, 5000 - 4096));
    CHECK(all_zero(again, 5000 - 4096, 6000 - 4096));
    CHECK(same(again, 6000 - 4096, v, 0, 4));
    CHECK(all_zero(again, 6004 - 4096));
  }
  SUBCASE("to a chunk boundary") {
    CHECK(do_truncate(s, 11, 2 * kChunk) == 0);
    auto buf = do_read(s, 11, 0, len);
    CHECK(same(buf, 0, data, 0, 2 * kChunk));
    CHECK(all_zero(buf, 2 * kChunk));
  }
  SUBCASE("to zero") {
    CHECK(do_truncate(s, 11, 0) == 0);
    CHECK(all_zero(do_read(s, 11, 0, len)));
    auto fresh = pattern(100, 8);
    CHECK(do_write(s, 11, 50, fresh) == 100);
    auto buf = do_read(s, 11, 0, 200);
    CHECK(all_zero(buf, 0, 50));
    CHECK(same(buf, 50, fresh, 0, 100));
    CHECK(all_zero(buf, 150));
  }
  SUBCASE("to a larger size changes nothing stored") {
    CHECK(do_truncate(s, 11, 10 * kChunk) == 0);
    auto buf = do_read(s, 11, 0, 10 * kChunk);
    CHECK(same(buf, 0, data, 0, len));
    CHECK(all_zero(buf, len));
  }
  SUBCASE("of an unknown file succeeds") {
    CHECK(do_truncate(s, 999, 10) == 0);
    CHECK(do_read(s, 11, 0, len) == data);
  }
}

TEST_CASE_TEMPLATE("chunk store: remove drops everything", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(do_write(s, id, id * 1000, pattern(9000, id)) == 9000);
  CHECK(s.file_count() == 3);

  CHECK(do_remove(s, 2) == 0);
  CHECK(s.file_count() == 2);
  CHECK(all_zero(do_read(s, 2, 0, 12000)));
  // Others untouched.
  CHECK(do_read(s, 1, 1000, 9000) == pattern(9000, 1));
  CHECK(do_read(s, 3, 3000, 9000) == pattern(9000, 3));

  CHECK(do_remove(s, 1) == 0);
  CHECK(do_remove(s, 3) == 0);
  CHECK(s.file_count() == 0);
  CHECK(all_zero(do_read(s, 1, 0, 12000)));

  // Removing an unknown or already removed file succeeds.
  CHECK(do_remove(s, 2) == 0);
  CHECK(do_remove(s, 12345) == 0);
  CHECK(s.file_count() == 0);

  // The id can be used again afterwards.
  CHECK(do_write(s, 2, 0, pattern(10, 4)) == 10);
  CHECK(s.file_count() == 1);
  auto buf = do_read(s, 2, 0, 9000);
  CHECK(same(buf, 0, pattern(10, 4), 0, 10));
  CHECK(all_zero(buf, 10));
}

TEST_CASE_TEMPLATE("chunk store: fsync succeeds", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  CHECK(do_fsync(s, 77) == 0);  // unknown file
  CHECK(do_write(s, 77, 0, pattern(5000, 1)) == 5000);
  CHECK(do_fsync(s, 77) == 0);
  CHECK(do_read(s, 77, 0, 5000) == pattern(5000, 1));
  // A large file: its extents' arena files, each synced, one completion.
  CHECK(do_write(s, 78, 0, pattern(200000, 2)) == 200000);
  CHECK(do_write(s, 78, 100 << 20, pattern(10, 3)) == 10);
  CHECK(do_fsync(s, 78) == 0);
}

TEST_CASE_TEMPLATE("chunk store: a zero-length write stores nothing", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  char byte = 'q';
  CHECK(run(s, [&](ChunkStore::Done d) { s.write(55, 100, &byte, 0, std::move(d)); }) == 0);
  // file_count() is the number of files with stored bytes.
  CHECK(s.file_count() == 0);
  char untouched = 'u';
  CHECK(run(s, [&](ChunkStore::Done d) { s.read(55, 100, &untouched, 0, std::move(d)); }) == 0);
  CHECK(untouched == 'u');
}

TEST_CASE_TEMPLATE("chunk store: 100 operations in flight before polling", B, BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  const int kOps = 100;
  const size_t kLen = kChunk + 300;  // every write straddles a boundary
  std::vector<std::vector<char>> data;
  for (int i = 0; i < kOps; ++i) data.push_back(pattern(kLen, static_cast<unsigned>(i)));

  auto id_of = [](int i) { return static_cast<uint64_t>(1000 + i % 7); };
  auto off_of = [kLen](int i) { return static_cast<uint64_t>(i / 7) * (kLen + 100) + 17; };

  std::vector<int> calls(kOps, 0);
  std::vector<int64_t> results(kOps, INT64_MIN);
  int completed = 0;
  for (int i = 0; i < kOps; ++i) {
    s.write(id_of(i), off_of(i), data[i].data(), kLen, [&, i](int64_t r) {
      ++calls[i];
      results[i] = r;
      ++completed;
    });
  }
  if (B::kUring) CHECK(s.busy());
  poll_until(s, [&] { return completed == kOps; });
  for (int i = 0; i < 3; ++i) s.poll();
  CHECK_FALSE(s.busy());
  for (int i = 0; i < kOps; ++i) {
    CAPTURE(i);
    CHECK(calls[i] == 1);
    CHECK(results[i] == static_cast<int64_t>(kLen));
  }
  CHECK(s.file_count() == 7);

  // And 100 reads in flight at once.
  std::vector<std::vector<char>> bufs(kOps, std::vector<char>(kLen, '\xAA'));
  completed = 0;
  std::fill(calls.begin(), calls.end(), 0);
  for (int i = 0; i < kOps; ++i) {
    s.read(id_of(i), off_of(i), bufs[i].data(), kLen, [&, i](int64_t r) {
      ++calls[i];
      results[i] = r;
      ++completed;
    });
  }
  poll_until(s, [&] { return completed == kOps; });
  for (int i = 0; i < kOps; ++i) {
    CAPTURE(i);
    CHECK(calls[i] == 1);
    CHECK(results[i] == static_cast<int64_t>(kLen));
    CHECK(bufs[i] == data[i]);
  }
}

size_t open_descriptors() {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) (void)e, ++n;
  return n;
}

// Every file's bytes are in the store's two arenas: storing many files
// takes no descriptor (a store with one per file was full at
// RLIMIT_NOFILE files), and a removed file's space is used again.
TEST_CASE_TEMPLATE("chunk store: a fixed number of descriptors whatever the file count", B,
                   BACKENDS) {
  B b;
  ChunkStore& s = b.store();
  size_t before = open_descriptors();
  auto small = pattern(3901, 3), large = pattern(3 * kChunk + 77, 4);
  for (int round = 0; round < 3; ++round) {
    for (uint64_t id = 1; id <= 3000; ++id)
      REQUIRE(do_write(s, id, 0, id % 1000 == 0 ? large : small) ==
              static_cast<int64_t>(id % 1000 == 0 ? large.size() : small.size()));
    CHECK(open_descriptors() == before);
    CHECK(s.file_count() == 3000);
    CHECK(do_read(s, 1, 0, small.size()) == small);
    CHECK(do_read(s, 2000, 0, large.size()) == large);
    for (uint64_t id = 1; id <= 3000; ++id) REQUIRE(do_remove(s, id) == 0);
    CHECK(s.file_count() == 0);
  }
}

// What a same-host client relies on (DirectIo::locate): the extent a store
// names holds the file's bytes at the address it gives, a small file is
// served by requests until a client writes past its small range, and an
// address once given never goes to another file.
TEST_CASE_TEMPLATE("chunk store: direct extents for same-host clients", B, MemoryBackend,
                   UringOnTmpfsBackend) {
  B b;
  ChunkStore& s = b.store();
  DirectExtent e;
  CHECK(s.offers_backing_files());
  CHECK(s.direct_extent(5, kChunk + 100, false, &e) == ENOENT);  // nothing stored
  CHECK(s.file_count() == 0);
  REQUIRE(s.direct_extent(5, kChunk + 100, true, &e) == 0);
  CHECK(s.file_count() == 1);
  CHECK(e.local_start <= kChunk + 100);
  CHECK(kChunk + 100 - e.local_start < e.length);
  struct stat st;
  REQUIRE(::fstat(e.fd, &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_ino) == e.ino);
  CHECK(static_cast<uint64_t>(st.st_dev) == e.dev);
  // A client's duplicate of the descriptor, as pidfd_getfd gives it: bytes
  // written there are the store's bytes.
  int dup = ::fcntl(e.fd, F_DUPFD_CLOEXEC, 0);
  REQUIRE(dup >= 0);
  auto bytes = pattern(3000, 9);
  uint64_t at = e.address + (kChunk + 100 - e.local_start);
  REQUIRE(::pwrite(dup, bytes.data(), bytes.size(), static_cast<off_t>(at)) == 3000);
  CHECK(do_read(s, 5, kChunk + 100, 3000) == bytes);

  // A small file is the store's to move: EAGAIN, until a write needs it
  // in the large arena; its bytes move along.
  auto small = pattern(200, 2);
  CHECK(do_write(s, 6, 0, small) == 200);
  CHECK(s.direct_extent(6, 0, false, &e) == EAGAIN);
  DirectExtent e6;
  REQUIRE(s.direct_extent(6, 0, true, &e6) == 0);
  std::vector<char> moved(200);
  REQUIRE(::pread(e6.fd, moved.data(), 200, static_cast<off_t>(e6.address)) == 200);
  CHECK(moved == small);
  CHECK(do_read(s, 6, 0, 200) == small);

  CHECK(do_remove(s, 5) == 0);
  CHECK(do_remove(s, 6) == 0);
  CHECK(s.file_count() == 0);
  DirectExtent e7;
  REQUIRE(s.direct_extent(7, 0, true, &e7) == 0);
  auto place = [](const DirectExtent& x) { return std::pair{x.ino, x.address}; };
  CHECK(place(e7) != place(e));
  CHECK(place(e7) != place(e6));
  ::close(dup);
}

TEST_CASE("chunk store: no direct extents on a device or under a memory limit") {
  UringBackend u;         // the server keeps the I/O (io_uring)
  CappedMemoryBackend m;  // a peer copying in could not be held to the limit
  for (ChunkStore* s : {&u.store(), &m.store()}) {
    DirectExtent e;
    CHECK_FALSE(s->offers_backing_files());
    CHECK(s->direct_extent(5, 0, true, &e) == EOPNOTSUPP);
  }
}

}  // namespace benchfs
