#include "bench/report.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace benchfs_bench {

// --- Small statistics ------------------------------------------------------------

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

double min_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::min_element(v.begin(), v.end()); }
double max_of(const std::vector<double>& v) { return v.empty() ? NAN : *std::max_element(v.begin(), v.end()); }

// --- Results -------------------------------------------------------------------

std::vector<double> Row::rates(int fs) const {
  std::vector<double> r;
  for (double s : seconds[fs]) r.push_back(amount / std::max(s, 1e-9) / (ops ? 1.0 : 1073741824.0));
  return r;
}

Row& Results::row(const std::string& pattern, const std::string& phase) {
  for (auto& r : rows_)
    if (r.pattern == pattern && r.phase == phase) return r;
  rows_.push_back(Row{});
  rows_.back().pattern = pattern;
  rows_.back().phase = phase;
  return rows_.back();
}

void Results::record(int fs, const std::string& pattern, const std::string& phase, double amount, bool ops,
                     double seconds) {
  Row& r = row(pattern, phase);
  r.amount = amount;
  r.ops = ops;
  r.seconds[fs].push_back(seconds);
}

// --- The table ---------------------------------------------------------------------

namespace {

// 3 significant digits, enough to compare and easy to read.
std::string num(double v) {
  char s[64];
  if (!std::isfinite(v)) return "-";
  double a = std::fabs(v);
  std::snprintf(s, sizeof s, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%#.3g", v);
  return s;
}

std::string seconds_cell(const std::vector<double>& s) {
  char c[64];
  std::snprintf(c, sizeof c, "%.3f", median(s));
  return s.empty() ? "" : c;
}

std::string amount_cell(const Row& r) {
  return r.ops ? std::to_string(static_cast<long long>(r.amount)) + " ops" : bytes(r.amount);
}

// "1.23 GiB/s (1.10-1.30)": median, and the range when there are iterations.
std::string rate_cell(const Row& r, int fs) {
  if (!r.has(fs)) return "";
  if (r.latency) {
    std::vector<double> s = r.latency_us[fs];
    std::sort(s.begin(), s.end());
    return "med " + num(median(s)) + " us, p99 " + num(percentile(s, 0.99)) + " us";
  }
  std::vector<double> rates = r.rates(fs);
  std::string c = num(median(rates)) + " " + r.unit();
  if (rates.size() > 1) c += " (" + num(min_of(rates)) + "-" + num(max_of(rates)) + ")";
  return c;
}

void print_table(const std::vector<Row>& rows, bool compare) {
  std::vector<std::vector<std::string>> cells{{"pattern", "phase", "amount", "seconds", "BenchFS"}};
  if (compare) cells[0].insert(cells[0].end(), {"POSIX", "ratio"});
  for (const auto& r : rows) {
    std::vector<std::string> line{r.pattern, r.phase, amount_cell(r), r.latency ? "" : seconds_cell(r.seconds[0]),
                                  rate_cell(r, 0)};
    if (compare) line.insert(line.end(), {rate_cell(r, 1), num(r.headline(0) / r.headline(1))});
    cells.push_back(line);
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells)
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  for (const auto& line : cells) {
    std::string out;
    for (size_t c = 0; c < line.size(); ++c)
      out += c + 1 < line.size() ? line[c] + std::string(width[c] - line[c].size() + 3, ' ') : line[c];
    std::printf("%s\n", out.c_str());
  }
}

// What was run, in one line: "easy: 64 MiB per rank in 1 MiB transfers; ...".
std::string workload(const Options& opt) {
  std::string line;
  auto u = [](uint64_t v) { return std::to_string(v); };
  for (const auto& p : opt.patterns) {
    line += line.empty() ? "" : "; ";
    if (p == "easy")
      line += "easy: " + bytes(static_cast<double>(opt.block)) + " per rank in " +
              bytes(static_cast<double>(opt.transfer)) + " transfers";
    if (p == "hard") line += "hard: " + u(opt.hard_records) + " records of " + u(kHardRecord) + " B per rank";
    if (p == "md")
      line += "md: " + u(opt.files) + " files of " + bytes(static_cast<double>(opt.md_bytes)) + " per rank";
    if (p == "latency") line += "latency: " + u(opt.latency_ops) + " x 4 KiB per rank";
  }
  return line + "; " + std::to_string(opt.iterations) + (opt.iterations > 1 ? " iterations" : " iteration");
}

// --- JSON ----------------------------------------------------------------------------

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char e[8];
      std::snprintf(e, sizeof e, "\\u%04x", c);
      o += e;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char s[64];
  std::snprintf(s, sizeof s, "%.9g", v);
  return s;
}

std::string json_stats(const std::vector<double>& v) {
  return "{\"min\": " + json_number(min_of(v)) + ", \"median\": " + json_number(median(v)) +
         ", \"max\": " + json_number(max_of(v)) + "}";
}

// One file system's numbers for one row.
std::string json_fs(const Row& r, int fs) {
  if (!r.has(fs)) return "null";
  if (r.latency) {
    std::vector<double> s = r.latency_us[fs];
    std::sort(s.begin(), s.end());
    double mean = 0;
    for (double x : s) mean += x / static_cast<double>(s.size());
    return "{\"samples\": " + std::to_string(s.size()) + ", \"latency_us\": {\"min\": " + json_number(s.front()) +
           ", \"median\": " + json_number(median(s)) + ", \"mean\": " + json_number(mean) +
           ", \"p99\": " + json_number(percentile(s, 0.99)) + ", \"max\": " + json_number(s.back()) + "}}";
  }
  return "{\"seconds\": " + json_stats(r.seconds[fs]) + ", \"rate\": " + json_stats(r.rates(fs)) +
         ", \"rate_unit\": " + json_string(r.unit()) + "}";
}

bool write_json(const Options& opt, const std::vector<Row>& rows, const RunInfo& run) {
  FILE* f = std::fopen(opt.json.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "benchfs-bench: cannot write %s: %s\n", opt.json.c_str(), std::strerror(errno));
    return false;
  }
  const bool compare = !run.posix_dir.empty();
  std::string patterns;
  for (const auto& p : opt.patterns) patterns += (patterns.empty() ? "" : ", ") + json_string(p);
  std::fprintf(f, "{\n  \"ranks\": %d,\n  \"chunk_size\": %llu,\n  \"backend\": %s,\n  \"posix_dir\": %s,\n",
               run.nranks, static_cast<unsigned long long>(run.chunk), json_string(run.backend).c_str(),
               compare ? json_string(run.posix_dir).c_str() : "null");
  std::fprintf(f,
               "  \"options\": {\"patterns\": [%s], \"transfer\": %llu, \"block\": %llu, \"hard_records\": %llu, "
               "\"hard_record_bytes\": %llu, \"files\": %llu, \"md_bytes\": %llu, \"latency_ops\": %llu, "
               "\"latency_bytes\": %llu, \"iterations\": %d, \"verify\": %s},\n",
               patterns.c_str(), static_cast<unsigned long long>(opt.transfer),
               static_cast<unsigned long long>(opt.block), static_cast<unsigned long long>(opt.hard_records),
               static_cast<unsigned long long>(kHardRecord), static_cast<unsigned long long>(opt.files),
               static_cast<unsigned long long>(opt.md_bytes), static_cast<unsigned long long>(opt.latency_ops),
               static_cast<unsigned long long>(kLatencyBytes), opt.iterations, opt.verify ? "true" : "false");
  std::fprintf(f, "  \"results\": [\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::fprintf(f,
                 "    {\"pattern\": %s, \"phase\": %s, \"unit\": %s, \"amount\": %s,\n"
                 "     \"benchfs\": %s,\n     \"posix\": %s,\n     \"ratio\": %s}%s\n",
                 json_string(r.pattern).c_str(), json_string(r.phase).c_str(), r.ops ? "\"ops\"" : "\"bytes\"",
                 json_number(r.amount).c_str(), json_fs(r, 0).c_str(), compare ? json_fs(r, 1).c_str() : "null",
                 compare ? json_number(r.headline(0) / r.headline(1)).c_str() : "null",
                 i + 1 < rows.size() ? "," : "");
  }
  std::fprintf(f, "  ],\n  \"errors\": %lld,\n  \"mismatches\": %lld,\n  \"passed\": %s\n}\n", run.errors,
               run.mismatches, run.errors == 0 && run.mismatches == 0 ? "true" : "false");
  return std::fclose(f) == 0;
}

}  // namespace

