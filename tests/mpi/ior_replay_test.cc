// IOR's and mdtest's call sequences replayed on the C API, so CI guards
// them without IOR: the backend in ior-patches/ issues exactly these calls.
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr size_t kBlock = 3 << 20;        // -b: per rank
constexpr size_t kTransfer = 256 << 10;   // -t

// One IOR write phase on a shared file: every rank creates it with O_TRUNC
// at once (no barrier between create and the writes, as IOR without -g),
// writes its block (segment layout), and closes after all are done.
void ior_write_shared(const char* path, uint64_t seed) {
  int fd = benchfs_open(path, O_CREAT | O_TRUNC | O_WRONLY, 0664);
  REQUIRE(fd >= 0);
  std::vector<char> buf(kTransfer);
  for (size_t off = 0; off < kBlock; off += kTransfer) {
    uint64_t at = rank() * kBlock + off;
    fill_pattern(buf, seed, at);
    REQUIRE(benchfs_pwrite(fd, buf.data(), kTransfer, static_cast<off_t>(at)) ==
            static_cast<ssize_t>(kTransfer));
  }
  // IOR's barrier after the write phase.  fsync (-e) publishes the size, so
  // it comes after it here: a rank whose O_TRUNC came after another rank's
  // fsync would rightly truncate that rank's data (POSIX; IOR has the same
  // window, made tiny by the barrier before its create).
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(benchfs_fsync(fd) == 0);
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);  // every writer closed before anyone reads
}

// IOR's read check (-R, -C: a rank reads its neighbour's block).
void ior_read_shared(const char* path, uint64_t seed) {
  struct stat st;
  REQUIRE(benchfs_stat(path, &st) == 0);  // get_file_size after every writer closed
  CHECK(st.st_size == static_cast<off_t>(kBlock * size()));
  int fd = benchfs_open(path, O_RDONLY);
  REQUIRE(fd >= 0);
  int other = (rank() + 1) % size();
  std::vector<char> buf(kTransfer);
  for (size_t off = 0; off < kBlock; off += kTransfer) {
    uint64_t at = other * kBlock + off;
    REQUIRE(benchfs_pread(fd, buf.data(), kTransfer, static_cast<off_t>(at)) ==
            static_cast<ssize_t>(kTransfer));
    long long bad = first_mismatch(buf, seed, at, kTransfer);
    INFO("first bad byte at " << at + bad);
    REQUIRE(bad == -1);
  }
  REQUIRE(benchfs_close(fd) == 0);
}

}  // namespace

TEST_CASE("IOR shared file: all ranks create with O_TRUNC at once, -i 3, -E") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    for (int iteration = 0; iteration < 3; ++iteration) {
      // IOR removes the file (rank 0) before each write test...
      if (rank() == 0 && iteration > 0) REQUIRE(benchfs_unlink("/ior.shared") == 0);
      MPI_Barrier(MPI_COMM_WORLD);
      ior_write_shared("/ior.shared", iteration);
      ior_read_shared("/ior.shared", iteration);
      MPI_Barrier(MPI_COMM_WORLD);
    }
    // ...unless -E (use existing file): then every O_TRUNC meets a full file.
    for (int iteration = 3; iteration < 5; ++iteration) {
      ior_write_shared("/ior.shared", iteration);
      ior_read_shared("/ior.shared", iteration);
      MPI_Barrier(MPI_COMM_WORLD);
    }
    if (rank() == 0) REQUIRE(benchfs_unlink("/ior.shared") == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
    stop();
  }
}

TEST_CASE("data written by one IOR test is read by the next (-k, two tests)") {
  // The backend starts BenchFS once and keeps it across tests: test 1 writes
  // file-per-process and keeps the files, test 2 reads them.
  start("uring");
  std::string mine = "/ior.fpp." + std::to_string(rank());
  int fd = benchfs_open(mine.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0664);
  std::vector<char> buf(kTransfer);
  for (size_t off = 0; off < kBlock; off += kTransfer) {
    fill_pattern(buf, 77, off);
    REQUIRE(benchfs_pwrite(fd, buf.data(), kTransfer, static_cast<off_t>(off)) ==
            static_cast<ssize_t>(kTransfer));
  }
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  // Test 2 (-r with -C: reorder tasks).
  std::string theirs = "/ior.fpp." + std::to_string((rank() + 1) % size());
  struct stat st;
  REQUIRE(benchfs_stat(theirs.c_str(), &st) == 0);
  CHECK(st.st_size == static_cast<off_t>(kBlock));
  fd = benchfs_open(theirs.c_str(), O_RDONLY);
  for (size_t off = 0; off < kBlock; off += kTransfer) {
    REQUIRE(benchfs_pread(fd, buf.data(), kTransfer, static_cast<off_t>(off)) ==
            static_cast<ssize_t>(kTransfer));
    REQUIRE(first_mismatch(buf, 77, off, kTransfer) == -1);
  }
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(benchfs_unlink(mine.c_str()) == 0);
  stop();
}

TEST_CASE("mdtest-hard shape: 3901-byte files in one shared directory") {
  start("memory");
  if (rank() == 0) {
    REQUIRE(benchfs_mkdir("/mdtest", 0777) == 0);
    REQUIRE(benchfs_mkdir("/mdtest/shared", 0777) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<char> data(3901);
  const int n = 200;
  for (int i = 0; i < n; ++i) {
    std::string p = "/mdtest/shared/file.mdtest." + std::to_string(rank()) + "." + std::to_string(i);
    fill_pattern(data, i, 0);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0664);  // mknod/create + write
    REQUIRE(benchfs_write(fd, data.data(), data.size()) == 3901);
    REQUIRE(benchfs_close(fd) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // Stat and read phases run on a shifted rank (-N 1).
  int other = (rank() + 1) % size();
  for (int i = 0; i < n; ++i) {
    std::string p = "/mdtest/shared/file.mdtest." + std::to_string(other) + "." + std::to_string(i);
    struct stat st;
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == 3901);
    int fd = benchfs_open(p.c_str(), O_RDONLY);
    REQUIRE(benchfs_read(fd, data.data(), data.size()) == 3901);
    CHECK(first_mismatch(data, i, 0, 3901) == -1);
    REQUIRE(benchfs_close(fd) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = 0; i < n; ++i) {
    std::string p = "/mdtest/shared/file.mdtest." + std::to_string(other) + "." + std::to_string(i);
    REQUIRE(benchfs_unlink(p.c_str()) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    REQUIRE(benchfs_rmdir("/mdtest/shared") == 0);
    REQUIRE(benchfs_rmdir("/mdtest") == 0);
  }
  stop();
}

TEST_CASE("a BenchFS never finalized by the program goes down in MPI_Finalize") {
  // Left running on purpose: mpi_main checks after MPI_Finalize that every
  // backing directory is gone (the MPI_COMM_SELF attribute callback).
  start("uring");
  std::string p = "/left.running." + std::to_string(rank());
  int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(benchfs_write(fd, "data", 4) == 4);
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(stored_bytes(scratch_dir()) > 0);
}
