// main() of the MPI tests: MPI around doctest, failures agreed over ranks.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <filesystem>

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
  if (rank == 0) {
    std::error_code ec;
    std::filesystem::remove_all(scratch, ec);
  }
  MPI_Finalize();
  return any ? 1 : 0;
}
