// Full storage: writes past the capacity fail with ENOSPC (a short count
// first when part of a write fit), what was written before stays intact, and
// unlinking gives the space back.  The memory backend is filled through
// BENCHFS_MEMORY_LIMIT, the uring backend through a really full file system
// (a small tmpfs that rank 0 mounts).
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr size_t kChunk = 64 << 10;
// Each write spans 6 chunks, the last one partly: servers fill unevenly, so
// writes fail part way (a full server in the middle of a write) and not only
// at their first chunk.
constexpr size_t kFileLen = 5 * kChunk + 4196;

// Reads the first len bytes of path and checks the pattern and the size.
void check_file(const std::string& path, uint64_t seed, size_t len, bool exact_size) {
  CAPTURE(path);
  struct stat st;
  REQUIRE(benchfs_stat(path.c_str(), &st) == 0);
  if (exact_size)
    CHECK(st.st_size == static_cast<off_t>(len));
  else
    CHECK(st.st_size >= static_cast<off_t>(len));
  int fd = benchfs_open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::vector<char> buf(len);
  CHECK(benchfs_pread(fd, buf.data(), len, 0) == static_cast<ssize_t>(len));
  CHECK(first_mismatch(buf, seed, 0, len) == -1);
  CHECK(benchfs_close(fd) == 0);
}

