// benchfs-bench: the workloads an HPC file system is judged by, run on
// BenchFS and (with --compare DIR) the same pattern on a POSIX directory in
// the same job, reported as one table on rank 0.
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
//
//   mpirun -np 4 benchfs-bench --compare /dev/shm/bench --iterations 3

#include <benchfs/benchfs.h>
#include <fcntl.h>
#include <mpi.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "build-config.h"      // BENCHFS_DEFAULT_BACKEND, for the header line
#include "common/placement.h"  // aims latency requests at another rank's server

namespace {

constexpr uint64_t kHardRecord = 47008;  // IOR-hard's record size
constexpr uint64_t kLatencyBytes = 4096;
constexpr uint64_t kMaxTransfer = 1ull << 30;  // one pread/pwrite must not go short
constexpr double kProgressEvery = 2.0;         // seconds between progress lines
constexpr int kMaxLoggedPerRank = 5;           // error lines a rank prints, then counts
const char* const kAllPatterns[] = {"easy", "hard", "md", "latency"};

// --- Options ---------------------------------------------------------------

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

// "256m" -> 268435456.  Suffixes k, m, g, t (powers of 1024), either case.
std::optional<uint64_t> parse_size(const std::string& s) {
  size_t i = 0;
  uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  int shift = 0;
  if (i < s.size()) {
    switch (s[i] | 0x20) {  // lower case
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: return std::nullopt;
    }
    ++i;
  }
  if (i != s.size() || v > (UINT64_MAX >> shift)) return std::nullopt;
  return v << shift;
}

const CLI::Validator kSize(
    [](std::string& s) -> std::string {
      return parse_size(s) ? std::string()
                           : "'" + s + "' is not a size (a number, optionally followed by k, m, g or t, e.g. 256m)";
    },
    "", "size");

// Parses argv the same way on every rank, so every rank reaches the same
// verdict and none is left waiting in a collective.  Returns the exit code
// when the program must stop (help, or bad arguments), nothing to go on.
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
  o.transfer = *parse_size(transfer);
  o.block = *parse_size(block);
  o.md_bytes = *parse_size(md_bytes);
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

// --- The two file systems, behind one set of calls ---------------------------

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

Fs benchfs_fs() {
  return {"BenchFS",      0,          true,          "/benchfs-bench", benchfs_open,
          benchfs_close,  benchfs_pread, benchfs_pwrite, benchfs_fstat,  benchfs_stat,
          benchfs_unlink, benchfs_mkdir, benchfs_rmdir};
}

Fs posix_fs(const std::string& dir) {
  // Lambdas: fstat/stat may be inline wrappers in older C libraries.
  return {"POSIX",  1,       false,    dir,
          ::open,   ::close, ::pread,  ::pwrite,
          [](int fd, struct stat* st) { return ::fstat(fd, st); },
          [](const char* p, struct stat* st) { return ::stat(p, st); },
          ::unlink, ::mkdir, ::rmdir};
}

// --- The data pattern ------------------------------------------------------------
// The byte at offset o of a file is byte o%8 of word(seed, o/8), the seed
// being a hash of the file's name and the iteration: misplaced, stale or
// another file's data all fail the check.  A multiply per 8 bytes keeps it
// cheap; its cost is left out of the timings anyway.

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

uint64_t seed_of(const std::string& name, int iteration) {
  return fnv1a(name) ^ (static_cast<uint64_t>(iteration + 1) * 0xd6e8feb86659fd93ull);
}

inline uint64_t pattern_word(uint64_t seed, uint64_t index) {
  uint64_t x = (seed + index) * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 29);
}

void fill(char* buf, size_t len, uint64_t seed, uint64_t offset) {
  size_t i = 0;
  while (i < len) {
    uint64_t o = offset + i;
    uint64_t w = pattern_word(seed, o / 8);
    if (o % 8 == 0 && len - i >= 8) {
      std::memcpy(buf + i, &w, 8);
      i += 8;
    } else {  // unaligned head or short tail: byte by byte, same bytes as memcpy
      unsigned char word[8];
      std::memcpy(word, &w, 8);
      buf[i++] = static_cast<char>(word[o % 8]);
    }
  }
}

// --- Small statistics --------------------------------------------------------

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

