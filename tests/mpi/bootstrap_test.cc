// The collective start and stop of BenchFS.
#include <sys/resource.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "api/instance.h"
#include "common/placement.h"
#include "mpi_test.h"

using namespace benchfs_test;

namespace {

size_t count_entries(const char* dir) { return count_dir_entries(dir); }

// This process's threads but the kernel's io_uring workers (iou-wrk-*):
// those come and go on their own (an idle one exits after a while).
size_t count_threads() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    std::getline(comm, name);
    n += name.rfind("iou-", 0) != 0;
  }
  return n;
}

double cpu_seconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

TEST_CASE("entry points before init fail with ENODEV") {
  CHECK(benchfs_initialized() == 0);
  errno = 0;
  CHECK(benchfs_open("/x", O_RDONLY) == -1);
  CHECK(errno == ENODEV);
  errno = 0;
  CHECK(benchfs_finalize() == -1);
  CHECK(errno == ENODEV);
  errno = 0;
  CHECK(benchfs_rank() == -1);
  CHECK(errno == ENODEV);
}

TEST_CASE("init and finalize five times leak no thread and no fd") {
  // A first cycle lets MPI and UCX open whatever they keep for the process.
  start("uring");
  stop();
  size_t fds = count_entries("/proc/self/fd");
  size_t tasks = count_threads();
  for (int i = 0; i < 5; ++i) {
    start(i % 2 ? "memory" : "uring");
    CHECK(benchfs_initialized() == 1);
    CHECK(benchfs_rank() == rank());
    CHECK(benchfs_size() == size());
    // The progress thread is running while BenchFS is up.
    CHECK(count_threads() > tasks);
    stop();
    CHECK(benchfs_initialized() == 0);
  }
  CHECK(count_entries("/proc/self/fd") == fds);
  CHECK(count_threads() == tasks);
  // The uring backend's directories are gone after finalize.
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(count_files(scratch_dir()) == 0);
}

TEST_CASE("a second init without finalize is EALREADY and harms nothing") {
  start("memory");
  errno = 0;
  CHECK(benchfs_init(MPI_COMM_WORLD) == -1);
  CHECK(errno == EALREADY);
  CHECK(benchfs_initialized() == 1);
  stop();
}

TEST_CASE("an invalid setting fails init with EINVAL on every rank") {
  setenv("BENCHFS_CHUNK_SIZE", "lots", 1);
  setenv("BENCHFS_BACKEND", "memory", 1);
  errno = 0;
  CHECK(benchfs_init(MPI_COMM_WORLD) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_initialized() == 0);
  // A setting that is bad on one rank only also fails everywhere.
  if (rank() == size() - 1) setenv("BENCHFS_BACKEND", "floppy", 1);
  setenv("BENCHFS_CHUNK_SIZE", "1m", 1);
  errno = 0;
  CHECK(benchfs_init(MPI_COMM_WORLD) == -1);
  CHECK(errno == EINVAL);
  // MPI and BenchFS still work afterwards.
  start("memory");
  stop();
}