std::string bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  return (b == std::floor(b) ? std::to_string(static_cast<long long>(b)) : num(b)) + " " + units[u];
}

int report(const Options& opt, const Results& results, const RunInfo& run) {
  const bool compare = !run.posix_dir.empty();
  const int nranks = run.nranks;
  int rc = run.errors || run.mismatches ? 1 : 0;

  std::printf("BenchFS benchmark: %d rank%s, chunk %s, backend %s; %s%s\n", nranks, nranks > 1 ? "s" : "",
              bytes(static_cast<double>(run.chunk)).c_str(), run.backend.c_str(),
              compare ? "POSIX baseline: " : "no POSIX baseline (--compare DIR)", run.posix_dir.c_str());
  std::printf("%s\n", workload(opt).c_str());
  print_table(results.rows(), compare);
  std::printf("amount: all ranks; seconds: BenchFS, slowest rank, %s; rates: median%s\n",
              opt.iterations > 1 ? "median over iterations" : "one iteration",
              opt.iterations > 1 ? " (min-max) over iterations" : "");
  if (std::find(opt.patterns.begin(), opt.patterns.end(), "latency") != opt.patterns.end())
    std::printf("latency: each rank to a chunk held by %s; median and p99 over all ranks' samples\n",
                nranks > 1 ? "the next rank's server" : "its own server (1 rank)");
  if (compare) std::printf("ratio: BenchFS/POSIX of the median (rates: >1 BenchFS faster; latency: >1 BenchFS slower)\n");
  const Footprint& fp = run.footprint;
  if (run.backend == "memory" && fp.rss_sum > 0 && fp.stored > 0)
    std::printf("footprint after easy write (last iteration): stored %s in all, resident %s + "
                "memory files %s in all, %s per rank beyond the stored bytes (largest rank %s)\n",
                bytes(fp.stored).c_str(), bytes(fp.rss_sum).c_str(), bytes(fp.files_sum).c_str(),
                bytes((fp.rss_sum + fp.files_sum - fp.stored) / nranks).c_str(), bytes(fp.max).c_str());

  if (run.mismatches > 0)
    std::printf("!!! VERIFICATION FAILED: %lld bytes or sizes read back wrong (MISMATCH lines above) !!!\n",
                run.mismatches);
  if (run.errors > 0) std::printf("!!! %lld OPERATIONS FAILED (ERROR lines above) !!!\n", run.errors);
  if (rc == 0)
    std::printf(opt.verify ? "verified: every byte read back correctly\n"
                           : "not verified (--no-verify); no operation failed\n");
  std::fflush(stdout);
  if (!opt.json.empty() && !write_json(opt, results.rows(), run)) rc = 1;
  return rc;
}

}  // namespace benchfs_bench