struct Row {
  std::string pattern, phase;
  bool ops = false;      // amount counts operations, not bytes
  bool latency = false;  // per-operation latencies instead of a rate
  double amount = 0;     // all ranks, one iteration
  std::vector<double> seconds[2];     // per iteration; [0] BenchFS, [1] POSIX
  std::vector<double> latency_us[2];  // every sample of every rank and iteration

  std::vector<double> rates(int fs) const {
    std::vector<double> r;
    for (double s : seconds[fs]) r.push_back(amount / std::max(s, 1e-9) / (ops ? 1.0 : 1073741824.0));
    return r;
  }
  bool has(int fs) const { return latency ? !latency_us[fs].empty() : !seconds[fs].empty(); }
  // The number compared between the two file systems.
  double headline(int fs) const { return latency ? median(latency_us[fs]) : median(rates(fs)); }
  const char* unit() const { return latency ? "us" : ops ? "ops/s" : "GiB/s"; }
};

// Errors and mismatches of this rank; a few are printed, all are counted.
struct Tally {
  long long errors = 0, mismatches = 0;
  int logged = 0;
};

double now() { return MPI_Wtime(); }

// --- The benchmark ------------------------------------------------------------

class Bench {
 public:
  Bench(const Options& opt, int rank, int nranks) : opt_(opt), rank_(rank), nranks_(nranks) {}

  void run(const std::vector<Fs>& systems);
  // Prints the table (rank 0), writes the JSON; returns the exit code.
  int report(const std::vector<Fs>& systems, uint64_t chunk, const std::string& backend);

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

  Row& row(const std::string& pattern, const std::string& phase);
  void record(const Fs& fs, const std::string& pattern, const std::string& phase, double amount, bool ops,
              double seconds);
  std::vector<double> gather(const std::vector<double>& mine) const;
  std::string label(const std::string& what, const Fs& fs, int it) const;
  std::string workload() const;
  void print_table(bool compare) const;
  bool write_json(const std::vector<Fs>& systems, uint64_t chunk, const std::string& backend,
                  long long errors, long long mismatches) const;

  const Options& opt_;
  int rank_, nranks_;
  Tally tally_;
  std::vector<Row> rows_;  // in the order the phases first ran
  struct {
    double rss_sum = 0, files_sum = 0, max = 0, stored = 0;  // bytes; max: resident + files
  } footprint_;
};

// One timed phase: a barrier, then the clock runs on every rank; finish()
// returns the slowest rank's time.  Time spent making or checking the data
// pattern is excluded (exclude()), so the pattern's CPU cost does not count
// against either file system.
class Bench::Phase {
 public:
  Phase(const Bench& b, std::string label, uint64_t units)
      : rank_(b.rank_), label_(std::move(label)), units_(units) {
    MPI_Barrier(MPI_COMM_WORLD);
    start_ = last_print_ = now();
  }

  void exclude(double since) { excluded_ += now() - since; }

  // Rank 0 prints how far it has got every few seconds; no collectives here.
  void progress(uint64_t done) {
    if (rank_ != 0) return;
    double t = now();
    if (t - last_print_ < kProgressEvery) return;
    last_print_ = t;
    std::fprintf(stderr, "%s: %.0f%%\n", label_.c_str(), 100.0 * static_cast<double>(done) / static_cast<double>(units_));
  }

  double finish() {
    double mine = now() - start_ - excluded_, slowest = 0;
    MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return slowest;
  }

 private:
  int rank_;
  std::string label_;
  uint64_t units_;
  double start_ = 0, last_print_ = 0, excluded_ = 0;
};

void Bench::error(const std::string& what, const std::string& path, int err) {
  ++tally_.errors;
  if (tally_.logged++ < kMaxLoggedPerRank)
    std::fprintf(stderr, "rank %d: ERROR: %s %s%s%s\n", rank_, what.c_str(), path.c_str(), err ? ": " : "",
                 err ? std::strerror(err) : "");
}

