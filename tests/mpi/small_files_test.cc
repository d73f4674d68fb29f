// Issue 19: a server holds a bounded number of descriptors whatever its
// file count, in both backends (uring: backing files under BENCHFS_DIR;
// memory: RAM).  Every rank runs with RLIMIT_NOFILE at kNoFileLimit, as
// under `ulimit -n 256` (set once for the program by main_options().prepare,
// after MPI_Init and before any benchfs_init), and the process must hold
// fewer than kFdBound descriptors while the files exist:
//   - kDefaultFiles files of 3901 bytes in one shared directory, written,
//     stat'ed and read back by another rank, removed; the directory lists
//     empty;
//   - kLoopRounds rounds of creating and removing files: the bytes under
//     BENCHFS_DIR (uring) or BenchFS's free space (memory) stay within
//     kSlack of what they were after the first round;
//   - files of mixed sizes (0 B to 8 MiB) sharing servers, and a small file
//     truncated to large and back.
// Each run gets a fresh BENCHFS_DIR under /dev/shm, which must hold nothing
// once BenchFS is down.  At 1 rank every case runs too: one server then
// holds all the files, the hardest case for the bound.
// BENCHFS_TEST_SMALL_FILES=N makes it N files, and N/25 per rank and round
// in the loop, for quick runs (scripts/sanitize does not run this program).
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr rlim_t kNoFileLimit = 256;  // `ulimit -n 256`
constexpr size_t kFdBound = 200;      // all of a rank's (MPI, UCX, BenchFS), files or not
constexpr size_t kDefaultFiles = 50000;  // 3901-byte files, over all ranks
constexpr size_t kSmallLen = 3901;       // mdtest-hard's file size
constexpr int kLoopRounds = 10;
constexpr uint64_t kSlack = 4 << 20;  // growth allowed over the loop
constexpr size_t MiB = 1 << 20;

size_t small_files() {
  const char* e = getenv("BENCHFS_TEST_SMALL_FILES");
  return e && *e ? std::strtoul(e, nullptr, 10) : kDefaultFiles;
}

// A file's pattern seed is its name's hash: bytes found under another name
// show.
uint64_t seed_of(const std::string& path) { return std::hash<std::string>{}(path); }

// Descriptors of this process.  Listing them takes one more: a process that
// cannot open it (EMFILE) holds all it may.
size_t open_fds() {
  errno = 0;
  size_t n = count_dir_entries("/proc/self/fd");  // 0 only if it cannot be opened
  return n == 0 && errno == EMFILE ? kNoFileLimit : n;
}

