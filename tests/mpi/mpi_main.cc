// main() of the MPI tests: MPI around doctest, failures agreed over ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <cstdio>
#include <unistd.h>

#include "mpi_test.h"

benchfs_test::MainOptions& benchfs_test::main_options() {
  static MainOptions options;
  return options;
}

int main(int argc, char** argv) {
  const benchfs_test::MainOptions& options = benchfs_test::main_options();
#ifdef BENCHFS_TEST_PLAIN_MPI_INIT
  // BenchFS must work whatever thread level the application asked for.
  MPI_Init(&argc, &argv);
#else
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
#endif
  int rank = 0, nranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  if (nranks < options.min_ranks) {
    if (rank == 0) std::printf("SKIP: %s\n", options.skip_reason);
    benchfs_test::write_result(rank, "skip");
    MPI_Finalize();
    return 0;
  }
  if (options.prepare) options.prepare();
  const std::string scratch = benchfs_test::scratch_dir();  // collective while every rank lives
  doctest::Context context(argc, argv);
  // Only rank 0 prints the summary; every rank prints its failures.
  context.setOption("no-colors", true);
  if (rank != 0) context.setOption("minimal", true);
  int failed = context.run();
  if (context.shouldExit()) {
    benchfs_test::write_result(rank, failed ? "fail" : "pass");
    MPI_Finalize();
    return failed;
  }
  if (options.rank_lost && *options.rank_lost) {
    // No collective can complete without the lost rank, and MPI_Finalize
    // is one (Open MPI's returns here, but the MPI standard does not
    // promise that): leave once BenchFS is down.  The exit status is this
    // rank's.
    if (rank == 0) {
      std::error_code ec;
      std::filesystem::remove_all(scratch, ec);
    }
    int status = failed ? 1 : 0;
    benchfs_test::write_result(rank, status ? "fail" : "pass");
    if (options.survivors && *options.survivors != MPI_COMM_NULL) {
      // After a rank killed by a signal, mpirun (with
      // orte_abort_on_non_zero_status 0) kills the whole job when the first
      // survivor leaves: every survivor writes its verdict first.
      MPI_Barrier(*options.survivors);
      // A survivor leaving with a non-zero status makes that mpirun wait
      // forever instead: where the verdict went to a file, leave with 0.
      const char* dir = getenv("BENCHFS_TEST_RESULT_DIR");
      if (dir && *dir) status = 0;
    }
    std::fflush(nullptr);
    _exit(status);
  }
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();  // also stops a BenchFS a test left running
  if (rank == 0) {
    // Every rank's backing directory must be gone (each rank removes its
    // own at the end of its finalize: allow them a moment).
    size_t left = 0;
    for (int i = 0; i < 100 && (left = benchfs_test::count_files(scratch)) > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (left) {
      std::fprintf(stderr, "FAIL: %zu backing files left under %s after MPI_Finalize\n", left,
                   scratch.c_str());
      any = 1;
    }
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  benchfs_test::write_result(rank, any ? "fail" : "pass");
  return any ? 1 : 0;
}