// The three checks on a running BenchFS whose servers hold `capacity`
// bytes in all: fill it, verify, unlink, write again.
void fill_verify_unlink_rewrite() {
  const std::string kept = "/kept" + std::to_string(rank());
  REQUIRE(write_file(kept, 10 + rank(), kFileLen));
  MPI_Barrier(MPI_COMM_WORLD);
  const uint64_t free_before = free_bytes();
  INFO("free before filling: " << free_before);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank measured before any fills

  // Fill: each rank writes files until a write fails.  Every result is the
  // whole write, a short count (a prefix that fit) followed by a write of
  // the rest, or -1 with ENOSPC: never EIO, never a crash.
  struct Filled {
    std::string path;
    size_t stored;
  };
  std::vector<Filled> filled;
  std::vector<char> buf(kFileLen);
  int last_errno = 0;
  size_t short_counts = 0;
  const int max_files = static_cast<int>(free_before / kFileLen) + 8;  // never loops forever
  for (int i = 0; i < max_files && last_errno == 0; ++i) {
    std::string p = "/fill" + std::to_string(rank()) + "." + std::to_string(i);
    uint64_t seed = 1000 * (rank() + 1) + i;
    fill_pattern(buf, seed, 0);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    size_t done = 0;
    while (done < kFileLen) {
      ssize_t n = benchfs_write(fd, buf.data() + done, kFileLen - done);
      if (n < 0) {
        last_errno = errno;
        break;
      }
      REQUIRE(n > 0);
      if (done + static_cast<size_t>(n) < kFileLen) ++short_counts;
      done += static_cast<size_t>(n);
    }
    REQUIRE(benchfs_close(fd) == 0);
    filled.push_back({p, done});
  }
  INFO("rank " << rank() << " wrote " << filled.size() << " files, " << short_counts
               << " short counts");
  CHECK(last_errno == ENOSPC);
  MESSAGE("rank " << rank() << ": " << filled.size() << " files until ENOSPC, " << short_counts
                  << " short writes");

  // Still full: a write across every server fails on a full one (a short
  // count or ENOSPC).
  MPI_Barrier(MPI_COMM_WORLD);
  {
    std::vector<char> big(kChunk * size());
    fill_pattern(big, 7, 0);
    int fd = benchfs_open(("/more" + std::to_string(rank())).c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    ssize_t n = benchfs_pwrite(fd, big.data(), big.size(), 0);
    int e = errno;
    CHECK(n < static_cast<ssize_t>(big.size()));
    if (n < 0) CHECK(e == ENOSPC);
    CHECK(benchfs_close(fd) == 0);
    CHECK(benchfs_unlink(("/more" + std::to_string(rank())).c_str()) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // What was written before, and every byte a write reported, is intact,
  // read back by another rank for the kept files.
  int other = (rank() + 1) % size();
  check_file("/kept" + std::to_string(other), 10 + other, kFileLen, true);
  for (size_t i = 0; i < filled.size(); ++i)
    if (filled[i].stored > 0) check_file(filled[i].path, 1000 * (rank() + 1) + i, filled[i].stored, false);

  // Unlinking returns every byte, also those of writes that failed part way.
  for (const Filled& f : filled) CHECK(benchfs_unlink(f.path.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(free_bytes() == free_before);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank measured before any writes again

  // Writing works again, and reads back.
  const std::string again = "/again" + std::to_string(rank());
  CHECK(write_file(again, 20 + rank(), kFileLen));
  MPI_Barrier(MPI_COMM_WORLD);
  check_file("/again" + std::to_string(other), 20 + other, kFileLen, true);
  check_file(kept, 10 + rank(), kFileLen, true);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(again.c_str()) == 0);
  CHECK(benchfs_unlink(kept.c_str()) == 0);
}

// Rank 0's tmpfs mount; unmounted (lazily if still busy) and removed on
// every path out of the test case, also when a REQUIRE throws.
struct TmpfsMount {
  std::string dir;
  bool mounted = false;
  ~TmpfsMount() {
    if (mounted && umount(dir.c_str()) != 0) umount2(dir.c_str(), MNT_DETACH);
    if (!dir.empty()) rmdir(dir.c_str());
  }
};

}  // namespace

TEST_CASE("memory backend: BENCHFS_MEMORY_LIMIT full, then space back after unlink") {
  setenv("BENCHFS_MEMORY_LIMIT", "1m", 1);
  start("memory", "64k");
  unsetenv("BENCHFS_MEMORY_LIMIT");
  struct statvfs v;
  REQUIRE(benchfs_statvfs("/", &v) == 0);
  CHECK(static_cast<uint64_t>(v.f_blocks) * v.f_frsize == (1u << 20) * size());
  fill_verify_unlink_rewrite();
  stop();
}

TEST_CASE("uring backend on a full tmpfs, then space back after unlink") {
  TmpfsMount m;
  char result[256] = {};  // rank 0: mount point, or "!" and the reason
  if (rank() == 0) {
    std::string dir = scratch_dir() + "/tmpfs-XXXXXX";
    std::vector<char> tmpl(dir.begin(), dir.end());
    tmpl.push_back(0);
    if (!mkdtemp(tmpl.data())) {
      std::snprintf(result, sizeof result, "!mkdtemp: %s", std::strerror(errno));
    } else {
      m.dir = tmpl.data();
      if (mount("tmpfs", m.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=8m") != 0) {
        std::snprintf(result, sizeof result, "!mount: %s", std::strerror(errno));
      } else {
        m.mounted = true;
        std::snprintf(result, sizeof result, "%s", m.dir.c_str());
      }
    }
  }
  MPI_Bcast(result, sizeof result, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (result[0] == '!') {
    // Not root, or no CAP_SYS_ADMIN (a container): say so loudly.
    if (rank() == 0)
      std::fprintf(stderr, "full_storage_test: uring case skipped: cannot mount tmpfs (%s)\n",
                   result + 1);
    MESSAGE("skipped: cannot mount tmpfs (" << (result + 1) << ")");
    return;
  }
  // On tmpfs the store uses pread/pwrite in place of io_uring unless
  // BENCHFS_URING_INLINE=0: both paths must report a full device the same.
  for (const char* inline_io : {"1", "0"}) {
    CAPTURE(inline_io);
    setenv("BENCHFS_URING_INLINE", inline_io, 1);
    start("uring", "64k", result);
    fill_verify_unlink_rewrite();
    stop();
  }
  unsetenv("BENCHFS_URING_INLINE");
}
