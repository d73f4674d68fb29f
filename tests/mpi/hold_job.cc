// A BenchFS job that holds its data until told to finish, for
// tests/clean_test.sh (killed with SIGKILL, or run beside another job in
// one BENCHFS_DIR).  Usage: hold_job SIGNAL_DIR.  Each rank writes 4 MiB to
// /f<rank>, then writes its pid to SIGNAL_DIR/ready.<rank> and waits for
// SIGNAL_DIR/release (at most 300 s); then it reads its file back and
// checks every byte.  Exit status 0 if all is intact.  With
// HOLD_JOB_NO_FINALIZE=1 it leaves BenchFS to MPI_Finalize (as IOR does).
#include <fcntl.h>
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "benchfs/benchfs.h"

namespace {

constexpr size_t kBytes = 4 << 20;

char byte_at(int rank, size_t i) { return static_cast<char>((i * 131 + static_cast<size_t>(rank) * 7) % 251); }

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

int run(const std::string& signals, int rank) {
  const std::string path = "/f" + std::to_string(rank);
  std::vector<char> buf(kBytes);
  for (size_t i = 0; i < kBytes; ++i) buf[i] = byte_at(rank, i);
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0 || benchfs_write(fd, buf.data(), kBytes) != static_cast<ssize_t>(kBytes) ||
      benchfs_close(fd) != 0) {
    std::perror("hold_job: write");
    return 1;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string ready = signals + "/ready." + std::to_string(rank);
  if (FILE* f = std::fopen((ready + ".tmp").c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(getpid()));
    std::fclose(f);
    std::rename((ready + ".tmp").c_str(), ready.c_str());
  }
  for (int i = 0; i < 6000 && !exists(signals + "/release"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::vector<char> back(kBytes);
  fd = benchfs_open(path.c_str(), O_RDONLY);
  if (fd < 0 || benchfs_read(fd, back.data(), kBytes) != static_cast<ssize_t>(kBytes) ||
      back != buf) {
    std::fprintf(stderr, "hold_job: rank %d: %s is not intact\n", rank, path.c_str());
    return 1;
  }
  benchfs_close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc != 2) {
    if (rank == 0) std::fprintf(stderr, "usage: hold_job SIGNAL_DIR\n");
    MPI_Finalize();
    return 2;
  }
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    std::perror("hold_job: benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  int failed = run(argv[1], rank), any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  const char* no_finalize = std::getenv("HOLD_JOB_NO_FINALIZE");
  if (!(no_finalize && std::string(no_finalize) == "1") && benchfs_finalize() != 0) any = 1;
  MPI_Finalize();
  return any;
}
