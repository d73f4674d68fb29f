// main() of the MPI tests: MPI around doctest, failures agreed over ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <cstdio>

#include "mpi_test.h"

int main(int argc, char** argv) {
#ifdef BENCHFS_TEST_PLAIN_MPI_INIT
  // BenchFS must work whatever thread level the application asked for.
  MPI_Init(&argc, &argv);
#else
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
#endif
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  doctest::Context context(argc, argv);
  // Only rank 0 prints the summary; every rank prints its failures.
  context.setOption("no-colors", true);
  if (rank != 0) context.setOption("minimal", true);
  int failed = context.run();
  if (context.shouldExit()) {
    MPI_Finalize();
    return failed;
  }
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string scratch = benchfs_test::scratch_dir();  // collective
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
  return any ? 1 : 0;
}