// Compares bytes read at `offset` of a file with the pattern.
void Bench::check(const char* got, char* want, size_t len, uint64_t seed, uint64_t offset, const std::string& path) {
  fill(want, len, seed, offset);
  if (std::memcmp(got, want, len) == 0) return;
  size_t first = len, bad = 0;
  for (size_t i = 0; i < len; ++i)
    if (got[i] != want[i]) {
      if (first == len) first = i;
      ++bad;
    }
  tally_.mismatches += static_cast<long long>(bad);
  if (tally_.logged++ < kMaxLoggedPerRank)
    std::fprintf(stderr,
                 "rank %d: MISMATCH in %s: %zu of %zu bytes wrong at offset %llu, first at %llu: "
                 "expected 0x%02x, read 0x%02x\n",
                 rank_, path.c_str(), bad, len, static_cast<unsigned long long>(offset),
                 static_cast<unsigned long long>(offset + first), static_cast<unsigned char>(want[first]),
                 static_cast<unsigned char>(got[first]));
}

// pwrite until done: POSIX may write short; BenchFS does not.
bool Bench::write_full(const Fs& fs, int fd, const char* buf, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    ssize_t n = fs.pwrite(fd, buf, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error(n < 0 ? "pwrite" : "pwrite wrote nothing to", path, n < 0 ? errno : 0);
      return false;
    }
    buf += n, len -= static_cast<size_t>(n), off += static_cast<uint64_t>(n);
  }
  return true;
}

bool Bench::read_full(const Fs& fs, int fd, char* buf, size_t len, uint64_t off, const std::string& path) {
  while (len > 0) {
    ssize_t n = fs.pread(fd, buf, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error(n < 0 ? "pread" : "pread hit end of file early in", path, n < 0 ? errno : 0);
      return false;
    }
    buf += n, len -= static_cast<size_t>(n), off += static_cast<uint64_t>(n);
  }
  return true;
}

void Bench::close_file(const Fs& fs, int fd, const std::string& path) {
  if (fs.close(fd) != 0) error("close", path, errno);
}

// Cleanup: a file that is already gone is fine (a failed create was reported).
void Bench::remove(const Fs& fs, const std::string& path, bool is_dir) {
  if ((is_dir ? fs.rmdir(path.c_str()) : fs.unlink(path.c_str())) != 0 && errno != ENOENT)
    error(is_dir ? "rmdir" : "unlink", path, errno);
}

Row& Bench::row(const std::string& pattern, const std::string& phase) {
  for (auto& r : rows_)
    if (r.pattern == pattern && r.phase == phase) return r;
  rows_.push_back(Row{});
  rows_.back().pattern = pattern;
  rows_.back().phase = phase;
  return rows_.back();
}

void Bench::record(const Fs& fs, const std::string& pattern, const std::string& phase, double amount, bool ops,
                   double seconds) {
  Row& r = row(pattern, phase);
  r.amount = amount;
  r.ops = ops;
  r.seconds[fs.index].push_back(seconds);
}

std::string Bench::label(const std::string& what, const Fs& fs, int it) const {
  std::string l = what + " [" + fs.name;
  if (opt_.iterations > 1) l += ", iteration " + std::to_string(it + 1) + "/" + std::to_string(opt_.iterations);
  return l + "]";
}

// --- easy: file per process -----------------------------------------------------

void Bench::easy(const Fs& fs, int it) {
  const uint64_t n = opt_.block / opt_.transfer;
  const double total = static_cast<double>(opt_.block) * nranks_;
  std::vector<char> buf(opt_.transfer), want(opt_.transfer);
  const std::string mine = "easy." + std::to_string(rank_);
  const std::string theirs = "easy." + std::to_string((rank_ + 1) % nranks_);

  {
    Phase ph(*this, label("easy write", fs, it), n);
    const std::string path = fs.path(mine);
    const uint64_t seed = seed_of(mine, it);
    int fd = fs.open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) error("open", path, errno);
    for (uint64_t i = 0; fd >= 0 && i < n; ++i) {
      uint64_t off = i * opt_.transfer;
      if (opt_.verify || i == 0) {  // without verification any bytes will do
        double t = now();
        fill(buf.data(), buf.size(), seed, off);
        ph.exclude(t);
      }
      if (!write_full(fs, fd, buf.data(), buf.size(), off, path)) break;
      ph.progress(i + 1);
    }
    if (fd >= 0) close_file(fs, fd, path);  // publishes the size (close-to-open)
    record(fs, "easy", "write", total, false, ph.finish());
  }
  if (fs.is_benchfs) measure_footprint(fs);
  {
    // Read the next rank's file: data written elsewhere, as IOR -C does.
    Phase ph(*this, label("easy read", fs, it), n);
    const std::string path = fs.path(theirs);
    const uint64_t seed = seed_of(theirs, it);
    int fd = fs.open(path.c_str(), O_RDONLY);
    if (fd < 0) error("open", path, errno);
    for (uint64_t i = 0; fd >= 0 && i < n; ++i) {
      uint64_t off = i * opt_.transfer;
      if (!read_full(fs, fd, buf.data(), buf.size(), off, path)) break;
      if (opt_.verify) {
        double t = now();
        check(buf.data(), want.data(), buf.size(), seed, off, path);
        ph.exclude(t);
      }
      ph.progress(i + 1);
    }
    if (fd >= 0) close_file(fs, fd, path);
    record(fs, "easy", "read", total, false, ph.finish());
  }
  remove(fs, fs.path(mine), false);  // finish() synchronised: nobody reads it any more
}

