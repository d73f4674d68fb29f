// benchfs-bench's command line: what to run and how big.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace benchfs_bench {

constexpr uint64_t kHardRecord = 47008;        // IOR-hard's record size
constexpr uint64_t kLatencyBytes = 4096;       // one latency round trip's pwrite and pread
constexpr uint64_t kMaxTransfer = 1ull << 30;  // one pread/pwrite must not go short
const char* const kAllPatterns[] = {"easy", "hard", "md", "latency"};

struct Options {
  std::vector<std::string> patterns{std::begin(kAllPatterns), std::end(kAllPatterns)};
  uint64_t transfer = 1ull << 20;
  uint64_t block = 256ull << 20;
  uint64_t hard_records = 1000;
  uint64_t files = 1000;
  uint64_t md_bytes = 0;
  uint64_t latency_ops = 2000;
  int iterations = 1;
  std::string compare;  // POSIX baseline directory; empty: no baseline
  std::string json;     // results file; empty: none
  bool verify = true;
};

// Parses argv the same way on every rank, so every rank reaches the same
// verdict and none is left waiting in a collective; only rank 0 prints
// (help, errors).  Returns the exit code when the program must stop (help,
// or bad arguments), nothing to go on.
std::optional<int> parse_args(int argc, char** argv, int rank, Options& o);

}  // namespace benchfs_bench
