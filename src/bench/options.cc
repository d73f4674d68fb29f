#include "bench/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <sstream>

#include "common/size.h"  // the library's own size syntax (compiled in, not linked)

namespace benchfs_bench {
namespace {

const CLI::Validator kSize(
    [](std::string& s) -> std::string {
      return benchfs::parse_size(s) ? std::string()
                                    : "'" + s + "' is not a size (a number, optionally followed by k, m, g or t, e.g. 256m)";
    },
    "", "size");

}  // namespace

std::optional<int> parse_args(int argc, char** argv, int rank, Options& o) {
  CLI::App app{
      "benchfs-bench: IOR-easy, IOR-hard, mdtest-like and latency workloads on BenchFS, "
      "optionally next to the same pattern on a POSIX directory (--compare). Run under mpirun; "
      "the table is printed by rank 0."};
  app.name("benchfs-bench");
  app.get_formatter()->column_width(34);
  app.footer(
      "Sizes take the suffixes k, m, g, t (powers of 1024). Timing as IOR: a barrier before each phase, the "
      "slowest rank's time, all ranks' bytes over it. Exit status: 0 if every operation succeeded and every byte "
      "read back matched.\n\nExample:\n  mpirun -np 4 benchfs-bench --compare /dev/shm/bench --iterations 3 "
      "--json results.json");
  bool no_verify = false;
  std::string transfer = "1m", block = "256m", md_bytes = "0";
  app.add_option("--patterns", o.patterns, "Workloads to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember({"easy", "hard", "md", "latency"}))
      ->capture_default_str();
  app.add_option("--transfer", transfer, "easy: bytes per pwrite/pread (suffix k, m, g)")
      ->type_name("SIZE")
      ->check(kSize)
      ->capture_default_str();
  app.add_option("--block", block, "easy: bytes each rank writes; a multiple of --transfer")
      ->type_name("SIZE")
      ->check(kSize)
      ->capture_default_str();
  app.add_option("--hard-records", o.hard_records, "hard: 47008-byte records each rank writes")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--files", o.files, "md: files each rank creates, in each of the two directories")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--md-bytes", md_bytes, "md: bytes written to and read from each file")
      ->type_name("SIZE")
      ->check(kSize)
      ->capture_default_str();
  app.add_option("--latency-ops", o.latency_ops, "latency: 4 KiB pwrite+pread round trips per rank")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--iterations", o.iterations, "Run every pattern this many times; report min/median/max")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--compare", o.compare,
                 "Also run every pattern with plain POSIX calls in DIR (created if missing, cleaned "
                 "afterwards; every rank must see it, e.g. /dev/shm/x on one node)")
      ->type_name("DIR");
  app.add_option("--json", o.json, "Also write the results to FILE as JSON (rank 0)")->type_name("FILE");
  app.add_flag("--no-verify", no_verify, "Do not check the bytes read back");

  std::ostringstream sink;  // only rank 0 speaks
  std::ostream& out = rank == 0 ? std::cout : sink;
  std::ostream& err = rank == 0 ? std::cerr : sink;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }

  o.verify = !no_verify;
  // Checks that involve more than one option, or limits CLI11 cannot state.
  o.transfer = *benchfs::parse_size(transfer);
  o.block = *benchfs::parse_size(block);
  o.md_bytes = *benchfs::parse_size(md_bytes);
  std::string problem;
  if (o.transfer == 0 || o.transfer > kMaxTransfer)
    problem = "--transfer must be between 1 byte and 1g, not " + transfer;
  else if (o.block == 0 || o.block % o.transfer != 0)
    problem = "--block (" + block + ") must be a positive multiple of --transfer (" + transfer + ")";
  else if (o.md_bytes > kMaxTransfer)
    problem = "--md-bytes must be at most 1g, not " + md_bytes;
  else if (app.count("--compare") && o.compare.empty())
    problem = "--compare needs a directory";
  else if (o.patterns.empty())
    problem = "--patterns names no pattern";
  if (!problem.empty()) {
    err << "benchfs-bench: " << problem << "\nRun with --help for more information.\n";
    return 2;
  }
  // "--patterns md,md" runs md once; the order given is kept.
  std::vector<std::string> unique;
  for (const auto& p : o.patterns)
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
  o.patterns = unique;
  return std::nullopt;
}

}  // namespace benchfs_bench