// Resident memory of this process in bytes (VmRSS), 0 if unknown.
uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// Memory the memory backend's files (memfds) of this process hold, by the
// kernel's count: their pages are not in VmRSS, as nothing maps them.  A
// duplicate of a peer's file (direct I/O on a file still open) would be
// counted twice, so the figure errs on the large side.
uint64_t memory_file_bytes() {
  uint64_t held = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    if (ec || target.rfind("/memfd:benchfs-", 0) != 0) continue;
    struct stat st;
    if (::stat(e.path().c_str(), &st) == 0) held += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return held;
}

// Right after the easy write every rank's file is stored: the job's memory
// (resident plus memory files) against the bytes BenchFS holds (statvfs:
// capacity - free, all servers).  Meaningful for the memory backend.
void Bench::measure_footprint(const Fs& fs) {
  struct statvfs sv {};
  double stored = 0;
  if (benchfs_statvfs(fs.root.c_str(), &sv) == 0)
    stored = static_cast<double>(sv.f_blocks - sv.f_bfree) * static_cast<double>(sv.f_frsize);
  double mine[2] = {static_cast<double>(resident_bytes()), static_cast<double>(memory_file_bytes())};
  double sum[2] = {0, 0}, max = 0, total = mine[0] + mine[1];
  MPI_Allreduce(mine, sum, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(&total, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  footprint_ = {sum[0], sum[1], max, stored};
}

// --- hard: one shared file, 47008-byte records interleaved by rank -------------------

void Bench::hard(const Fs& fs, int it) {
  const uint64_t n = opt_.hard_records, N = static_cast<uint64_t>(nranks_);
  const double total = static_cast<double>(kHardRecord * n * N);
  const std::string path = fs.path("hard");
  const uint64_t seed = seed_of("hard", it);
  std::vector<char> buf(kHardRecord), want(kHardRecord);
  auto offset = [&](uint64_t i, uint64_t r) { return (i * N + r) * kHardRecord; };

  {
    Phase ph(*this, label("hard write", fs, it), n);
    // No O_TRUNC: on POSIX a late rank's truncation would erase earlier
    // ranks' records.  The file is new: the previous iteration removed it.
    int fd = fs.open(path.c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd < 0) error("open", path, errno);
    for (uint64_t i = 0; fd >= 0 && i < n; ++i) {
      uint64_t off = offset(i, static_cast<uint64_t>(rank_));
      if (opt_.verify || i == 0) {
        double t = now();
        fill(buf.data(), buf.size(), seed, off);
        ph.exclude(t);
      }
      if (!write_full(fs, fd, buf.data(), buf.size(), off, path)) break;
      ph.progress(i + 1);
    }
    if (fd >= 0) close_file(fs, fd, path);
    record(fs, "hard", "write", total, false, ph.finish());
  }
  {
    Phase ph(*this, label("hard read", fs, it), n);
    const uint64_t src = static_cast<uint64_t>((rank_ + 1) % nranks_);
    int fd = fs.open(path.c_str(), O_RDONLY);
    if (fd < 0) error("open", path, errno);
    for (uint64_t i = 0; fd >= 0 && i < n; ++i) {
      uint64_t off = offset(i, src);
      if (!read_full(fs, fd, buf.data(), buf.size(), off, path)) break;
      if (opt_.verify) {
        double t = now();
        check(buf.data(), want.data(), buf.size(), seed, off, path);
        ph.exclude(t);
      }
      ph.progress(i + 1);
    }
    if (fd >= 0) close_file(fs, fd, path);
    record(fs, "hard", "read", total, false, ph.finish());
  }
  if (rank_ == 0) remove(fs, path, false);
}

// --- md: small files in a directory per rank and in one shared directory ------------

void Bench::md(const Fs& fs, int it, bool shared) {
  const std::string pattern = shared ? "md-shared" : "md-private";
  const std::string dir_name = shared ? "md-shared" : "md-private." + std::to_string(rank_);
  const std::string dir = fs.path(dir_name);
  const uint64_t n = opt_.files;
  const double total = static_cast<double>(n) * nranks_;
  std::vector<char> buf(opt_.md_bytes), want(opt_.md_bytes);
  const long long errors_before = tally_.errors;

  if ((!shared || rank_ == 0) && fs.mkdir(dir.c_str(), 0755) != 0) error("mkdir", dir, errno);
  MPI_Barrier(MPI_COMM_WORLD);  // the shared directory exists before anyone creates in it

  // Each rank works on its own files, named by rank even in its own directory.
  std::vector<std::string> names(n), paths(n);
  for (uint64_t i = 0; i < n; ++i) {
    names[i] = dir_name + "/f." + std::to_string(rank_) + "." + std::to_string(i);
    paths[i] = fs.path(names[i]);
  }

  {
    Phase ph(*this, label(pattern + " create", fs, it), n);
    for (uint64_t i = 0; i < n; ++i) {
      int fd = fs.open(paths[i].c_str(), O_CREAT | O_WRONLY, 0644);
      if (fd < 0) {
        error("create", paths[i], errno);
        break;
      }
      if (opt_.md_bytes > 0) {
        double t = now();
        fill(buf.data(), buf.size(), seed_of(names[i], it), 0);
        ph.exclude(t);
        write_full(fs, fd, buf.data(), buf.size(), 0, paths[i]);
      }
      close_file(fs, fd, paths[i]);
      ph.progress(i + 1);
    }
    record(fs, pattern, "create", total, true, ph.finish());
  }
  {
    Phase ph(*this, label(pattern + " stat", fs, it), n);
    for (uint64_t i = 0; i < n; ++i) {
      struct stat st;
      if (fs.stat(paths[i].c_str(), &st) != 0) {
        error("stat", paths[i], errno);
        break;
      }
      if (opt_.verify && static_cast<uint64_t>(st.st_size) != opt_.md_bytes) {
        ++tally_.mismatches;
        if (tally_.logged++ < kMaxLoggedPerRank)
          std::fprintf(stderr, "rank %d: MISMATCH: %s has size %lld, expected %llu\n", rank_, paths[i].c_str(),
                       static_cast<long long>(st.st_size), static_cast<unsigned long long>(opt_.md_bytes));
      }
      ph.progress(i + 1);
    }
    record(fs, pattern, "stat", total, true, ph.finish());
  }
  {
    Phase ph(*this, label(pattern + " read", fs, it), n);
    for (uint64_t i = 0; i < n; ++i) {
      int fd = fs.open(paths[i].c_str(), O_RDONLY);
      if (fd < 0) {
        error("open", paths[i], errno);
        break;
      }
      if (opt_.md_bytes > 0 && read_full(fs, fd, buf.data(), buf.size(), 0, paths[i]) && opt_.verify) {
        double t = now();
        check(buf.data(), want.data(), buf.size(), seed_of(names[i], it), 0, paths[i]);
        ph.exclude(t);
      }
      close_file(fs, fd, paths[i]);
      ph.progress(i + 1);
    }
    record(fs, pattern, "read", total, true, ph.finish());
  }
  {
    Phase ph(*this, label(pattern + " unlink", fs, it), n);
    for (uint64_t i = 0; i < n; ++i) {
      if (fs.unlink(paths[i].c_str()) != 0) {
        error("unlink", paths[i], errno);
        break;
      }
      ph.progress(i + 1);
    }
    record(fs, pattern, "unlink", total, true, ph.finish());
  }

  // After a failure some files may be left: sweep them so the directories go.
  long long mine = tally_.errors - errors_before, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (all > 0)
    for (const auto& p : paths) fs.unlink(p.c_str());
  if (!shared) remove(fs, dir, true);
  MPI_Barrier(MPI_COMM_WORLD);  // every rank is out of the shared directory
  if (shared && rank_ == 0) remove(fs, dir, true);
}

// --- latency: small round trips to data held by another server -----------------------

// Where in its file the latency test works.  BenchFS places chunk k of a
// file on server (mix64(id) + k) mod N; the public API cannot choose, so we
// use the library's placement rule to pick a chunk stored on `owner`, the
// rank that created the file and not the one measuring.  POSIX: offset 0.
uint64_t Bench::latency_offset(const Fs& fs, int fd, int owner, const std::string& path) {
  if (!fs.is_benchfs) return 0;
  struct stat st;
  if (fs.fstat(fd, &st) != 0) {
    error("fstat", path, errno);
    return 0;
  }
  uint64_t chunk = benchfs::first_chunk_on(static_cast<uint64_t>(st.st_ino), owner, nranks_);
  return chunk * static_cast<uint64_t>(st.st_blksize);
}

// Collects every rank's samples on rank 0.
std::vector<double> Bench::gather(const std::vector<double>& mine) const {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(nranks_)), displs(static_cast<size_t>(nranks_));
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  int sum = 0;
  for (int r = 0; r < nranks_; ++r) displs[static_cast<size_t>(r)] = sum, sum += counts[static_cast<size_t>(r)];
  std::vector<double> all(rank_ == 0 ? static_cast<size_t>(sum) : 0);
  MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE, 0,
              MPI_COMM_WORLD);
  return all;
}

