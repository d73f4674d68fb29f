// Concurrency stress with verification: every rank runs kThreads threads
// doing a seeded random mix of create, write, read-verify, truncate, rename,
// unlink, mkdir/rmdir, readdir and stat for BENCHFS_STRESS_SECONDS (default
// 3) per backend, then every rank checks the final namespace and every byte
// against the merged logs of all threads.  This file has the test case and
// the final check; one thread's workload is in stress_worker.cc, the file
// model and the logs both use in stress_helpers.h.
//
// What makes the final state determinable: every file and every directory
// below the top level has exactly one owning thread, and only that thread
// creates, writes, truncates, renames, unlinks or removes it.  Names still
// live side by side in shared directories (/s0 .. /s3) that every thread of
// every rank lists, stats and reads at the same time; those concurrent
// observers only check what any acknowledged state allows (a byte is either
// its pattern byte or zero, a vanished name is ENOENT, names are
// well formed and listed once).  Threads also race mkdir/rmdir of the same
// few names in /race, and creates in them, where only the errnos POSIX
// allows are accepted.  Every byte of a file is determined by its name and
// its owner's log (stress_helpers.h).
//
// BENCHFS_STRESS_SEED replays a run: a thread's sequence of operations is a
// function of the seed (observations of other threads use a second
// generator, so their nondeterministic results do not change it).
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stress_helpers.h"

using namespace benchfs_test;
using namespace benchfs_test::stress;

namespace benchfs_test::stress {

// The final check's, and each worker's read-verify (stress_helpers.h).
void verify_file(const std::string& path, const FileModel& f, std::vector<std::string>& errors,
                 int rank, int thread) {
  auto err = [&](const std::string& what) {
    if (errors.size() < kMaxErrors)
      errors.push_back("rank " + std::to_string(rank) +
                       (thread < 0 ? " final" : " thread " + std::to_string(thread)) + ": " +
                       what);
  };
  struct stat st;
  if (benchfs_stat(path.c_str(), &st) != 0)
    return err("stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return err(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) != f.size)
    return err("stat " + path + ": size " + std::to_string(st.st_size) + ", log says " +
               std::to_string(f.size));
  int fd = benchfs_open(path.c_str(), O_RDONLY);
  if (fd < 0) return err("open " + path + ": " + std::strerror(errno));
  if (benchfs_fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != f.size)
    err("fstat " + path + ": wrong size or error");
  std::vector<char> got(f.size + 100, 'x');
  ssize_t n = benchfs_pread(fd, got.data(), got.size(), 0);
  if (n != static_cast<ssize_t>(f.size)) {
    err("pread " + path + " returned " + std::to_string(n) + ", log says size " +
        std::to_string(f.size));
  } else {
    std::vector<char> want = f.expected();
    for (uint64_t i = 0; i < f.size; ++i)
      if (got[i] != want[i]) {
        err(path + ": byte " + std::to_string(i) + " is " +
            std::to_string(static_cast<unsigned char>(got[i])) + ", log says " +
            std::to_string(static_cast<unsigned char>(want[i])));
        break;
      }
  }
  if (benchfs_close(fd) != 0) err("close " + path + ": " + std::strerror(errno));
}

}  // namespace benchfs_test::stress

namespace {

constexpr int kThreads = 4;

double stress_seconds() {
  const char* s = getenv("BENCHFS_STRESS_SECONDS");
  double v = s && *s ? std::atof(s) : 3.0;
  return v > 0 ? v : 3.0;
}

uint64_t stress_seed() {
  unsigned long long seed = 0;
  if (rank() == 0) {
    const char* s = getenv("BENCHFS_STRESS_SEED");
    seed = s && *s ? std::strtoull(s, nullptr, 0)
                   : static_cast<unsigned long long>(
                         std::chrono::system_clock::now().time_since_epoch().count());
  }
  MPI_Bcast(&seed, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  return seed;
}

// Every rank gets every rank's serialized logs.
std::string allgather(const std::string& mine) {
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(size()), displs(size());
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size(); ++r) {
    displs[r] = total;
    total += lens[r];
  }
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                 MPI_COMM_WORLD);
  return all;
}

std::set<std::string> list_dir(const std::string& d, std::vector<std::string>& errors,
                               std::map<std::string, unsigned char>* types = nullptr) {
  std::set<std::string> names;
  benchfs_dir* dir = benchfs_opendir(d.c_str());
  if (!dir) {
    errors.push_back("final: opendir " + d + ": " + std::strerror(errno));
    return names;
  }
  while (struct dirent* e = benchfs_readdir(dir)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (!names.insert(n).second) errors.push_back("final: readdir " + d + " lists " + n + " twice");
    if (types) (*types)[n] = e->d_type;
  }
  benchfs_closedir(dir);
  return names;
}

// The final check, on every rank, against the merged logs of all threads.
void verify_final(const Log& all, std::vector<std::string>& errors) {
  auto err = [&](const std::string& m) {
    if (errors.size() < 50) errors.push_back("final: " + m);
  };
  // Expected children of every directory the test knows.
  std::map<std::string, std::map<std::string, unsigned char>> want;
  want["/"]["race"] = DT_DIR;
  for (int k = 0; k < kSharedDirs; ++k) {
    want["/"][shared_dir(k).substr(1)] = DT_DIR;
    want[shared_dir(k)];
  }
  for (auto& d : all.dirs) {
    want[parent_of(d)][base_of(d)] = DT_DIR;
    want[d];
  }
  for (auto& [p, f] : all.files) want[parent_of(p)][base_of(p)] = DT_REG;

  for (auto& [d, children] : want) {
    std::map<std::string, unsigned char> types;
    std::set<std::string> got = list_dir(d, errors, &types);
    for (auto& [n, t] : children) {
      if (!got.count(n))
        err("readdir " + d + " misses " + n);
      else if (types[n] != t)
        err("readdir " + d + ": " + n + " has type " + std::to_string(types[n]));
    }
    for (auto& n : got)
      if (!children.count(n)) err("readdir " + d + " lists unexpected " + n);
  }
  // /race holds some of the raced names, each an empty directory.
  for (auto& n : list_dir("/race", errors)) {
    bool ours = false;
    for (int k = 0; k < kRaceNames; ++k) ours |= "/race/" + n == race_name(k);
    if (!ours) err("/race lists unexpected " + n);
  }
  for (int k = 0; k < kRaceNames; ++k) {
    struct stat st;
    if (benchfs_stat(race_name(k).c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) err(race_name(k) + " is not a directory");
      else if (!list_dir(race_name(k), errors).empty()) err(race_name(k) + " is not empty");
    } else if (errno != ENOENT) {
      err("stat " + race_name(k) + ": " + std::strerror(errno));
    }
  }
  for (auto& d : all.dirs) {
    struct stat st;
    if (benchfs_stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) err(d + " is not a directory");
  }
  for (auto& [p, f] : all.files) verify_file(p, f, errors, rank(), -1);
  for (auto& u : all.used) {
    if (all.files.count(u) || all.dirs.count(u)) continue;
    struct stat st;
    if (benchfs_stat(u.c_str(), &st) == 0 || errno != ENOENT) err(u + " should be gone");
  }
}

}  // namespace

