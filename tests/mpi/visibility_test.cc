// Visibility across ranks, and across hosts under scripts/hosts: a change
// that has returned on one rank is seen by every rank after a barrier
// (issue 21: a directory listed right after a barrier lacked an entry).
//
// BENCHFS_TEST_ROUNDS (default 3) repeats each check with fresh names.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

int rounds() {
  const char* v = getenv("BENCHFS_TEST_ROUNDS");
  int n = v && *v ? atoi(v) : 3;
  return n > 0 ? n : 1;
}

// The backing directory: on /dev/shm where there is one (where the issue
// was seen), else the test's scratch directory.  Made by rank 0, removed
// by the caller.
std::string backing_dir() {
  if (access("/dev/shm", W_OK) == 0) return make_shared_dir("/dev/shm", "benchfs-vis-");
  return make_shared_dir(scratch_dir(), "vis-");
}

void remove_backing_dir(const std::string& dir) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

// Hosts in the job, as MPI sees them: one leader per group of ranks that
// share memory.
int nhosts() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_rank = 0;
  MPI_Comm_rank(node, &node_rank);
  MPI_Comm_free(&node);
  int leader = node_rank == 0 ? 1 : 0;
  int n = 0;
  MPI_Allreduce(&leader, &n, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return n;
}

// Short names: a server's page of a 300-entry directory (about 75 entries
// at 4 ranks) travels eager; long ones make it larger than the 8 KiB eager
// threshold, so it travels rendezvous.
std::string file_name(int owner, int i, bool long_name) {
  std::string n = "file.mdtest." + std::to_string(owner) + "." + std::to_string(i);
  if (long_name) n += "." + std::string(120, 'x');
  return n;
}

void check_listings(bool long_names) {
  constexpr int kFiles = 300;
  const int hosts = nhosts();
  if (rank() == 0) MESSAGE(size() << " rank(s) on " << hosts << " host(s)");
  const std::string backing = backing_dir();
  start("uring", "64k", backing);
  int lost_total = 0;
  for (int round = 0; round < rounds(); ++round) {
    const std::string base = long_names ? "/long" : "/vis";
    std::string mine = base + std::to_string(round) + "." + std::to_string(rank());
    REQUIRE(benchfs_mkdir(mine.c_str(), 0755) == 0);
    for (int i = 0; i < kFiles; ++i) {
      std::string p = mine + "/" + file_name(rank(), i, long_names);
      int fd = benchfs_open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
      REQUIRE_MESSAGE(fd >= 0, p << ": " << strerror(errno));
      REQUIRE(benchfs_close(fd) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    // Another rank's directory (on another host where there is one).
    const int owner = (rank() + 1) % size();
    const std::string theirs = base + std::to_string(round) + "." + std::to_string(owner);
    benchfs_dir* d = benchfs_opendir(theirs.c_str());
    REQUIRE_MESSAGE(d != nullptr, theirs << ": " << strerror(errno));
    std::set<std::string> seen;
    errno = 0;
    while (struct dirent* e = benchfs_readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") CHECK_MESSAGE(seen.insert(name).second, "twice: " << name);
    }
    const int listing_errno = errno;
    CHECK_MESSAGE(listing_errno == 0, theirs << ": readdir ended with " << strerror(listing_errno));
    CHECK(benchfs_closedir(d) == 0);
    std::string missing;
    int lost = 0;
    for (int i = 0; i < kFiles; ++i) {
      std::string name = file_name(owner, i, long_names);
      if (seen.count(name)) continue;
      ++lost;
      missing += " " + name;
      // Is it there when asked by name?
      struct stat st;
      std::string p = theirs + "/" + name;
      missing += benchfs_stat(p.c_str(), &st) == 0 ? " (stat finds it)" : " (stat: " + std::string(strerror(errno)) + ")";
    }
    CHECK_MESSAGE(lost == 0, "round " << round << ": rank " << rank() << " listed " << seen.size()
                                      << " of " << kFiles << " entries of " << theirs
                                      << "; missing:" << missing);
    CHECK(seen.size() == static_cast<size_t>(kFiles) - lost);
    lost_total += lost;
    MPI_Barrier(MPI_COMM_WORLD);
  }
  CHECK(all(lost_total == 0));
  stop();
  remove_backing_dir(backing);
}

}  // namespace

TEST_CASE("files created before a barrier are all listed after it, on every host") {
  check_listings(false);
}

TEST_CASE("the same with pages above the eager threshold (rendezvous)") {
  check_listings(true);
}