// The descriptors of this process, sampled while files exist.
struct FdWatch {
  size_t before = open_fds();  // made before benchfs_init
  size_t max_seen = 0;
  void sample() { max_seen = std::max(max_seen, open_fds()); }
  // Checks the bound on every rank; rank 0 prints the largest counts.
  void report(const char* what) {
    CHECK_MESSAGE(max_seen < kFdBound, "rank " << rank() << " held " << max_seen
                                               << " descriptors (" << before << " before init)");
    unsigned long mine[2] = {before, max_seen}, most[2] = {};
    MPI_Allreduce(mine, most, 2, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
    if (rank() == 0)
      MESSAGE(std::string(what) << ": at most " << most[1] << " descriptors in a rank ("
                                << most[0] << " before init, bound " << kFdBound << ", limit "
                                << kNoFileLimit << ")");
  }
};

// A fresh BENCHFS_DIR under /dev/shm, made by rank 0 and shared; rank 0
// removes it at the end, also when a REQUIRE throws.
struct ShmDir {
  std::string path = make_shared_dir("/dev/shm", "benchfs-small-");
  ~ShmDir() {
    std::error_code ec;
    if (rank() == 0 && !path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// Reads path through a new fd, asking one byte more than `len`: the read
// must stop at the end of the file.  "" or what went wrong.
std::string read_back(const std::string& path, size_t len, std::vector<char>* out) {
  out->assign(len + 1, 'x');
  int fd = benchfs_open(path.c_str(), O_RDONLY);
  if (fd < 0) return path + ": open: " + std::strerror(errno);
  ssize_t n = benchfs_pread(fd, out->data(), out->size(), 0);
  int err = errno;
  if (benchfs_close(fd) != 0) return path + ": close: " + std::strerror(errno);
  if (n < 0) return path + ": read: " + std::strerror(err);
  if (static_cast<size_t>(n) != len)
    return path + ": read " + std::to_string(n) + " bytes of " + std::to_string(len);
  out->resize(len);
  return "";
}

// What is wrong with path, meant to hold len pattern bytes of its seed: ""
// if nothing.
std::string check_file(const std::string& path, size_t len) {
  struct stat st;
  if (benchfs_stat(path.c_str(), &st) != 0) return path + ": stat: " + std::strerror(errno);
  if (st.st_size != static_cast<off_t>(len))
    return path + ": size " + std::to_string(st.st_size) + ", not " + std::to_string(len);
  std::vector<char> buf;
  std::string why = read_back(path, len, &buf);
  if (!why.empty()) return why;
  long long bad = first_mismatch(buf, seed_of(path), 0, len);
  return bad < 0 ? "" : path + ": wrong byte at " + std::to_string(bad);
}

bool zeros(const std::vector<char>& buf, size_t from, size_t to) {
  return std::all_of(buf.begin() + from, buf.begin() + to, [](char c) { return c == 0; });
}

// Writes this rank's files names(0..n) of len bytes; true on every rank
// iff every rank wrote all of its own (collective).  A rank that fails
// stops there: the others learn it here instead of hanging in a barrier.
template <class Names>
bool write_files(const Names& names, size_t n, size_t len, FdWatch& fds) {
  std::string failure;
  size_t stored = 0;
  for (; stored < n; ++stored) {
    if (stored % 64 == 0) fds.sample();
    if (!write_file(names(stored), seed_of(names(stored)), len)) {
      failure = names(stored) + ": " + std::strerror(errno);
      break;
    }
  }
  fds.sample();
  CHECK_MESSAGE(failure.empty(), "rank " << rank() << " stored " << stored << " of its " << n
                                          << " files, then " << failure);
  bool ok = all(failure.empty());
  if (!ok) fds.report("until a write failed");
  return ok;
}

// Unlinks names(0..n); the first failure is reported.
template <class Names>
void unlink_files(const Names& names, size_t n) {
  std::string failure;
  for (size_t i = 0; i < n; ++i)
    if (benchfs_unlink(names(i).c_str()) != 0 && failure.empty())
      failure = names(i) + ": " + std::strerror(errno);
  CHECK_MESSAGE(failure.empty(), "unlink " << failure);
}

// Runs body on a fresh BenchFS of each backend, with its own BENCHFS_DIR
// and the descriptor limit checked, then checks that the backing directory
// holds nothing once BenchFS is down.
using Body = std::function<void(const std::string& backend, const std::string& dir, FdWatch&)>;
void on_each_backend(const Body& body) {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    rlimit l{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &l) == 0);
    REQUIRE(l.rlim_cur <= kNoFileLimit);  // as prepare() left it: BenchFS does not raise it
    ShmDir dir;
    REQUIRE(!dir.path.empty());
    FdWatch fds;
    start(backend, "1m", dir.path);
    body(backend, dir.path, fds);
    stop();
    MPI_Barrier(MPI_COMM_WORLD);  // every rank's finalize removed its part
    if (rank() == 0) {
      CHECK(count_files(dir.path) == 0);        // no backing file left behind
      CHECK(count_dir_entries(dir.path) == 0);  // nor the directories that held them
    }
  }
}

}  // namespace

// `ulimit -n 256` on every rank, before any benchfs_init: soft and hard
// limit both, as the shell's ulimit sets them.  Only lowered, never raised
// (a hard limit below 256 stays).
[[maybe_unused]] const bool g_main_configured = [] {
  main_options().prepare = [] {
    rlimit l{};
    if (getrlimit(RLIMIT_NOFILE, &l) != 0) return;
    l.rlim_max = std::min(l.rlim_max, kNoFileLimit);
    l.rlim_cur = std::min(l.rlim_cur, l.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &l) != 0) std::perror("small_files_test: setrlimit");
  };
  return true;
}();

