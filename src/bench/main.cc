// benchfs-bench: the workloads an HPC file system is judged by (easy, hard,
// md, latency: see workloads.h), run on BenchFS and (with --compare DIR) the
// same pattern on a POSIX directory in the same job, reported as one table
// on rank 0.  A program of BenchFS's public C API only, like any user's.
//
//   mpirun -np 4 benchfs-bench --compare /dev/shm/bench --iterations 3

#include <benchfs/benchfs.h>
#include <mpi.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/options.h"
#include "bench/report.h"
#include "bench/workloads.h"
#include "build-config.h"  // BENCHFS_DEFAULT_BACKEND, for the header line
#include "common/size.h"   // the library's own size syntax (compiled in, not linked)

using namespace benchfs_bench;

namespace {

// --- The POSIX directory --------------------------------------------------------------

// Rank 0 creates DIR and any missing parent (remembering which, to remove
// them at the end); then every rank must see it, or the comparison would
// read files that are not there.  Returns false (on every rank) if not.
bool prepare_compare_dir(const std::string& dir, int rank, std::vector<std::string>& made) {
  int ok = 1;
  std::string why;
  if (rank == 0) {
    for (size_t pos = 1; ok && pos != std::string::npos;) {
      pos = dir.find('/', pos);
      std::string prefix = dir.substr(0, pos);
      if (pos != std::string::npos) ++pos;
      if (prefix.empty() || prefix.back() == '/') continue;
      if (::mkdir(prefix.c_str(), 0755) == 0)
        made.push_back(prefix);
      else if (errno != EEXIST)
        ok = 0, why = "mkdir " + prefix + ": " + std::strerror(errno);
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  int mine = ok;
  struct stat st;
  if (ok && (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || ::access(dir.c_str(), W_OK) != 0))
    mine = 0, why = "not a writable directory on every rank";
  MPI_Allreduce(&mine, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!ok && rank == 0) {
    std::fprintf(stderr, "benchfs-bench: cannot use --compare %s: %s\n", dir.c_str(),
                 why.empty() ? "not a writable directory on every rank" : why.c_str());
  }
  return ok;
}

void remove_made_dirs(const std::vector<std::string>& made) {
  for (auto it = made.rbegin(); it != made.rend(); ++it)
    if (::rmdir(it->c_str()) != 0) std::fprintf(stderr, "benchfs-bench: rmdir %s: %s\n", it->c_str(), std::strerror(errno));
}

// Chunk size and backend for the header line.  st_blksize of a BenchFS
// entry is the chunk size; the backend is only known from the environment.
uint64_t chunk_size() {
  struct stat st;
  if (benchfs_stat("/", &st) == 0) return static_cast<uint64_t>(st.st_blksize);
  const char* v = std::getenv("BENCHFS_CHUNK_SIZE");
  auto parsed = v ? benchfs::parse_size(v) : std::nullopt;
  return parsed.value_or(1ull << 20);
}

std::string backend_name() {
  const char* v = std::getenv("BENCHFS_BACKEND");
  return v && *v ? v : BENCHFS_DEFAULT_BACKEND;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);

  Options opt;
  if (auto code = parse_args(argc, argv, rank, opt)) {
    MPI_Finalize();
    return *code;
  }
  while (opt.compare.size() > 1 && opt.compare.back() == '/') opt.compare.pop_back();
  std::vector<std::string> made;
  if (!opt.compare.empty() && !prepare_compare_dir(opt.compare, rank, made)) {
    if (rank == 0) remove_made_dirs(made);
    MPI_Finalize();
    return 1;
  }

  int ok = benchfs_init(MPI_COMM_WORLD) == 0, err = errno, all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all_ok) {
    // A BenchFS running on some ranks only cannot be finalized collectively.
    if (ok) {
      std::fprintf(stderr, "rank %d: benchfs_init failed on another rank; aborting\n", rank);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) std::fprintf(stderr, "benchfs-bench: benchfs_init: %s\n", std::strerror(err));
    if (rank == 0) remove_made_dirs(made);
    MPI_Finalize();
    return 1;
  }

  std::vector<Fs> systems{benchfs_fs()};
  if (!opt.compare.empty()) systems.push_back(posix_fs(opt.compare));
  Bench bench(opt, rank, nranks);
  bench.run(systems);
  RunInfo run;
  run.nranks = nranks;
  run.chunk = chunk_size();
  run.backend = backend_name();
  run.posix_dir = opt.compare;  // empty without --compare
  run.footprint = bench.footprint();
  bench.totals(&run.errors, &run.mismatches);
  int rc = run.errors || run.mismatches ? 1 : 0;
  if (rank == 0) rc = report(opt, bench.results(), run);

  benchfs_finalize();
  MPI_Barrier(MPI_COMM_WORLD);  // every rank is done with the POSIX directory
  if (rank == 0) remove_made_dirs(made);
  MPI_Finalize();
  return rc;
}
