// Visibility across ranks, and across hosts under scripts/hosts: a change
// that has returned on one rank is seen by every rank after a barrier
// (issue 21: a directory listed right after a barrier lacked an entry).
//
// BENCHFS_TEST_ROUNDS (default 3) repeats each check with fresh names;
// BENCHFS_SIBLING_ROUNDS (default: BENCHFS_TEST_ROUNDS) the stat, rename
// and unlink checks alone, which are cheap enough for many more rounds.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <sstream>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

// A positive round count from the environment variable `name`, else
// `fallback`.  Anything else fails the test by name rather than quietly
// running some other number of rounds.
int rounds_from(const char* name, int fallback) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  long n = strtol(v, &end, 10);
  const bool valid = errno == 0 && *end == 0 && n > 0 && n <= INT_MAX;
  const std::string why = std::string(name) + "=" + v + ": not a positive number of rounds";
  REQUIRE_MESSAGE(valid, why);
  return static_cast<int>(n);
}

int rounds() { return rounds_from("BENCHFS_TEST_ROUNDS", 3); }
int sibling_rounds() { return rounds_from("BENCHFS_SIBLING_ROUNDS", rounds()); }

// The backing directory: on /dev/shm where there is one (where the issue
// was seen), else the test's scratch directory.  Made by rank 0, removed
// by the caller.
std::string backing_dir() {
  if (access("/dev/shm", W_OK) == 0) return make_shared_dir("/dev/shm", "benchfs-vis-");
  return make_shared_dir(scratch_dir(), "vis-");
}

void remove_backing_dir(const std::string& dir) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

// Hosts in the job, as MPI sees them: one leader per group of ranks that
// share memory.
int nhosts() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int node_rank = 0;
  MPI_Comm_rank(node, &node_rank);
  MPI_Comm_free(&node);
  int leader = node_rank == 0 ? 1 : 0;
  int n = 0;
  MPI_Allreduce(&leader, &n, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return n;
}

// Whose files this rank checks: rank r's are checked by rank r + size/2
// (mod size), on the other host at 2 hosts of R ranks (scripts/hosts puts
// ranks 0..R-1 on h1, R..2R-1 on h2), else some other rank (itself at 1
// rank).
int checked_rank() { return (rank() + size() - size() / 2) % size(); }

// Short names: a server's page of a 300-entry directory (about 75 entries
// at 4 ranks) travels eager; long ones make it larger than the 8 KiB eager
// threshold, so it travels rendezvous.
std::string file_name(int owner, int i, bool long_name) {
  std::string n = "file.mdtest." + std::to_string(owner) + "." + std::to_string(i);
  if (long_name) n += "." + std::string(120, 'x');
  return n;
}