TEST_CASE("50,000 files of 3901 bytes in one directory under ulimit -n 256") {
  on_each_backend([](const std::string&, const std::string&, FdWatch& fds) {
    const size_t n = small_files();
    // Rank r has the files r, r + size, r + 2 size, ... of the directory.
    auto count_of = [n](int r) { return n / size() + (static_cast<size_t>(r) < n % size()); };
    auto of = [](int r) {
      return [r](size_t k) { return "/small/f." + std::to_string(r + k * size()); };
    };
    if (rank() == 0) REQUIRE(benchfs_mkdir("/small", 0777) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (!write_files(of(rank()), count_of(rank()), kSmallLen, fds)) return;
    MPI_Barrier(MPI_COMM_WORLD);  // every writer closed: sizes published

    // Another rank's files: size by stat, every byte by a read.
    const int other = (rank() + 1) % size();
    size_t bad = 0;
    std::string first_bad;
    for (size_t k = 0; k < count_of(other); ++k) {
      std::string why = check_file(of(other)(k), kSmallLen);
      if (!why.empty() && bad++ == 0) first_bad = why;
      if (k % 64 == 0) fds.sample();
    }
    CHECK_MESSAGE(bad == 0, bad << " bad files of rank " << other << ", first " << first_bad);
    fds.report((std::to_string(n) + " small files").c_str());
    MPI_Barrier(MPI_COMM_WORLD);

    unlink_files(of(rank()), count_of(rank()));
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(list_dir("/small").empty());
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(benchfs_rmdir("/small") == 0);
  });
}

TEST_CASE("create/remove loop: the space held stays bounded") {
  on_each_backend([](const std::string& backend, const std::string& dir, FdWatch& fds) {
    const size_t per_round = small_files() / 25;  // 2,000 per rank by default
    if (rank() == 0) REQUIRE(benchfs_mkdir("/loop", 0777) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    // What the servers hold once a round's files are gone: the bytes of
    // the backing files (uring) or the free space BenchFS reports (memory;
    // the memory files are not visible from here).
    auto held = [&] { return backend == "uring" ? stored_bytes(dir) : free_bytes(); };
    uint64_t first = 0, worst = 0;
    for (int round = 0; round < kLoopRounds; ++round) {
      CAPTURE(round);
      auto name = [round](size_t i) {
        return "/loop/" + std::to_string(round) + "." + std::to_string(rank()) + "." +
               std::to_string(i);
      };
      if (!write_files(name, per_round, kSmallLen, fds)) return;
      unlink_files(name, per_round);
      MPI_Barrier(MPI_COMM_WORLD);  // every rank's files of the round are gone
      if (rank() == 0) {
        uint64_t now = held();
        if (round == 0) first = worst = now;
        worst = backend == "uring" ? std::max(worst, now) : std::min(worst, now);
        if (backend == "uring")
          CHECK_MESSAGE(now <= first + kSlack, now << " bytes under BENCHFS_DIR, " << first
                                                   << " after round 1");
        else
          CHECK_MESSAGE(now + kSlack >= first, now << " bytes free, " << first
                                                   << " after round 1");
      }
      MPI_Barrier(MPI_COMM_WORLD);  // measured before the next round writes
    }
    if (rank() == 0)
      MESSAGE(backend << (backend == "uring" ? std::string(": backing bytes") : ": free bytes")
                      << " after round 1 " << first << ", worst " << worst);
    fds.report("create/remove loop");
    if (rank() == 0) CHECK(list_dir("/loop").empty());
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(benchfs_rmdir("/loop") == 0);
  });
}

TEST_CASE("mixed sizes share servers; a small file truncated to large and back") {
  on_each_backend([](const std::string&, const std::string&, FdWatch& fds) {
    // Two of 8 MiB per rank: 8 chunks, on every server of up to 8 ranks.
    const std::vector<size_t> sizes = {0, 1, kSmallLen, 64 * 1024 + 1, 8 * MiB, 8 * MiB};
    auto of = [](int r) {
      return [r](size_t k) { return "/mixed/" + std::to_string(r) + "." + std::to_string(k); };
    };
    if (rank() == 0) REQUIRE(benchfs_mkdir("/mixed", 0777) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    std::string failure;
    for (size_t k = 0; k < sizes.size() && failure.empty(); ++k)
      if (!write_file(of(rank())(k), seed_of(of(rank())(k)), sizes[k]))
        failure = of(rank())(k) + ": " + std::strerror(errno);
    CHECK_MESSAGE(failure.empty(), "write " << failure);
    if (!all(failure.empty())) return;
    MPI_Barrier(MPI_COMM_WORLD);
    // Every rank checks every rank's files.
    for (int r = 0; r < size(); ++r)
      for (size_t k = 0; k < sizes.size(); ++k) CHECK(check_file(of(r)(k), sizes[k]) == "");
    fds.sample();
    MPI_Barrier(MPI_COMM_WORLD);

    // This rank's 3901-byte file grows to 8 MiB + 3 (by path), takes a few
    // bytes across the 8 MiB chunk boundary, shrinks to 100 (by fd) and
    // grows to 5000 again: what lies past each new end reads as zeros, not
    // as old data.
    const std::string p = of(rank())(2);
    const uint64_t seed = seed_of(p), tail_seed = seed + 1;
    const size_t big = 8 * MiB + 3, tail = 8 * MiB - 4;
    std::vector<char> buf;
    REQUIRE(benchfs_truncate(p.c_str(), static_cast<off_t>(big)) == 0);
    CHECK(size_of(p.c_str()) == static_cast<off_t>(big));
    REQUIRE(read_back(p, big, &buf) == "");
    CHECK(first_mismatch(buf, seed, 0, kSmallLen) == -1);
    CHECK(zeros(buf, kSmallLen, big));

    int fd = benchfs_open(p.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    write_pattern(fd, tail_seed, tail, big - tail, big - tail);
    REQUIRE(benchfs_close(fd) == 0);
    fds.sample();
    CHECK(size_of(p.c_str()) == static_cast<off_t>(big));
    REQUIRE(read_back(p, big, &buf) == "");
    CHECK(first_mismatch(buf, seed, 0, kSmallLen) == -1);
    CHECK(zeros(buf, kSmallLen, tail));
    std::vector<char> end(buf.begin() + tail, buf.end());
    CHECK(first_mismatch(end, tail_seed, tail, big - tail) == -1);

    fd = benchfs_open(p.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(benchfs_ftruncate(fd, 100) == 0);
    REQUIRE(benchfs_close(fd) == 0);
    CHECK(size_of(p.c_str()) == 100);
    REQUIRE(read_back(p, 100, &buf) == "");  // nothing past 100
    CHECK(first_mismatch(buf, seed, 0, 100) == -1);

    REQUIRE(benchfs_truncate(p.c_str(), 5000) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    // The next rank checks the end state: 100 pattern bytes, then zeros.
    const std::string q = of((rank() + 1) % size())(2);
    CHECK(size_of(q.c_str()) == 5000);
    REQUIRE(read_back(q, 5000, &buf) == "");
    CHECK(first_mismatch(buf, seed_of(q), 0, 100) == -1);
    CHECK(zeros(buf, 100, 5000));
    fds.report("mixed sizes");
    MPI_Barrier(MPI_COMM_WORLD);

    unlink_files(of(rank()), sizes.size());
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(list_dir("/mixed").empty());
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(benchfs_rmdir("/mixed") == 0);
  });
}
