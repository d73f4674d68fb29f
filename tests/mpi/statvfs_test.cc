// statvfs counts each backing store once (issue 24, item 4): the ranks of
// a host that share one file system (uring) or the host's RAM (memory
// without a limit) count it once, not once per rank; a memory limit is
// per rank, so it is summed.  Before, 4 ranks on one host reported 4
// times the disk.  make check runs every rank on one machine.
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

uint64_t benchfs_capacity() {
  struct statvfs v;
  REQUIRE(benchfs_statvfs("/", &v) == 0);
  CHECK(v.f_bfree <= v.f_blocks);
  return static_cast<uint64_t>(v.f_blocks) * v.f_frsize;
}

}  // namespace

TEST_CASE("statvfs counts a file system shared by a host's ranks once") {
  start("uring");
  struct statvfs local;
  REQUIRE(statvfs(scratch_dir().c_str(), &local) == 0);
  uint64_t disk = static_cast<uint64_t>(local.f_blocks) * local.f_frsize;
  CHECK(benchfs_capacity() == disk / 4096 * 4096);
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}

TEST_CASE("statvfs counts a host's RAM once, and a memory limit once per rank") {
  start("memory");
  uint64_t ram = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                 static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  CHECK(benchfs_capacity() == ram / 4096 * 4096);
  // What a rank stores counts against it.
  REQUIRE(write_file("/f" + std::to_string(rank()), 1, 1 << 20));
  MPI_Barrier(MPI_COMM_WORLD);
  struct statvfs v;
  REQUIRE(benchfs_statvfs("/", &v) == 0);
  CHECK((static_cast<uint64_t>(v.f_blocks) - v.f_bfree) * v.f_frsize >=
        static_cast<uint64_t>(size()) << 20);
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
  setenv("BENCHFS_MEMORY_LIMIT", "1m", 1);
  start("memory");
  CHECK(benchfs_capacity() == static_cast<uint64_t>(size()) << 20);
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
  unsetenv("BENCHFS_MEMORY_LIMIT");
}
