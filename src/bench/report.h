// benchfs-bench's results: the rows the workloads fill in, and the table
// and JSON file rank 0 makes of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/options.h"

namespace benchfs_bench {

// Small statistics; NAN when there are no values.
double median(std::vector<double> v);
double percentile(const std::vector<double>& sorted, double p);  // nearest rank
double min_of(const std::vector<double>& v);
double max_of(const std::vector<double>& v);

// One line of the table: a phase of a pattern, on BenchFS ([0]) and on
// POSIX ([1]).
struct Row {
  std::string pattern, phase;
  bool ops = false;      // amount counts operations, not bytes
  bool latency = false;  // per-operation latencies instead of a rate
  double amount = 0;     // all ranks, one iteration
  std::vector<double> seconds[2];     // per iteration
  std::vector<double> latency_us[2];  // every sample of every rank and iteration

  std::vector<double> rates(int fs) const;
  bool has(int fs) const { return latency ? !latency_us[fs].empty() : !seconds[fs].empty(); }
  // The number compared between the two file systems.
  double headline(int fs) const { return latency ? median(latency_us[fs]) : median(rates(fs)); }
  const char* unit() const { return latency ? "us" : ops ? "ops/s" : "GiB/s"; }
};

// The rows, in the order the phases first ran.
class Results {
 public:
  // The row of a pattern's phase, made empty on first use.
  Row& row(const std::string& pattern, const std::string& phase);
  // One iteration of a timed phase on file system fs (0 or 1).
  void record(int fs, const std::string& pattern, const std::string& phase, double amount, bool ops,
              double seconds);
  const std::vector<Row>& rows() const { return rows_; }

 private:
  std::vector<Row> rows_;
};

// Right after the easy write: the job's memory (resident, memory files;
// the sums over all ranks and the largest rank's total) and the bytes
// BenchFS stores.  Meaningful for the memory backend.
struct Footprint {
  double rss_sum = 0, files_sum = 0, max = 0, stored = 0;
};

// What the header line and the JSON file say about the run.
struct RunInfo {
  int nranks = 1;
  uint64_t chunk = 0;
  std::string backend;
  std::string posix_dir;  // the --compare directory; empty: no comparison
  Footprint footprint;
  long long errors = 0, mismatches = 0;  // all ranks'
};

// Rank 0: prints the table and its notes on stdout, writes the JSON file if
// asked.  Returns the exit code: 1 if an operation failed, a byte read back
// was wrong or the JSON file could not be written, else 0.
int report(const Options& opt, const Results& results, const RunInfo& run);

// "64 MiB", "1.50 GiB": binary units, 3 significant digits.
std::string bytes(double b);

}  // namespace benchfs_bench
