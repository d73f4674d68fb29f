// benchfs-bench's workloads, each run the same way on BenchFS and on a
// POSIX directory:
//
//   easy     IOR-easy: a file per rank, large transfers; every rank reads back
//            the NEXT rank's file (like IOR -C) so the reads cross ranks.
//   hard     IOR-hard: one shared file, 47008-byte records interleaved by rank;
//            every rank reads back the records of the next rank.
//   md       mdtest-like: create/stat/read/unlink of many small files, in a
//            directory per rank and in one directory shared by all ranks.
//   latency  4 KiB pwrite then pread round trips to data on another server.
//
// Timing follows IOR: a barrier before each phase, the phase's time is the
// slowest rank's, bandwidth is all ranks' bytes over that time.  Every byte
// read is checked against a position-dependent pattern (unless --no-verify).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/options.h"
#include "bench/report.h"

namespace benchfs_bench {

// The two file systems, behind one set of calls.
struct Fs {
  const char* name;  // "BenchFS" or "POSIX"
  int index;         // 0 or 1: column of the results
  bool is_benchfs;
  std::string root;  // every file of the run lives below this directory
  int (*open)(const char*, int, ...);
  int (*close)(int);
  ssize_t (*pread)(int, void*, size_t, off_t);
  ssize_t (*pwrite)(int, const void*, size_t, off_t);
  int (*fstat)(int, struct stat*);
  int (*stat)(const char*, struct stat*);
  int (*unlink)(const char*);
  int (*mkdir)(const char*, mode_t);
  int (*rmdir)(const char*);

  std::string path(const std::string& name) const { return root + "/" + name; }
};

Fs benchfs_fs();
Fs posix_fs(const std::string& dir);

// Errors and mismatches of this rank; a few are printed, all are counted.
struct Tally {
  long long errors = 0, mismatches = 0;
  int logged = 0;
};

class Bench {
 public:
  Bench(const Options& opt, int rank, int nranks) : opt_(opt), rank_(rank), nranks_(nranks) {}

  // Every pattern, every iteration, on every file system (collective).
  void run(const std::vector<Fs>& systems);
  // All ranks' errors and mismatches (collective).
  void totals(long long* errors, long long* mismatches) const;

  const Results& results() const { return results_; }
  const Footprint& footprint() const { return footprint_; }

 private:
  class Phase;

  void easy(const Fs& fs, int it);
  void hard(const Fs& fs, int it);
  void md(const Fs& fs, int it, bool shared);
  void latency(const Fs& fs, int it);
  void measure_footprint(const Fs& fs);

  void error(const std::string& what, const std::string& path, int err);
  void check(const char* got, char* want, size_t len, uint64_t seed, uint64_t offset, const std::string& path);
  bool write_full(const Fs& fs, int fd, const char* buf, size_t len, uint64_t off, const std::string& path);
  bool read_full(const Fs& fs, int fd, char* buf, size_t len, uint64_t off, const std::string& path);
  void close_file(const Fs& fs, int fd, const std::string& path);
  void remove(const Fs& fs, const std::string& path, bool is_dir);
  uint64_t latency_offset(const Fs& fs, int fd, int owner, const std::string& path);

  std::vector<double> gather(const std::vector<double>& mine) const;
  std::string label(const std::string& what, const Fs& fs, int it) const;

  const Options& opt_;
  int rank_, nranks_;
  Tally tally_;
  Results results_;
  Footprint footprint_;
};

}  // namespace benchfs_bench