TEST_CASE("stress: threads of every rank mutate and observe a shared namespace") {
  const double seconds = stress_seconds();
  const uint64_t seed = stress_seed();
  if (rank() == 0)
    std::printf("stress: seed %" PRIu64 " (replay with BENCHFS_STRESS_SEED=%" PRIu64
                "), %.1f s per backend, %d ranks x %d threads\n",
                seed, seed, seconds, size(), kThreads);
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    CAPTURE(seed);
    start(backend, "64k");
    if (rank() == 0) {
      for (int k = 0; k < kSharedDirs; ++k) REQUIRE(benchfs_mkdir(shared_dir(k).c_str(), 0777) == 0);
      REQUIRE(benchfs_mkdir("/race", 0777) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    Counters counters;
    const int me = rank();
    std::vector<ThreadResult> results(kThreads);
    auto t0 = std::chrono::steady_clock::now();
    auto deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] { results[t] = run_worker(me, t, seed, counters, deadline); });
    for (auto& th : threads) th.join();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::vector<std::string> errors;
    for (auto& r : results) errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    Log mine;
    for (auto& r : results) mine.merge_serialized(r.log.serialize());
    MPI_Barrier(MPI_COMM_WORLD);  // every thread of every rank is done
    Log all;
    all.merge_serialized(allgather(mine.serialize()));
    auto v0 = std::chrono::steady_clock::now();
    verify_final(all, errors);
    double verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - v0).count();

    unsigned long long ops = counters.ops.load(), total_ops = 0, observed = counters.observed.load(),
                       total_observed = 0;
    MPI_Reduce(&ops, &total_ops, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&observed, &total_observed, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank() == 0)
      std::printf("stress [%s]: %llu operations in %.1f s (%.0f ops/s, %llu observations of "
                  "other threads' files); final check of %zu files, %zu directories, %zu gone "
                  "names in %.1f s\n",
                  backend.c_str(), total_ops, elapsed, total_ops / elapsed, total_observed,
                  all.files.size(), all.dirs.size(), all.used.size() - all.files.size() -
                  all.dirs.size(), verify_s);
    for (auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    CHECK_MESSAGE(errors.empty(), "seed " << seed << ": " << errors.size() << " error(s) on rank "
                                         << rank());
    stop();
  }
}
