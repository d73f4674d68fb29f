// File metadata across ranks: what stat returns, truncate and ftruncate
// shrinking and growing files, chmod, access and statvfs (with the memory
// backend's cap).  Part of the namespace_test program (namespace_test.cc).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "mpi_test.h"

using namespace benchfs_test;

TEST_CASE("stat returns real mode, owner, size and times") {
  start("memory");
  std::string p = "/attrs" + std::to_string(rank());
  time_t before = time(nullptr);
  int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0640);
  REQUIRE(fd >= 0);
  CHECK(benchfs_write(fd, "abc", 3) == 3);
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  // Seen from another rank.
  std::string other = "/attrs" + std::to_string((rank() + 1) % size());
  struct stat st;
  REQUIRE(benchfs_stat(other.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == geteuid());
  CHECK(st.st_gid == getegid());
  CHECK(st.st_nlink == 1);
  CHECK(st.st_size == 3);
  CHECK(st.st_mtime >= before - 1);
  CHECK(st.st_mtime <= time(nullptr) + 1);
  CHECK(st.st_ctime >= before - 1);
  CHECK(st.st_atime >= before - 1);
  CHECK(st.st_ino != 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(p.c_str()) == 0);
  stop();
}

TEST_CASE("truncate shrinks and grows; chmod, access, statvfs") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const size_t cs = 64 << 10;
    std::string p = "/tr" + std::to_string(rank());
    std::vector<char> data(5 * cs + 17);
    fill_pattern(data, 21, 0);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(benchfs_write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    REQUIRE(benchfs_close(fd) == 0);

    // Shrink by path, then grow through an fd: the gap reads as zeros.
    REQUIRE(benchfs_truncate(p.c_str(), static_cast<off_t>(cs + 5)) == 0);
    struct stat st;
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == static_cast<off_t>(cs + 5));
    fd = benchfs_open(p.c_str(), O_RDWR);
    REQUIRE(benchfs_ftruncate(fd, static_cast<off_t>(4 * cs)) == 0);
    std::vector<char> back(4 * cs, 'x');
    REQUIRE(benchfs_pread(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
    CHECK(first_mismatch(back, 21, 0, cs + 5) == -1);
    CHECK(std::all_of(back.begin() + cs + 5, back.end(), [](char c) { return c == 0; }));
    REQUIRE(benchfs_close(fd) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == static_cast<off_t>(4 * cs));
    // ftruncate of a read-only fd is refused as on Linux.
    fd = benchfs_open(p.c_str(), O_RDONLY);
    CHECK(benchfs_ftruncate(fd, 0) == -1);
    CHECK(errno == EINVAL);
    REQUIRE(benchfs_close(fd) == 0);
    // Shrinking to zero leaves no data anywhere.
    REQUIRE(benchfs_truncate(p.c_str(), 0) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0 && backend == "uring") CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
    MPI_Barrier(MPI_COMM_WORLD);

    // chmod changes the mode and ctime; access follows the bits.
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    struct timespec old_ctime = st.st_ctim;
    REQUIRE(benchfs_chmod(p.c_str(), 0600) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_ctim.tv_sec > old_ctime.tv_sec ||
           (st.st_ctim.tv_sec == old_ctime.tv_sec && st.st_ctim.tv_nsec >= old_ctime.tv_nsec)));
    CHECK(benchfs_access(p.c_str(), F_OK) == 0);
    CHECK(benchfs_access(p.c_str(), R_OK | W_OK) == 0);
    // No x bit for anyone: even root may not execute.
    CHECK(benchfs_access(p.c_str(), X_OK) == -1);
    CHECK(errno == EACCES);
    REQUIRE(benchfs_chmod(p.c_str(), 0755) == 0);
    CHECK(benchfs_access(p.c_str(), X_OK) == 0);

    // utimens sets the times as utimensat: given, omitted, now.
    struct timespec times[2] = {{1000000000, 5}, {1200000000, 999999999}};
    REQUIRE(benchfs_utimens(p.c_str(), times) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000);
    CHECK(st.st_atim.tv_nsec == 5);
    CHECK(st.st_mtim.tv_sec == 1200000000);
    CHECK(st.st_mtim.tv_nsec == 999999999);
    times[0].tv_nsec = UTIME_OMIT;
    times[1] = {0, UTIME_NOW};
    REQUIRE(benchfs_utimens(p.c_str(), times) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == 1000000000);
    CHECK(st.st_mtim.tv_sec >= ::time(nullptr) - 60);
    fd = benchfs_open(p.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    times[0] = {7, 0};
    times[1] = {8, 0};
    REQUIRE(benchfs_futimens(fd, times) == 0);
    REQUIRE(benchfs_close(fd) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_atim.tv_sec == 7);
    CHECK(st.st_mtim.tv_sec == 8);
    REQUIRE(benchfs_utimens(p.c_str(), nullptr) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_mtim.tv_sec >= ::time(nullptr) - 60);
    times[1] = {1, 1000000000};
    CHECK(benchfs_utimens(p.c_str(), times) == -1);
    CHECK(errno == EINVAL);
    CHECK(benchfs_utimens((p + "-missing").c_str(), nullptr) == -1);
    CHECK(errno == ENOENT);

    // The mount prefix names the same file ("/benchfs" + p is p).
    struct stat via_mount;
    REQUIRE(benchfs_stat(("/benchfs" + p).c_str(), &via_mount) == 0);
    CHECK(via_mount.st_ino == st.st_ino);
    REQUIRE(benchfs_stat("/benchfs", &via_mount) == 0);
    CHECK(S_ISDIR(via_mount.st_mode));

    // statvfs sums every server's capacity.
    struct statvfs v;
    REQUIRE(benchfs_statvfs("/", &v) == 0);
    CHECK(v.f_blocks > 0);
    CHECK(v.f_bfree <= v.f_blocks);
    CHECK(v.f_namemax == NAME_MAX);
    if (backend == "memory") {
      // The memory backend's cap: the sum over ranks, less what is used.
      stop();
      setenv("BENCHFS_MEMORY_LIMIT", "1m", 1);
      start(backend, "64k");
      REQUIRE(benchfs_statvfs("/", &v) == 0);
      CHECK(v.f_blocks * v.f_frsize == (1ULL << 20) * size());
      // Past the cap, writes fail with ENOSPC; after freeing they work again.
      std::vector<char> big(2 << 20, 'b');
      fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      REQUIRE(fd >= 0);
      size_t written = 0;
      errno = 0;
      while (written < big.size() * size()) {
        ssize_t n = benchfs_pwrite(fd, big.data(), cs, static_cast<off_t>(written));
        if (n < 0) break;
        written += cs;
      }
      CHECK(errno == ENOSPC);
      REQUIRE(benchfs_close(fd) == 0);
      MPI_Barrier(MPI_COMM_WORLD);
      REQUIRE(benchfs_unlink(p.c_str()) == 0);
      MPI_Barrier(MPI_COMM_WORLD);
      fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      CHECK(benchfs_pwrite(fd, big.data(), cs, 0) == static_cast<ssize_t>(cs));
      REQUIRE(benchfs_close(fd) == 0);
      unsetenv("BENCHFS_MEMORY_LIMIT");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_unlink(p.c_str()) == 0);
    stop();
  }
}
