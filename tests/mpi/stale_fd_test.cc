// Descriptors opened before another rank's unlink or O_TRUNC open (issue
// 24, item 3).  BenchFS keeps the relaxed rule: such a descriptor's next
// write fails with ESTALE and stores nothing, so no byte outlives the
// removal; a read fails with ESTALE too once the file had writers.  Before, its writes succeeded and landed in storage
// for the removed id that no later unlink reclaimed until the job ended.
//
// Files of 8 chunks of 64 KiB span every server; every rank holds a
// descriptor, half of them wrote through it before the removal.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr size_t kChunk = 64 << 10;
constexpr size_t kFileBytes = 8 * kChunk;

// What the servers hold: the arenas' blocks (uring), or the memory files'
// bytes, which statvfs counts exactly (memory).
uint64_t held_bytes(const std::string& backend) {
  uint64_t held = 0;
  if (backend == "uring") {
    if (rank() == 0) held = stored_bytes(scratch_dir());
  } else {
    struct statvfs v;
    REQUIRE(benchfs_statvfs("/", &v) == 0);
    held = (static_cast<uint64_t>(v.f_blocks) - v.f_bfree) * v.f_frsize;
  }
  MPI_Bcast(&held, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return held;
}

// Every rank opens path for writing; odd ranks write all of it (so they
// hold extents, and are counted as writers).
int open_before(const std::string& path) {
  int fd = benchfs_open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  if (rank() % 2 == 1) write_pattern(fd, 100 + rank(), 0, kFileBytes, kFileBytes);
  return fd;
}

// The stale descriptor's writes, anywhere in the file and past its end,
// fail with ESTALE; so does a read of it.  Then it closes.
void check_stale(int fd) {
  std::vector<char> buf(2 * kFileBytes, 'x');
  errno = 0;
  CHECK(benchfs_pwrite(fd, buf.data(), buf.size(), 0) == -1);
  CHECK(errno == ESTALE);
  errno = 0;
  CHECK(benchfs_pwrite(fd, buf.data(), 100, 3 * kFileBytes) == -1);
  CHECK(errno == ESTALE);
  errno = 0;
  CHECK(benchfs_write(fd, buf.data(), kChunk) == -1);
  CHECK(errno == ESTALE);
  CHECK(benchfs_close(fd) == 0);
}

}  // namespace

TEST_CASE("a descriptor opened before another rank's unlink gets ESTALE, and nothing leaks") {
  for (std::string backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const uint64_t empty = held_bytes(backend);
    if (rank() == 0) REQUIRE(write_file("/victim", 1, kFileBytes));
    MPI_Barrier(MPI_COMM_WORLD);
    int fd = open_before("/victim");
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == size() - 1) REQUIRE(benchfs_unlink("/victim") == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    check_stale(fd);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(held_bytes(backend) <= empty + (backend == "uring" ? empty_arenas_bytes() : 0));
    // The name is free for a new file, which is written normally.
    if (rank() == 0) {
      REQUIRE(write_file("/victim", 2, kFileBytes));
      int rfd = benchfs_open("/victim", O_RDONLY);
      REQUIRE(rfd >= 0);
      check_pattern(rfd, 2, 0, kFileBytes, kFileBytes);
      REQUIRE(benchfs_close(rfd) == 0);
      REQUIRE(benchfs_unlink("/victim") == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(held_bytes(backend) <= empty + (backend == "uring" ? empty_arenas_bytes() : 0));
    stop();
  }
}

TEST_CASE("a descriptor opened before another rank's O_TRUNC open gets ESTALE") {
  for (std::string backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const uint64_t empty = held_bytes(backend);
    if (rank() == 0) REQUIRE(write_file("/t", 1, kFileBytes));
    MPI_Barrier(MPI_COMM_WORLD);
    int fd = open_before("/t");
    int rfd = benchfs_open("/t", O_RDONLY);
    REQUIRE(rfd >= 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == size() - 1) {
      // The truncating writer's file is a new one, written normally.
      int tfd = benchfs_open("/t", O_WRONLY | O_TRUNC);
      REQUIRE(tfd >= 0);
      write_pattern(tfd, 3, 0, kFileBytes / 2, kChunk);
      REQUIRE(benchfs_close(tfd) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    check_stale(fd);
    // The old file's reader never gets the new file's bytes, nor the old
    // ones: ESTALE where the file had writers when it was replaced (any
    // rank but 0 here), else the holes of a file with nothing stored.
    std::vector<char> buf(kChunk, 'x');
    errno = 0;
    ssize_t got = benchfs_pread(rfd, buf.data(), buf.size(), 0);
    if (size() > 1) {
      CHECK(got == -1);
      CHECK(errno == ESTALE);
    } else {
      CHECK(got == static_cast<ssize_t>(buf.size()));
      CHECK(std::count(buf.begin(), buf.end(), 0) == static_cast<long>(buf.size()));
    }
    CHECK(benchfs_close(rfd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(size_of("/t") == static_cast<off_t>(kFileBytes / 2));
    rfd = benchfs_open("/t", O_RDONLY);
    REQUIRE(rfd >= 0);
    check_pattern(rfd, 3, 0, kFileBytes / 2, kChunk);
    REQUIRE(benchfs_close(rfd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) REQUIRE(benchfs_unlink("/t") == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(held_bytes(backend) <= empty + (backend == "uring" ? empty_arenas_bytes() : 0));
    stop();
  }
}
