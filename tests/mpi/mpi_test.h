// Helpers shared by the MPI tests.  Each test binary runs its doctest cases
// on every rank; cases are collective (all ranks run the same sequence).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <mpi.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "benchfs/benchfs.h"

namespace benchfs_test {

// How mpi_main.cc's main() runs a test program.  A program that needs
// something else sets it from a static initializer (dead_rank_test).
struct MainOptions {
  int min_ranks = 1;  // fewer: the program is skipped, with `skip_reason`
  const char* skip_reason = "";
  // Called on every rank after MPI_Init, before the tests (e.g. setenv).
  void (*prepare)() = nullptr;
  // Points at a flag a test sets on the ranks that survive a rank it lost
  // on purpose: they then leave without any collective, and without the
  // check for backing files left behind (the lost rank's stay).
  const bool* rank_lost = nullptr;
  // With rank_lost: the surviving ranks (made before the loss), which wait
  // for each other before any leaves.  For a rank killed by a signal, where
  // Open MPI ends the job as soon as the first survivor leaves (see
  // write_result).
  const MPI_Comm* survivors = nullptr;
};
MainOptions& main_options();

// With BENCHFS_TEST_RESULT_DIR set, writes this rank's verdict ("pass",
// "fail", "skip", or "killed" from a rank killed on purpose) to
// <dir>/rank.<rank>, for tests/check-results.  For a job with a rank killed
// on purpose, whose mpirun exit status says nothing about the test: it is
// 137 however the survivors fared (docs/reliability.md, "What MPI does").
// A verdict that cannot be written is a missing file, which fails the run.
inline void write_result(int rank, const char* verdict) {
  const char* dir = getenv("BENCHFS_TEST_RESULT_DIR");
  if (!dir || !*dir) return;
  const std::string path = std::string(dir) + "/rank." + std::to_string(rank);
  if (FILE* f = fopen(path.c_str(), "w")) {
    fprintf(f, "%s\n", verdict);
    fclose(f);
  }
}

inline int rank() {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int size() {
  int s;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Other ranks on this rank's host, as MPI sees hosts (ranks that can share
// memory): 0 when every rank runs on a host of its own (scripts/hosts run
// --ranks-per-host 1).  Collective.
inline int ranks_on_my_host_besides_me() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int n = 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n - 1;
}

// Byte `i` of the test pattern of a (file, seed): every byte differs by
// position, so misplaced or stale data is caught.
inline unsigned char pattern_byte(uint64_t seed, uint64_t i) {
  uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ULL ^ seed * 0xD6E8FEB86659FD93ULL;
  x ^= x >> 29;
  return static_cast<unsigned char>(x ^ (x >> 8));
}

inline void fill_pattern(std::vector<char>& buf, uint64_t seed, uint64_t file_offset) {
  for (size_t i = 0; i < buf.size(); ++i)
    buf[i] = static_cast<char>(pattern_byte(seed, file_offset + i));
}

// Index of the first byte that differs from the pattern, or -1.
inline long long first_mismatch(const std::vector<char>& buf, uint64_t seed, uint64_t file_offset,
                                size_t len) {
  for (size_t i = 0; i < len; ++i)
    if (static_cast<unsigned char>(buf[i]) != pattern_byte(seed, file_offset + i))
      return static_cast<long long>(i);
  return -1;
}

// True on every rank iff `ok` on every rank.
inline bool all(bool ok) {
  int mine = ok ? 1 : 0, every = 0;
  MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return every == 1;
}

// The backends every I/O test runs against.
inline std::vector<std::string> backends() { return {"memory", "uring"}; }

// A new directory "<base>/<prefix>XXXXXX" made by rank 0, its name known to
// every rank (they are on one node); "" if it could not be made (collective).
inline std::string make_shared_dir(const std::string& base, const char* prefix) {
  char buf[256] = {};
  if (rank() == 0) {
    snprintf(buf, sizeof buf, "%s/%sXXXXXX", base.c_str(), prefix);
    if (!mkdtemp(buf)) buf[0] = 0;
  }
  MPI_Bcast(buf, sizeof buf, MPI_CHAR, 0, MPI_COMM_WORLD);
  return std::string(buf);
}

// Writes len pattern bytes at offset in transfers of xfer bytes.
inline void write_pattern(int fd, uint64_t seed, uint64_t offset, size_t len, size_t xfer) {
  std::vector<char> buf;
  for (size_t done = 0; done < len; done += xfer) {
    size_t n = std::min(xfer, len - done);
    buf.resize(n);
    fill_pattern(buf, seed, offset + done);
    REQUIRE(benchfs_pwrite(fd, buf.data(), n, static_cast<off_t>(offset + done)) ==
            static_cast<ssize_t>(n));
  }
}

// Reads len bytes at offset in transfers of xfer bytes and checks the pattern.
inline void check_pattern(int fd, uint64_t seed, uint64_t offset, size_t len, size_t xfer) {
  std::vector<char> buf(xfer);
  for (size_t done = 0; done < len; done += xfer) {
    size_t n = std::min(xfer, len - done);
    REQUIRE(benchfs_pread(fd, buf.data(), n, static_cast<off_t>(offset + done)) ==
            static_cast<ssize_t>(n));
    long long bad = first_mismatch(buf, seed, offset + done, n);
    INFO("first bad byte at file offset " << offset + done + bad);
    REQUIRE(bad == -1);
  }
}

// Creates (or empties) path and writes len pattern bytes of seed into it:
// true if all of them were stored, else false with errno set (ENOSPC for a
// short count, which means a full server).
inline bool write_file(const std::string& path, uint64_t seed, size_t len) {
  std::vector<char> buf(len);
  fill_pattern(buf, seed, 0);
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return false;
  ssize_t n = benchfs_pwrite(fd, buf.data(), len, 0);
  int err = n == static_cast<ssize_t>(len) ? 0 : n < 0 ? errno : ENOSPC;
  if (benchfs_close(fd) != 0 && err == 0) err = errno;
  errno = err;
  return err == 0;
}

inline off_t size_of(const char* path) {
  struct stat st;
  REQUIRE(benchfs_stat(path, &st) == 0);
  return st.st_size;
}

// A directory for this job's backing stores, shared by all ranks; removed
// by the test's main at exit.
inline const std::string& scratch_dir() {
  static std::string dir = [] {
    const char* tmp = getenv("TMPDIR");
    return make_shared_dir(tmp && *tmp ? tmp : "/tmp", "benchfs-test-");
  }();
  return dir;
}

// Regular files anywhere below dir.
inline size_t count_files(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) ++n;
  return n;
}

// Bytes the regular files below dir hold (holes cost nothing): what the
// uring backend's arenas keep while BenchFS runs.
inline uint64_t stored_bytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (it->is_regular_file() && ::stat(it->path().c_str(), &st) == 0)
      n += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return n;
}

