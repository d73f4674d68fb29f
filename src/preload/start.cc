// BenchFS starts inside MPI_Init and stops inside MPI_Finalize, through
// MPI's profiling interface: a program needs no change to get it.
#include <mpi.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "benchfs/benchfs.h"
#include "preload/preload.h"
#include "preload/real.h"

namespace benchfs::preload {
namespace {

std::atomic<bool> g_forked{false};
std::atomic<bool> g_warned{false};
// BenchFS was started here (in MPI_Init), so it is ours to stop.
bool g_started = false;
// benchfs_init calls of the program answered by our instance, not yet
// matched by its benchfs_finalize.
int g_nested = 0;

void mark_forked_child() { g_forked.store(true); }

struct AtFork {
  AtFork() { pthread_atfork(nullptr, nullptr, mark_forked_child); }
} g_at_fork;

using InitFn = int (*)(MPI_Comm);
using FinalizeFn = int (*)();

// libbenchfs's own benchfs_init and benchfs_finalize (ours replace them for
// the program).
InitFn real_init() {
  static auto fn = reinterpret_cast<InitFn>(next_symbol("benchfs_init"));
  return fn;
}
FinalizeFn real_finalize() {
  static auto fn = reinterpret_cast<FinalizeFn>(next_symbol("benchfs_finalize"));
  return fn;
}

void start() {
  if (benchfs_initialized()) return;  // the program's own instance
  if (real_init()(MPI_COMM_WORLD) == 0) {
    g_started = true;
    return;
  }
  int err = errno;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr,
               "benchfs-preload: rank %d: BenchFS did not start in MPI_Init: %s; calls under %s "
               "fail with ENODEV\n",
               rank, std::strerror(err), mount().c_str());
  g_warned.store(true);
}

}  // namespace

bool forked_child() { return g_forked.load(std::memory_order_relaxed); }

void warn_not_running() {
  if (g_warned.exchange(true)) return;
  const char* why = forked_child()
                        ? "this is a fork()ed child; BenchFS runs in its parent only"
                        : "BenchFS is not running in this process (it starts in MPI_Init)";
  std::fprintf(stderr, "benchfs-preload: %s: calls under %s fail with ENODEV\n", why,
               mount().c_str());
}

}  // namespace benchfs::preload

using namespace benchfs::preload;

// The replacements of libc's (and MPI's) functions: exported, unlike the
// rest of the library (-fvisibility=hidden).
#pragma GCC visibility push(default)

extern "C" int MPI_Init(int* argc, char*** argv) {
  int rc = PMPI_Init(argc, argv);
  if (rc == MPI_SUCCESS) start();
  return rc;
}

extern "C" int MPI_Init_thread(int* argc, char*** argv, int required, int* provided) {
  int rc = PMPI_Init_thread(argc, argv, required, provided);
  if (rc == MPI_SUCCESS) start();
  return rc;
}

extern "C" int MPI_Finalize() {
  if (g_started && !forked_child()) {
    flush_streams();
    g_nested = 0;
    g_started = false;
    if (benchfs_initialized() && real_finalize()() != 0)
      std::fprintf(stderr, "benchfs-preload: benchfs_finalize: %s\n", std::strerror(errno));
  }
  return PMPI_Finalize();
}

// A program that starts BenchFS itself (or IOR's BENCHFS backend) gets the
// instance MPI_Init started: no second instance, no error.
extern "C" int benchfs_init(MPI_Comm comm) {
  if (g_started && benchfs_initialized()) {
    ++g_nested;
    return 0;
  }
  return real_init()(comm);
}

extern "C" int benchfs_finalize(void) {
  if (g_started && g_nested > 0) {
    --g_nested;
    return 0;
  }
  if (g_started) {
    flush_streams();
    g_started = false;
  }
  return real_finalize()();
}

#pragma GCC visibility pop