void Bench::latency(const Fs& fs, int it) {
  using Clock = std::chrono::steady_clock;
  const std::string mine = fs.path("lat." + std::to_string(rank_));
  const int target_rank = (rank_ + 1) % nranks_;
  const std::string target = fs.path("lat." + std::to_string(target_rank));
  // A separate buffer to read into: a pread that returned without filling it
  // must not pass the check with the bytes just written.
  std::vector<char> buf(kLatencyBytes), got(kLatencyBytes), want(kLatencyBytes);

  // Untimed set-up: every rank creates a file with 4 KiB where the next test uses it.
  int fd = fs.open(mine.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) {
    error("open", mine, errno);
  } else {
    uint64_t off = latency_offset(fs, fd, rank_, mine);
    fill(buf.data(), buf.size(), seed_of(mine, it), off);
    write_full(fs, fd, buf.data(), buf.size(), off, mine);
    close_file(fs, fd, mine);
  }

  std::vector<double> wr, rd;
  wr.reserve(opt_.latency_ops), rd.reserve(opt_.latency_ops);
  {
    Phase ph(*this, label("latency", fs, it), opt_.latency_ops);
    fd = fs.open(target.c_str(), O_RDWR);
    if (fd < 0) error("open", target, errno);
    uint64_t off = fd >= 0 ? latency_offset(fs, fd, target_rank, target) : 0;
    for (uint64_t k = 0; fd >= 0 && k < opt_.latency_ops; ++k) {
      const uint64_t seed = seed_of(target, it) + k * 0x10001;  // new bytes every round
      fill(buf.data(), buf.size(), seed, off);
      auto t0 = Clock::now();
      if (!write_full(fs, fd, buf.data(), buf.size(), off, target)) break;
      auto t1 = Clock::now();
      if (!read_full(fs, fd, got.data(), got.size(), off, target)) break;
      auto t2 = Clock::now();
      wr.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      rd.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
      if (opt_.verify) check(got.data(), want.data(), got.size(), seed, off, target);
      ph.progress(k + 1);
    }
    if (fd >= 0) close_file(fs, fd, target);
    ph.finish();
  }
  remove(fs, mine, false);

  const double total = static_cast<double>(opt_.latency_ops) * nranks_;
  for (auto [phase, samples] : {std::pair{"pwrite", &wr}, std::pair{"pread", &rd}}) {
    std::vector<double> all = gather(*samples);
    Row& r = row("latency", phase);
    r.ops = r.latency = true;
    r.amount = total;
    r.latency_us[fs.index].insert(r.latency_us[fs.index].end(), all.begin(), all.end());
  }
}