// What the arenas of a job with every byte removed may still hold: a file
// system may keep a block or so of an emptied sparse file's extent tree.
inline uint64_t empty_arenas_bytes() { return (uint64_t{64} << 10) * static_cast<uint64_t>(size()); }

// Starts BenchFS with the given backend, chunk size and backing directory
// (collective).
inline void start(const std::string& backend, const char* chunk_size = "1m",
                  const std::string& dir = scratch_dir()) {
  REQUIRE(!dir.empty());
  setenv("BENCHFS_BACKEND", backend.c_str(), 1);
  setenv("BENCHFS_CHUNK_SIZE", chunk_size, 1);
  setenv("BENCHFS_DIR", dir.c_str(), 1);
  REQUIRE(benchfs_init(MPI_COMM_WORLD) == 0);
}

inline void stop() { REQUIRE(benchfs_finalize() == 0); }

// Free bytes of BenchFS summed over every server (benchfs_statvfs).
inline uint64_t free_bytes() {
  struct statvfs v;
  REQUIRE(benchfs_statvfs("/", &v) == 0);
  return static_cast<uint64_t>(v.f_bfree) * v.f_frsize;
}

// Name -> d_type of every entry of a BenchFS directory except "." and "..".
inline std::map<std::string, unsigned char> list_dir(const std::string& path) {
  std::map<std::string, unsigned char> names;
  benchfs_dir* d = benchfs_opendir(path.c_str());
  REQUIRE(d != nullptr);
  int dots = 0;
  errno = 0;
  while (struct dirent* e = benchfs_readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") {
      ++dots;
      CHECK(e->d_type == DT_DIR);
      continue;
    }
    CHECK(names.count(n) == 0);  // every entry exactly once
    names[n] = e->d_type;
  }
  CHECK(errno == 0);
  CHECK(dots == 2);
  REQUIRE(benchfs_closedir(d) == 0);
  return names;
}

// Entries of a directory of this machine (not BenchFS) but "." and "..".
inline size_t count_dir_entries(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
    closedir(d);
  }
  return n;
}

}  // namespace benchfs_test