TEST_CASE("an idle job costs under 2% of a core per rank, also after calls") {
  start("uring");
  // Calls first: while the application calls, the progress thread watches
  // (wakes every BENCHFS_WATCH_US) instead of sleeping armed; once the
  // application stops calling it must go back to sleeping for good.
  std::string mine = "/idle" + std::to_string(rank());
  std::vector<char> data(1 << 20, 'i');
  int fd = benchfs_open(mine.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  CHECK(benchfs_write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
  CHECK(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  for (int r = 0; r < size(); ++r) {
    struct stat st;
    CHECK(benchfs_stat(("/idle" + std::to_string(r)).c_str(), &st) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // Let the progress thread finish its spin and its watches.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto wakeups = [] {
    uint64_t n = 0;
    benchfs::with_instance([&](benchfs::Instance& in) {
      n = in.engine->stats().progress_wakeups;
      return 0;
    });
    return n;
  };
  uint64_t wakeups_before = wakeups();
  double before = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(5));
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double used = cpu_seconds() - before;
  uint64_t woken = wakeups() - wakeups_before;
  MESSAGE("rank " << rank() << " used " << used << " s of CPU in " << wall << " s idle; "
                  << woken << " progress wake-ups");
  // Measured idle: 0.003% of a core.  The bound leaves room for a loaded
  // 2-core machine (CPU time of this process only, but the wake-ups it does
  // make cost more when they wait for a core); the wake-up count below is
  // the sharp check.
  CHECK(used / wall < 0.05);
  // Reading the counters wakes it once or twice; a thread left watching
  // would wake 25,000 times in 5 s.
  CHECK(woken < 50);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(mine.c_str()) == 0);
  stop();
}

TEST_CASE("a rank whose application stopped calling serves a same-host request at once") {
  // After its application's last call a rank's progress thread watches:
  // it sleeps BENCHFS_WATCH_US without arming the worker.  Made 1 s here
  // (the most it may be), a request sent meanwhile would wait for the watch
  // to end; the waiting caller wakes the peer (SameHost::poke) after
  // BENCHFS_SPIN_US.
  if (size() < 2) return;
  setenv("BENCHFS_WATCH_US", "1000000", 1);
  start("memory");
  unsetenv("BENCHFS_WATCH_US");
  const int server = size() - 1;
  std::vector<std::string> theirs;  // paths whose metadata the last rank holds
  for (int i = 0; theirs.size() < 5; ++i) {
    std::string p = "/watched." + std::to_string(i);
    if (benchfs::metadata_owner(p, size()) == server) theirs.push_back(p);
  }
  if (rank() == server) {
    for (const auto& p : theirs) {
      int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      REQUIRE(fd >= 0);
      CHECK(benchfs_close(fd) == 0);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == server) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // computes, no calls
  } else if (rank() == 0) {
    // Let the server's progress thread finish its spin and start watching.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& p : theirs) {
      struct stat st;
      CHECK(benchfs_stat(p.c_str(), &st) == 0);
    }
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t pokes = 0;
    benchfs::with_instance([&](benchfs::Instance& in) {
      pokes = in.engine->stats().pokes;
      return 0;
    });
    MESSAGE("5 stats at a rank that stopped calling took " << took * 1e3 << " ms; " << pokes
                                                          << " pokes");
    // Measured 2-10 ms (once 106 ms); the watch would end 0.95 s after the
    // stats began, so a bound of 0.6 s holds on a loaded machine and still
    // tells the two apart.
    CHECK(took < 0.6);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}

TEST_CASE("init works on a sub-communicator") {
  // Only the even ranks start BenchFS; the odd ones stay out of it.
  MPI_Comm even;
  MPI_Comm_split(MPI_COMM_WORLD, rank() % 2, rank(), &even);
  if (rank() % 2 == 0) {
    setenv("BENCHFS_BACKEND", "memory", 1);
    REQUIRE(benchfs_init(even) == 0);
    int n;
    MPI_Comm_size(even, &n);
    CHECK(benchfs_size() == n);
    int fd = benchfs_open("/sub", O_CREAT | O_RDWR, 0644);
    CHECK(fd >= 0);
    CHECK(benchfs_close(fd) == 0);
    REQUIRE(benchfs_finalize() == 0);
  }
  MPI_Comm_free(&even);
  MPI_Barrier(MPI_COMM_WORLD);
}

namespace {
uint64_t endpoints_created() {
  uint64_t n = 0;
  benchfs::with_instance([&](benchfs::Instance& inst) {
    inst.engine->run_exclusive([&] { n = inst.engine->transport().endpoints_created(); });
    return 0;
  });
  return n;
}
}  // namespace

TEST_CASE("endpoints are created on first use, one per peer talked to") {
  start("memory");
  CHECK(endpoints_created() == 0);  // init connects to nobody
  MPI_Barrier(MPI_COMM_WORLD);
  if (size() > 1) {
    // A path whose metadata lives on the next rank: one endpoint, reused.
    int next = (rank() + 1) % size();
    std::string p;
    for (int i = 0; benchfs::metadata_owner(p = "/ep." + std::to_string(i), size()) != next; ++i) {
    }
    struct stat st;
    for (int k = 0; k < 3; ++k) CHECK(benchfs_stat(p.c_str(), &st) == -1);
    CHECK(errno == ENOENT);
    MPI_Barrier(MPI_COMM_WORLD);
    // This rank asked the next one and answered the previous one (whose
    // replies need an endpoint too): with 2 ranks that is one peer.
    CHECK(endpoints_created() == (size() == 2 ? 1u : 2u));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}