// --- Running it all -------------------------------------------------------------

void Bench::run(const std::vector<Fs>& systems) {
  // BenchFS starts empty; the POSIX directory was made by prepare_compare_dir.
  const Fs& benchfs = systems[0];
  if (rank_ == 0 && benchfs.mkdir(benchfs.root.c_str(), 0755) != 0) error("mkdir", benchfs.root, errno);
  MPI_Barrier(MPI_COMM_WORLD);
  // Pattern by pattern, each iteration on BenchFS then on POSIX, so the two
  // runs of a pattern see the machine in the same state.
  for (const auto& p : opt_.patterns)
    for (int it = 0; it < opt_.iterations; ++it)
      for (const auto& fs : systems) {
        if (p == "easy") easy(fs, it);
        if (p == "hard") hard(fs, it);
        if (p == "md") md(fs, it, false), md(fs, it, true);
        if (p == "latency") latency(fs, it);
      }
  MPI_Barrier(MPI_COMM_WORLD);
  // The BenchFS root goes; the POSIX directory itself is removed by main if
  // this program made it.
  if (rank_ == 0) remove(benchfs, benchfs.root, true);
}

// --- Output -------------------------------------------------------------------------

// 3 significant digits, enough to compare and easy to read.
std::string num(double v) {
  char s[64];
  if (!std::isfinite(v)) return "-";
  double a = std::fabs(v);
  std::snprintf(s, sizeof s, a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%#.3g", v);
  return s;
}

std::string bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) b /= 1024, ++u;
  return (b == std::floor(b) ? std::to_string(static_cast<long long>(b)) : num(b)) + " " + units[u];
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

