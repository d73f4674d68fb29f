// A rank whose application computes, calling BenchFS only now and then,
// still serves its peers at once (issue 21).  While its application calls,
// a rank's progress thread sleeps a watch (BENCHFS_WATCH_US) without arming
// the worker, so a request that arrives meanwhile is taken only when the
// application calls again or the watch ends, unless its caller, whose reply
// is late, wakes that thread (Transport::poke): through an eventfd on this
// host, through the peer's doorbell worker from another host.  Before the
// doorbell a request from another host waited out the watch.
//
// Here the watch is 1 s and the computing rank calls every 500 ms: a
// request that waits for the application (or the watch) waits 250 ms on
// average, and the 40 requests below would take about 10 s.  Woken, each
// takes about BENCHFS_SPIN_US plus a wake-up: well under a second in all,
// even with 4 ranks on 2 cores.  The bound checked, 4 s, is far from both.
//
// make check runs it on one host (the eventfd); tests/hosts_test.sh at 2
// hosts x 2 ranks, where the computing rank (the last) is on the other host
// from ranks 0 and 1 (the doorbell).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/placement.h"
#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr int kRequests = 40;
constexpr double kBound = 4.0;  // seconds for all kRequests

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("a rank whose application computes answers at once, also from another host") {
  start("memory");
  const int target = size() - 1;
  // Names whose metadata the computing rank holds: every stat of one is a
  // request to it.
  std::vector<std::string> names;
  for (int k = 0; static_cast<int>(names.size()) < kRequests; ++k) {
    std::string p = "/wake-" + std::to_string(k);
    if (benchfs::metadata_owner(p, size()) == target) names.push_back(p);
  }
  // First the computing rank calls all the time, and the others send it
  // requests, as in an mdtest phase: its progress thread, woken by those
  // requests while the application calls, sleeps watches from then on.  (A
  // progress thread that slept armed would take the requests below at
  // once, and the test would prove nothing.)  Then the application
  // "computes": it sleeps 500 ms at a time and calls once in between,
  // which keeps its progress thread watching.
  struct stat st;
  MPI_Request warmed, done;
  if (rank() == target) {
    MPI_Ibarrier(MPI_COMM_WORLD, &warmed);
    for (int finished = 0; !finished; MPI_Test(&warmed, &finished, MPI_STATUS_IGNORE))
      CHECK(benchfs_stat("/", &st) == 0);
    MPI_Ibarrier(MPI_COMM_WORLD, &done);
    for (int finished = 0; !finished; MPI_Test(&done, &finished, MPI_STATUS_IGNORE)) {
      usleep(500 * 1000);
      CHECK(benchfs_stat("/", &st) == 0);
    }
  } else {
    for (int i = 0; i < 2000; ++i) {
      std::string p = "/warm-" + std::to_string(rank()) + "-" + std::to_string(i);
      CHECK(benchfs_stat(p.c_str(), &st) == -1);
    }
    MPI_Ibarrier(MPI_COMM_WORLD, &warmed);
    MPI_Wait(&warmed, MPI_STATUS_IGNORE);
    usleep(100 * 1000);  // the target computes
    double t0 = now_s();
    for (const auto& p : names) {
      errno = 0;
      CHECK(benchfs_stat(p.c_str(), &st) == -1);
      CHECK(errno == ENOENT);
    }
    double dt = now_s() - t0;
    std::fprintf(stderr, "rank %d: %d requests to computing rank %d took %.3f s\n", rank(),
                 kRequests, target, dt);
    CHECK_MESSAGE(dt < kBound, kRequests << " requests to rank " << target << " took " << dt
                                         << " s: they waited for its watch");
    MPI_Ibarrier(MPI_COMM_WORLD, &done);
    MPI_Wait(&done, MPI_STATUS_IGNORE);
  }
  stop();
}

[[maybe_unused]] const bool g_main_configured = [] {
  auto& o = main_options();
  o.min_ranks = 2;
  o.skip_reason = "wakeup_test needs 2 or more ranks (a caller and a computing rank)";
  o.prepare = [] { setenv("BENCHFS_WATCH_US", "1000000", 1); };
  return true;
}();
