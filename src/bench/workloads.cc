#include "bench/workloads.h"

#include <benchfs/benchfs.h>
#include <fcntl.h>
#include <mpi.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace benchfs_bench {

constexpr double kProgressEvery = 2.0;  // seconds between progress lines
constexpr int kMaxLoggedPerRank = 5;    // error lines a rank prints, then counts

// --- The two file systems ------------------------------------------------------

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

namespace {

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

// --- Clocks and memory -------------------------------------------------------------

double now() { return MPI_Wtime(); }

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

}  // namespace

// --- Phases, checks and calls that report their errors ----------------------------

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
    results_.record(fs.index, "easy", "write", total, false, ph.finish());
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
    results_.record(fs.index, "easy", "read", total, false, ph.finish());
  }
  remove(fs, fs.path(mine), false);  // finish() synchronised: nobody reads it any more
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
    results_.record(fs.index, "hard", "write", total, false, ph.finish());
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
    results_.record(fs.index, "hard", "read", total, false, ph.finish());
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
    results_.record(fs.index, pattern, "create", total, true, ph.finish());
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
    results_.record(fs.index, pattern, "stat", total, true, ph.finish());
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
    results_.record(fs.index, pattern, "read", total, true, ph.finish());
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
    results_.record(fs.index, pattern, "unlink", total, true, ph.finish());
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

// Where in its file the latency test works: a chunk stored on `owner`, the
// rank that created the file and not the one measuring.  BenchFS says where
// a chunk lives (benchfs_chunk_rank); any N consecutive chunks of a file lie
// on the N ranks, one each, so one of the first N is on `owner`.  POSIX:
// offset 0.
uint64_t Bench::latency_offset(const Fs& fs, int fd, int owner, const std::string& path) {
  if (!fs.is_benchfs) return 0;
  struct stat st;
  if (fs.fstat(fd, &st) != 0) {
    error("fstat", path, errno);
    return 0;
  }
  const uint64_t chunk = static_cast<uint64_t>(st.st_blksize);  // BenchFS: the chunk size
  for (int k = 0; k < nranks_; ++k) {
    const uint64_t off = static_cast<uint64_t>(k) * chunk;
    int holder = benchfs_chunk_rank(fd, static_cast<off_t>(off));
    if (holder < 0) {
      error("benchfs_chunk_rank", path, errno);
      return 0;
    }
    if (holder == owner) return off;
  }
  error("no chunk on rank " + std::to_string(owner) + " among the first chunks of", path, 0);
  return 0;
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
    Row& r = results_.row("latency", phase);
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

void Bench::totals(long long* errors, long long* mismatches) const {
  long long mine[2] = {tally_.errors, tally_.mismatches}, all[2] = {0, 0};
  MPI_Allreduce(mine, all, 2, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  *errors = all[0];
  *mismatches = all[1];
}

}  // namespace benchfs_bench
