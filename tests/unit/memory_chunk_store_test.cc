// Tests of the memory chunk store's own behaviour: no event fd, memory
// files that are counted and emptied when dropped, and the cap
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

// A memory file has no links while in use (how a client tells it from a
// tmpfs file), and dropping it gives its memory back at once.
TEST_CASE("memory store: memory files are counted, emptied and sealed when dropped") {
  MemoryBackend b;
  ChunkStore& s = b.store();
  int fd = -1;
  uint64_t dev = 0, ino = 0;
  REQUIRE(s.backing_file(5, true, &fd, &dev, &ino) == 0);
  struct stat st;
  REQUIRE(::fstat(fd, &st) == 0);
  CHECK(st.st_nlink == 0);
  CHECK(::fcntl(fd, F_GET_SEALS) == 0);
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  REQUIRE(dup >= 0);
  auto bytes = pattern(3000, 9);
  REQUIRE(::pwrite(dup, bytes.data(), bytes.size(), 100) == 3000);
  // Capacity counts what the files hold, also bytes a client wrote.
  uint64_t total = 0, free = 0;
  REQUIRE(s.capacity(&total, &free) == 0);
  CHECK(total - free >= 3000);
  CHECK(do_remove(s, 5) == 0);
  REQUIRE(::fstat(dup, &st) == 0);
  CHECK(st.st_size == 0);
  ::close(dup);
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
