// Tests of the memory chunk store's own behaviour: no event fd, arenas
// that are counted and give memory back when bytes are dropped, and the cap
// (BENCHFS_MEMORY_LIMIT).  What it shares with the other backends is tested
// in chunk_store_test.cc.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "chunk_store_testing.h"

namespace benchfs {
using namespace chunk_store_testing;

TEST_CASE("memory store: no event fd, never busy") {
  MemoryChunkStore s(kChunk, 0);
  CHECK(s.event_fd() == -1);
  CHECK_FALSE(s.busy());
  CHECK(s.poll() == 0);
  CHECK(do_write(s, 1, 0, pattern(10, 1)) == 10);
  CHECK(s.file_count() == 1);
  s.destroy(false);
  CHECK(s.file_count() == 0);
}

// Capacity counts what the memory files hold (also bytes a same-host
// client copied in), and a removal gives the memory back at once.
TEST_CASE("memory store: capacity counts the arenas, removal frees memory") {
  MemoryBackend b;
  ChunkStore& s = b.store();
  uint64_t total = 0, free0 = 0, free1 = 0, free2 = 0;
  REQUIRE(s.capacity(&total, &free0) == 0);
  DirectExtent e;
  REQUIRE(s.direct_extent(5, 0, true, &e) == 0);
  struct stat st;
  REQUIRE(::fstat(e.fd, &st) == 0);
  CHECK(st.st_nlink == 0);  // a memory file
  auto bytes = pattern(1 << 20, 9);
  REQUIRE(::pwrite(e.fd, bytes.data(), bytes.size(), static_cast<off_t>(e.address)) == 1 << 20);
  for (uint64_t id = 10; id < 110; ++id) CHECK(do_write(s, id, 0, pattern(3901, 1)) == 3901);
  REQUIRE(s.capacity(&total, &free1) == 0);
  CHECK(free0 - free1 >= (1 << 20) + 100 * 3901);
  CHECK(do_remove(s, 5) == 0);
  for (uint64_t id = 10; id < 110; ++id) CHECK(do_remove(s, id) == 0);
  REQUIRE(s.capacity(&total, &free2) == 0);
  CHECK(free2 + (64 << 10) >= free0);
}

TEST_CASE("memory chunk store: the cap gives ENOSPC and frees with truncate and remove") {
  MemoryChunkStore s(4096, 3 * 4096);
  std::vector<char> buf(4096, 'm');
  auto write = [&](uint64_t id, uint64_t off, size_t len) {
    int64_t result = 1;
    s.write(id, off, buf.data(), len, [&](int64_t r) { result = r; });
    return result;
  };
  CHECK(write(1, 0, 4096) == 4096);
  CHECK(write(1, 4096, 4096) == 4096);
  CHECK(write(2, 0, 4096) == 4096);
  uint64_t total = 0, free = 0;
  REQUIRE(s.capacity(&total, &free) == 0);
  CHECK(total == 3 * 4096);
  CHECK(free == 0);
  CHECK(write(3, 0, 1) == -ENOSPC);
  CHECK(write(1, 100, 50) == 50);  // overwriting stored bytes needs no room
  CHECK(s.file_count() == 2);      // the refused write stored nothing
  s.truncate(1, 4096, [](int64_t) {});
  CHECK(s.used() == 2 * 4096);
  CHECK(write(3, 0, 4096) == 4096);
  s.remove(2, [](int64_t) {});
  s.remove(3, [](int64_t) {});
  s.truncate(1, 10, [](int64_t) {});
  CHECK(s.used() == 10);
  REQUIRE(s.capacity(&total, &free) == 0);
  CHECK(free == 3 * 4096 - 10);
}

}  // namespace benchfs