void Bench::print_table(bool compare) const {
  std::vector<std::vector<std::string>> cells{{"pattern", "phase", "amount", "seconds", "BenchFS"}};
  if (compare) cells[0].insert(cells[0].end(), {"POSIX", "ratio"});
  for (const auto& r : rows_) {
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

bool Bench::write_json(const std::vector<Fs>& systems, uint64_t chunk, const std::string& backend, long long errors,
                       long long mismatches) const {
  FILE* f = std::fopen(opt_.json.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "benchfs-bench: cannot write %s: %s\n", opt_.json.c_str(), std::strerror(errno));
    return false;
  }
  const bool compare = systems.size() > 1;
  std::string patterns;
  for (const auto& p : opt_.patterns) patterns += (patterns.empty() ? "" : ", ") + json_string(p);
  std::fprintf(f, "{\n  \"ranks\": %d,\n  \"chunk_size\": %llu,\n  \"backend\": %s,\n  \"posix_dir\": %s,\n", nranks_,
               static_cast<unsigned long long>(chunk), json_string(backend).c_str(),
               compare ? json_string(systems[1].root).c_str() : "null");
  std::fprintf(f,
               "  \"options\": {\"patterns\": [%s], \"transfer\": %llu, \"block\": %llu, \"hard_records\": %llu, "
               "\"hard_record_bytes\": %llu, \"files\": %llu, \"md_bytes\": %llu, \"latency_ops\": %llu, "
               "\"latency_bytes\": %llu, \"iterations\": %d, \"verify\": %s},\n",
               patterns.c_str(), static_cast<unsigned long long>(opt_.transfer),
               static_cast<unsigned long long>(opt_.block), static_cast<unsigned long long>(opt_.hard_records),
               static_cast<unsigned long long>(kHardRecord), static_cast<unsigned long long>(opt_.files),
               static_cast<unsigned long long>(opt_.md_bytes), static_cast<unsigned long long>(opt_.latency_ops),
               static_cast<unsigned long long>(kLatencyBytes), opt_.iterations, opt_.verify ? "true" : "false");
  std::fprintf(f, "  \"results\": [\n");
  for (size_t i = 0; i < rows_.size(); ++i) {
    const Row& r = rows_[i];
    std::fprintf(f,
                 "    {\"pattern\": %s, \"phase\": %s, \"unit\": %s, \"amount\": %s,\n"
                 "     \"benchfs\": %s,\n     \"posix\": %s,\n     \"ratio\": %s}%s\n",
                 json_string(r.pattern).c_str(), json_string(r.phase).c_str(), r.ops ? "\"ops\"" : "\"bytes\"",
                 json_number(r.amount).c_str(), json_fs(r, 0).c_str(), compare ? json_fs(r, 1).c_str() : "null",
                 compare ? json_number(r.headline(0) / r.headline(1)).c_str() : "null",
                 i + 1 < rows_.size() ? "," : "");
  }
  std::fprintf(f, "  ],\n  \"errors\": %lld,\n  \"mismatches\": %lld,\n  \"passed\": %s\n}\n", errors, mismatches,
               errors == 0 && mismatches == 0 ? "true" : "false");
  return std::fclose(f) == 0;
}

// What was run, in one line: "easy: 64 MiB per rank in 1 MiB transfers; ...".
std::string Bench::workload() const {
  std::string line;
  auto u = [](uint64_t v) { return std::to_string(v); };
  for (const auto& p : opt_.patterns) {
    line += line.empty() ? "" : "; ";
    if (p == "easy")
      line += "easy: " + bytes(static_cast<double>(opt_.block)) + " per rank in " +
              bytes(static_cast<double>(opt_.transfer)) + " transfers";
    if (p == "hard") line += "hard: " + u(opt_.hard_records) + " records of " + u(kHardRecord) + " B per rank";
    if (p == "md")
      line += "md: " + u(opt_.files) + " files of " + bytes(static_cast<double>(opt_.md_bytes)) + " per rank";
    if (p == "latency") line += "latency: " + u(opt_.latency_ops) + " x 4 KiB per rank";
  }
  return line + "; " + std::to_string(opt_.iterations) + (opt_.iterations > 1 ? " iterations" : " iteration");
}

int Bench::report(const std::vector<Fs>& systems, uint64_t chunk, const std::string& backend) {
  long long mine[2] = {tally_.errors, tally_.mismatches}, all[2] = {0, 0};
  MPI_Allreduce(mine, all, 2, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  const bool compare = systems.size() > 1;
  int rc = all[0] || all[1] ? 1 : 0;
  if (rank_ != 0) return rc;

  std::printf("BenchFS benchmark: %d rank%s, chunk %s, backend %s; %s%s\n", nranks_,
              nranks_ > 1 ? "s" : "", bytes(static_cast<double>(chunk)).c_str(), backend.c_str(),
              compare ? "POSIX baseline: " : "no POSIX baseline (--compare DIR)",
              compare ? systems[1].root.c_str() : "");
  std::printf("%s\n", workload().c_str());
  print_table(compare);
  std::printf("amount: all ranks; seconds: BenchFS, slowest rank, %s; rates: median%s\n",
              opt_.iterations > 1 ? "median over iterations" : "one iteration",
              opt_.iterations > 1 ? " (min-max) over iterations" : "");
  if (std::find(opt_.patterns.begin(), opt_.patterns.end(), "latency") != opt_.patterns.end())
    std::printf("latency: each rank to a chunk held by %s; median and p99 over all ranks' samples\n",
                nranks_ > 1 ? "the next rank's server" : "its own server (1 rank)");
  if (compare) std::printf("ratio: BenchFS/POSIX of the median (rates: >1 BenchFS faster; latency: >1 BenchFS slower)\n");
  if (backend == "memory" && footprint_.rss_sum > 0 && footprint_.stored > 0)
    std::printf("footprint after easy write (last iteration): stored %s in all, resident %s + "
                "memory files %s in all, %s per rank beyond the stored bytes (largest rank %s)\n",
                bytes(footprint_.stored).c_str(), bytes(footprint_.rss_sum).c_str(),
                bytes(footprint_.files_sum).c_str(),
                bytes((footprint_.rss_sum + footprint_.files_sum - footprint_.stored) / nranks_).c_str(),
                bytes(footprint_.max).c_str());

  if (all[1] > 0)
    std::printf("!!! VERIFICATION FAILED: %lld bytes or sizes read back wrong (MISMATCH lines above) !!!\n", all[1]);
  if (all[0] > 0) std::printf("!!! %lld OPERATIONS FAILED (ERROR lines above) !!!\n", all[0]);
  if (rc == 0)
    std::printf(opt_.verify ? "verified: every byte read back correctly\n"
                            : "not verified (--no-verify); no operation failed\n");
  std::fflush(stdout);
  if (!opt_.json.empty() && !write_json(systems, chunk, backend, all[0], all[1])) rc = 1;
  return rc;
}

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
  auto parsed = v ? parse_size(v) : std::nullopt;
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
  int rc = bench.report(systems, chunk_size(), backend_name());

  benchfs_finalize();
  MPI_Barrier(MPI_COMM_WORLD);  // every rank is done with the POSIX directory
  if (rank == 0) remove_made_dirs(made);
  MPI_Finalize();
  return rc;
}