void check_listings(bool long_names) {
  constexpr int kFiles = 300;
  const int hosts = nhosts();
  const int n = rounds();  // before start: a bad count must not leave BenchFS running
  if (rank() == 0)
    MESSAGE(size() << " rank(s) on " << hosts << " host(s), " << n << " round(s); rank 0 lists rank "
                   << checked_rank() << "'s directory");
  const std::string backing = backing_dir();
  start("uring", "64k", backing);
  int lost_total = 0;
  for (int round = 0; round < n; ++round) {
    const std::string base = long_names ? "/long" : "/vis";
    std::string mine = base + std::to_string(round) + "." + std::to_string(rank());
    REQUIRE(benchfs_mkdir(mine.c_str(), 0755) == 0);
    for (int i = 0; i < kFiles; ++i) {
      std::string p = mine + "/" + file_name(rank(), i, long_names);
      int fd = benchfs_open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
      REQUIRE_MESSAGE(fd >= 0, p << ": " << strerror(errno));
      REQUIRE(benchfs_close(fd) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    // Another rank's directory (on the other host where there are two).
    const int owner = checked_rank();
    const std::string theirs = base + std::to_string(round) + "." + std::to_string(owner);
    benchfs_dir* d = benchfs_opendir(theirs.c_str());
    REQUIRE_MESSAGE(d != nullptr, theirs << ": " << strerror(errno));
    std::set<std::string> seen;
    errno = 0;
    while (struct dirent* e = benchfs_readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") CHECK_MESSAGE(seen.insert(name).second, "twice: " << name);
    }
    const int listing_errno = errno;
    CHECK_MESSAGE(listing_errno == 0, theirs << ": readdir ended with " << strerror(listing_errno));
    CHECK(benchfs_closedir(d) == 0);
    std::string missing;
    int lost = 0;
    for (int i = 0; i < kFiles; ++i) {
      std::string name = file_name(owner, i, long_names);
      if (seen.count(name)) continue;
      ++lost;
      missing += " " + name;
      // Is it there when asked by name?
      struct stat st;
      std::string p = theirs + "/" + name;
      missing += benchfs_stat(p.c_str(), &st) == 0 ? " (stat finds it)" : " (stat: " + std::string(strerror(errno)) + ")";
    }
    CHECK_MESSAGE(lost == 0, "round " << round << ": rank " << rank() << " listed " << seen.size()
                                      << " of " << kFiles << " entries of " << theirs
                                      << "; missing:" << missing);
    CHECK(seen.size() == static_cast<size_t>(kFiles) - lost);
    lost_total += lost;
    MPI_Barrier(MPI_COMM_WORLD);
  }
  CHECK(all(lost_total == 0));
  stop();
  remove_backing_dir(backing);
}

// --- Siblings of the lost entry: stat, rename and unlink -------------------
//
// Each rank, the owner, fills a directory of its own with files of known
// type, size, mode and bytes.  After a barrier its partner, on the other
// host where there is one, stats, reads and lists them.  Then the owner
// renames, replaces and unlinks most of them, and after another barrier the
// partner checks that every old name is gone (stat and open give ENOENT, the
// listing lacks it) and every new one is there, listed once, with the right
// size, mode and bytes.

// What the owner does to file i between the partner's two checks.
enum Fate {
  kRenamedHere,  // renamed within its directory
  kMovedAway,    // renamed into the owner's second directory
  kUnlinked,
  kRenamedOver,  // renamed onto file i + 1 (a kReplaced), replacing it
  kReplaced,     // then holds file i - 1 (its bytes, size and mode)
  kKept,         // untouched: the control
  kFates
};
constexpr int kBlocks = 4;  // of kFates files each, made in different ways (see spec)
constexpr int kSiblingFiles = kBlocks * kFates;
constexpr size_t kSiblingChunk = 64 << 10;  // BENCHFS_CHUNK_SIZE of these checks

Fate fate(int i) { return static_cast<Fate>(i % kFates); }

// How file i of an owner in a round is made.  Every file has bytes of its
// own (its seed), so bytes of a stale or wrong file are caught.
struct Spec {
  uint64_t seed;
  size_t written;      // pattern bytes written at offset 0
  off_t size;          // after truncation: shorter cuts the pattern, longer adds zeros
  bool ftruncate;      // truncated through the open descriptor (else by path after close)
  mode_t create_mode;  // given to open, masked with the umask
  mode_t chmod_mode;   // set by chmod after close, or 0
};

Spec spec(int round, int owner, int i) {
  constexpr mode_t kModes[] = {0644, 0640, 0600, 0604, 0660};
  const size_t block = static_cast<size_t>(i / kFates);
  Spec s{};
  s.seed = (static_cast<uint64_t>(round) << 32) + (static_cast<uint64_t>(owner) << 8) +
           static_cast<uint64_t>(i) + 1;
  s.create_mode = kModes[i % 5];
  // Blocks 1 and 3 span several chunks, so their bytes lie on several
  // servers (on both hosts); the others are a few KiB, like most files of
  // real data sets, kept with their metadata.
  const bool big = block % 2 == 1;
  s.written = big ? 3 * kSiblingChunk + 123 + 17 * static_cast<size_t>(i)
                  : 1024 + 331 * static_cast<size_t>(i);
  s.size = static_cast<off_t>(s.written);
  switch (block) {
    case 1:  // through the descriptor before close: a whole chunk dropped, one cut
      s.ftruncate = true;
      s.size = static_cast<off_t>(2 * kSiblingChunk + 50 + static_cast<size_t>(i));
      break;
    case 2:  // by path after close, and chmod: both are the path's server's
      s.size = static_cast<off_t>(s.written - 100 - static_cast<size_t>(i));
      s.chmod_mode = 0751;
      break;
    case 3:  // by path after close, longer: a hole into a chunk never written
      s.size = static_cast<off_t>(s.written + kSiblingChunk + static_cast<size_t>(i));
      break;
    default:
      break;
  }
  return s;
}

mode_t process_umask() {
  mode_t u = umask(0);
  umask(u);
  return u;
}

std::string sibling_dir(int round, int owner) {
  return "/sib" + std::to_string(round) + "." + std::to_string(owner);
}
std::string moved_dir(int round, int owner) { return sibling_dir(round, owner) + ".to"; }
std::string original_name(int i) { return "f." + std::to_string(i); }

// Where file i is after the owner's changes ("" if unlinked), and what it
// holds there (which file's Spec).
std::string final_path(int round, int owner, int i) {
  const std::string dir = sibling_dir(round, owner);
  switch (fate(i)) {
    case kRenamedHere: return dir + "/r." + std::to_string(i);
    case kMovedAway: return moved_dir(round, owner) + "/m." + std::to_string(i);
    case kUnlinked: return "";
    case kRenamedOver: return dir + "/" + original_name(i + 1);
    default: return dir + "/" + original_name(i);
  }
}

using Problems = std::vector<std::string>;

// Makes the owner's files and its two directories.
void make_files(int round, Problems& problems) {
  const std::string dir = sibling_dir(round, rank());
  auto fail = [&](const std::string& what) {
    problems.push_back(what + ": " + strerror(errno));
  };
  if (benchfs_mkdir(dir.c_str(), 0755) != 0) return fail("mkdir " + dir);
  if (benchfs_mkdir(moved_dir(round, rank()).c_str(), 0755) != 0)
    return fail("mkdir " + moved_dir(round, rank()));
  if (benchfs_mkdir((dir + "/sub").c_str(), 0750) != 0) return fail("mkdir " + dir + "/sub");
  std::vector<char> buf;
  for (int i = 0; i < kSiblingFiles; ++i) {
    const Spec s = spec(round, rank(), i);
    const std::string p = dir + "/" + original_name(i);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, s.create_mode);
    if (fd < 0) {
      fail("create " + p);
      continue;
    }
    buf.resize(s.written);
    fill_pattern(buf, s.seed, 0);
    if (benchfs_pwrite(fd, buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()))
      fail("pwrite " + p);
    if (s.ftruncate && benchfs_ftruncate(fd, s.size) != 0) fail("ftruncate " + p);
    if (benchfs_close(fd) != 0) fail("close " + p);
    if (!s.ftruncate && s.size != static_cast<off_t>(s.written) &&
        benchfs_truncate(p.c_str(), s.size) != 0)
      fail("truncate " + p);
    if (s.chmod_mode && benchfs_chmod(p.c_str(), s.chmod_mode) != 0) fail("chmod " + p);
  }
}

// The owner's changes: every fate but kReplaced and kKept is one call.
void change_files(int round, Problems& problems) {
  const std::string dir = sibling_dir(round, rank()), sub = dir + "/sub";
  for (int i = 0; i < kSiblingFiles; ++i) {
    const std::string from = dir + "/" + original_name(i), to = final_path(round, rank(), i);
    int rc = 0;
    std::string what;
    switch (fate(i)) {
      case kUnlinked:
        rc = benchfs_unlink(from.c_str());
        what = "unlink " + from;
        break;
      case kRenamedHere:
      case kMovedAway:
      case kRenamedOver:
        rc = benchfs_rename(from.c_str(), to.c_str());
        what = "rename " + from + " " + to;
        break;
      default:
        break;
    }
    if (rc != 0) problems.push_back(what + ": " + strerror(errno));
  }
  if (benchfs_rename(sub.c_str(), (sub + ".renamed").c_str()) != 0)
    problems.push_back("rename " + sub + ": " + strerror(errno));
}

// The owner removes what is left: an entry the partner did not see go, but
// which lingers at its server, shows up here as ENOTEMPTY.
void remove_files(int round, Problems& problems) {
  const std::string dir = sibling_dir(round, rank());
  auto gone = [&](int rc, const std::string& what) {
    if (rc != 0) problems.push_back(what + ": " + strerror(errno));
  };
  for (int i = 0; i < kSiblingFiles; ++i) {
    const std::string p = final_path(round, rank(), i);
    if (!p.empty() && fate(i) != kReplaced) gone(benchfs_unlink(p.c_str()), "unlink " + p);
  }
  gone(benchfs_rmdir((dir + "/sub.renamed").c_str()), "rmdir " + dir + "/sub.renamed");
  gone(benchfs_rmdir(moved_dir(round, rank()).c_str()), "rmdir " + moved_dir(round, rank()));
  gone(benchfs_rmdir(dir.c_str()), "rmdir " + dir);
}

// path must hold file s: a regular file of its size and mode, with its
// bytes (zeros past what was written).
void check_file(const std::string& path, const Spec& s, Problems& problems) {
  auto bad = [&](const std::string& what) { problems.push_back(path + ": " + what); };
  struct stat st {};
  if (benchfs_stat(path.c_str(), &st) != 0) return bad(std::string("stat: ") + strerror(errno));
  const mode_t mode = s.chmod_mode ? s.chmod_mode : s.create_mode & ~process_umask();
  if (!S_ISREG(st.st_mode)) bad("not a regular file");
  if (st.st_size != s.size)
    bad("size " + std::to_string(st.st_size) + ", not " + std::to_string(s.size));
  if ((st.st_mode & 07777) != mode) {
    std::ostringstream m;
    m << "mode " << std::oct << (st.st_mode & 07777) << ", not " << mode;
    bad(m.str());
  }
  int fd = benchfs_open(path.c_str(), O_RDONLY);
  if (fd < 0) return bad(std::string("open: ") + strerror(errno));
  // One byte more than the size: a read must stop at the end of the file.
  std::vector<char> buf(static_cast<size_t>(s.size) + 1);
  ssize_t n = benchfs_pread(fd, buf.data(), buf.size(), 0);
  if (n != s.size) {
    bad("read " + std::to_string(n) + " bytes, not " + std::to_string(s.size) +
        (n < 0 ? std::string(": ") + strerror(errno) : std::string()));
  } else {
    for (size_t j = 0; j < static_cast<size_t>(s.size); ++j) {
      unsigned char want = j < s.written ? pattern_byte(s.seed, j) : 0;
      if (static_cast<unsigned char>(buf[j]) != want) {
        bad("wrong byte at offset " + std::to_string(j));
        break;
      }
    }
  }
  if (benchfs_close(fd) != 0) bad(std::string("close: ") + strerror(errno));
}

// path must not exist: stat and open both say ENOENT.
void check_gone(const std::string& path, Problems& problems) {
  struct stat st {};
  errno = 0;
  if (benchfs_stat(path.c_str(), &st) == 0 || errno != ENOENT)
    problems.push_back(path + ": stat gives " + (errno ? strerror(errno) : "success") +
                       ", not ENOENT");
  errno = 0;
  int fd = benchfs_open(path.c_str(), O_RDONLY);
  if (fd >= 0 || errno != ENOENT) {
    problems.push_back(path + ": open gives " + (fd >= 0 ? "a descriptor" : strerror(errno)) +
                       ", not ENOENT");
    if (fd >= 0) benchfs_close(fd);
  }
}

// The listing of dir must be exactly `want` (name -> d_type), every name once.
void check_listing(const std::string& dir, const std::map<std::string, unsigned char>& want,
                   Problems& problems) {
  auto bad = [&](const std::string& what) { problems.push_back(dir + ": " + what); };
  benchfs_dir* d = benchfs_opendir(dir.c_str());
  if (!d) return bad(std::string("opendir: ") + strerror(errno));
  std::map<std::string, int> count;
  std::map<std::string, unsigned char> type;
  errno = 0;
  while (struct dirent* e = benchfs_readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    ++count[n];
    type[n] = e->d_type;
  }
  if (errno != 0) bad(std::string("readdir ended with ") + strerror(errno));
  if (benchfs_closedir(d) != 0) bad(std::string("closedir: ") + strerror(errno));
  for (const auto& [name, t] : want) {
    if (count[name] != 1) bad("lists " + name + " " + std::to_string(count[name]) + " times");
    else if (type[name] != t) bad("lists " + name + " with type " + std::to_string(type[name]));
  }
  for (const auto& [name, n] : count)
    if (n > 0 && !want.count(name)) bad("lists " + name + ", which should not be there");
}

// The partner's first check: the owner's files as made.
void check_made(int round, int owner, Problems& problems) {
  const std::string dir = sibling_dir(round, owner);
  std::map<std::string, unsigned char> want{{"sub", DT_DIR}};
  for (int i = 0; i < kSiblingFiles; ++i) {
    check_file(dir + "/" + original_name(i), spec(round, owner, i), problems);
    want[original_name(i)] = DT_REG;
  }
  struct stat st {};
  if (benchfs_stat((dir + "/sub").c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      (st.st_mode & 07777) != (0750 & ~process_umask()))
    problems.push_back(dir + "/sub: not the directory made");
  check_listing(dir, want, problems);
  check_listing(moved_dir(round, owner), {}, problems);
}

// The partner's second check: the owner's files after its changes.
void check_changed(int round, int owner, Problems& problems) {
  const std::string dir = sibling_dir(round, owner), to = moved_dir(round, owner);
  std::map<std::string, unsigned char> here{{"sub.renamed", DT_DIR}}, there;
  for (int i = 0; i < kSiblingFiles; ++i) {
    const std::string p = final_path(round, owner, i);
    // A kReplaced file is checked as the file renamed onto it.
    if (fate(i) == kReplaced) continue;
    if (fate(i) != kKept) check_gone(dir + "/" + original_name(i), problems);
    if (p.empty()) continue;
    check_file(p, spec(round, owner, i), problems);
    const std::string name = p.substr(p.rfind('/') + 1);
    (fate(i) == kMovedAway ? there : here)[name] = DT_REG;
  }
  check_gone(dir + "/sub", problems);
  struct stat st {};
  if (benchfs_stat((dir + "/sub.renamed").c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    problems.push_back(dir + "/sub.renamed: not a directory");
  check_listing(dir, here, problems);
  check_listing(to, there, problems);
}

// Details of the first few failing rounds only: a broken rename fails
// every round, and 100 copies of the same list help nobody.
constexpr int kReportedRounds = 3;

void check_siblings() {
  const int hosts = nhosts();
  const int owner = checked_rank();  // whose files this rank checks
  const int n = sibling_rounds();  // before start, as in check_listings
  if (rank() == 0)
    MESSAGE(size() << " rank(s) on " << hosts << " host(s), " << n << " round(s); rank 0 checks rank "
                   << owner << "'s files");
  const std::string backing = backing_dir();
  start("uring", "64k", backing);
  int bad_rounds = 0;
  for (int round = 0; round < n; ++round) {
    Problems own, seen;
    make_files(round, own);
    MPI_Barrier(MPI_COMM_WORLD);
    check_made(round, owner, seen);
    MPI_Barrier(MPI_COMM_WORLD);
    change_files(round, own);
    MPI_Barrier(MPI_COMM_WORLD);
    check_changed(round, owner, seen);
    MPI_Barrier(MPI_COMM_WORLD);
    remove_files(round, own);
    if (own.empty() && seen.empty()) continue;
    if (++bad_rounds > kReportedRounds) continue;
    std::ostringstream m;
    m << "round " << round << ", rank " << rank() << ":";
    for (const auto& p : own) m << "\n  own files: " << p;
    for (const auto& p : seen) m << "\n  rank " << owner << "'s files: " << p;
    FAIL_CHECK(m.str());
  }
  CHECK_MESSAGE(bad_rounds == 0, "rank " << rank() << ": problems in " << bad_rounds << " of "
                                         << n << " rounds (details of the first "
                                         << kReportedRounds << " above)");
  CHECK(all(bad_rounds == 0));
  stop();
  remove_backing_dir(backing);
}

}  // namespace

TEST_CASE("files created before a barrier are all listed after it, on every host") {
  check_listings(false);
}

TEST_CASE("the same with pages above the eager threshold (rendezvous)") {
  check_listings(true);
}

TEST_CASE("stat, rename and unlink done before a barrier are seen after it, on every host") {
  check_siblings();
}
