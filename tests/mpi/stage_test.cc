// Stage-in and stage-out (issue 23): a tree of 1,000 small files in nested
// directories, two 64 MiB files, odd sizes, empty files and directories,
// a symbolic link and a FIFO goes into BenchFS and out again and must come
// back byte for byte with its modes and modification times; every error a
// stage can meet (an unreadable source file, a file changing while it is
// copied, a full destination, a destination that vanishes, bad arguments)
// is reported, and loses nothing; BENCHFS_STAGE_IN / BENCHFS_STAGE_OUT /
// BENCHFS_STAGE_ERRORS run inside benchfs_init and benchfs_finalize.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <thread>

#include "mpi_test.h"

using namespace benchfs_test;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1 << 20;

// A directory outside BenchFS for one case's trees, removed at its end.
class Workspace {
 public:
  Workspace() {
    const char* tmp = getenv("TMPDIR");
    dir_ = make_shared_dir(tmp && *tmp ? tmp : "/tmp", "benchfs-stage-test-");
    REQUIRE(!dir_.empty());
  }
  ~Workspace() {
    MPI_Barrier(MPI_COMM_WORLD);
    std::error_code ec;
    if (rank() == 0) fs::remove_all(dir_, ec);
  }
  std::string operator/(const char* name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

void set_mtime(const std::string& path, time_t sec, long nsec) {
  const timespec times[2] = {{0, UTIME_OMIT}, {sec, nsec}};
  REQUIRE(utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

// A file of len pattern bytes of seed, with mode and a modification time
// of its own (nanoseconds included).
void make_file(const std::string& path, uint64_t seed, uint64_t len, mode_t mode) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  std::vector<char> buf;
  for (uint64_t done = 0; done < len; done += buf.size()) {
    buf.resize(std::min<uint64_t>(8 * kMiB, len - done));
    fill_pattern(buf, seed, done);
    REQUIRE(::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(done)) ==
            static_cast<ssize_t>(buf.size()));
  }
  REQUIRE(::close(fd) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  set_mtime(path, 1500000000 + static_cast<time_t>(seed), static_cast<long>(seed * 7919 % 1000000000));
}

// Rank 0 makes the source tree at root: `small` files of odd sizes (every
// tenth empty, modes varied) over 65 nested directories and the root, two
// empty directories, `large` files of about 64 MiB, a read-only directory,
// a symbolic link and a FIFO (which stages skip).  Collective.
void make_tree(const std::string& root, size_t small, size_t large, uint64_t large_bytes) {
  if (rank() == 0) {
    std::vector<std::string> dirs = {root};
    for (int i = 0; i < 5; ++i) {
      std::string a = root + "/a" + std::to_string(i);
      dirs.push_back(a);
      for (int j = 0; j < 4; ++j) {
        std::string b = a + "/b" + std::to_string(j);
        dirs.push_back(b);
        for (int k = 0; k < 2; ++k) dirs.push_back(b + "/c" + std::to_string(k));
      }
    }
    dirs.push_back(root + "/empty");
    dirs.push_back(root + "/a1/b2/empty");
    dirs.push_back(root + "/big");
    for (size_t d = 1; d < dirs.size(); ++d) REQUIRE(::mkdir(dirs[d].c_str(), 0755) == 0);
    // 0666: the umask (022) would clear bits of it on create.
    static const mode_t modes[] = {0644, 0600, 0755, 0444, 0640, 0666};
    for (size_t n = 0; n < small; ++n) {
      uint64_t len = n % 10 == 0 ? 0 : (n * 7919) % 40009;
      std::string dir = dirs[n % (dirs.size() - 3)];
      make_file(dir + "/f" + std::to_string(n) + ".dat", n + 1, len, modes[n % 6]);
    }
    for (size_t n = 0; n < large; ++n)
      make_file(root + "/big/large" + std::to_string(n), 100000 + n, large_bytes + n * 4097, 0640);
    REQUIRE(::symlink("../a1", (root + "/a0/link").c_str()) == 0);
    REQUIRE(::mkfifo((root + "/a0/fifo").c_str(), 0644) == 0);
    REQUIRE(::chmod((root + "/a2").c_str(), 0555) == 0);
    REQUIRE(::chmod((root + "/a3/b1").c_str(), 0750) == 0);
    for (size_t d = dirs.size(); d-- > 1;) set_mtime(dirs[d], 1400000000 + static_cast<time_t>(d), 123456789);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// Regular files and directories below root (relative path -> lstat).
std::map<std::string, struct stat> entries_below(const std::string& root, bool all_kinds = false) {
  std::map<std::string, struct stat> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    REQUIRE(::lstat(it->path().c_str(), &st) == 0);
    if (all_kinds || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
      entries[it->path().string().substr(root.size() + 1)] = st;
  }
  return entries;
}

bool same_bytes(const std::string& a, const std::string& b) {
  int fa = ::open(a.c_str(), O_RDONLY), fb = ::open(b.c_str(), O_RDONLY);
  bool same = fa >= 0 && fb >= 0;
  std::vector<char> ba(kMiB), bb(kMiB);
  for (off_t off = 0; same;) {
    ssize_t na = ::pread(fa, ba.data(), ba.size(), off), nb = ::pread(fb, bb.data(), bb.size(), off);
    same = na == nb && na >= 0 && std::memcmp(ba.data(), bb.data(), static_cast<size_t>(na)) == 0;
    if (na <= 0) break;
    off += na;
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// How the copy differs from the source: missing, extra or different
// entries (kind, permission bits, size, mtime, bytes).  Symbolic links and
// special files of the source must not be in the copy.
std::vector<std::string> differences(const std::string& source, const std::string& copy) {
  std::vector<std::string> diffs;
  auto src = entries_below(source);
  auto dst = entries_below(copy, true);
  for (const auto& [path, s] : src) {
    auto it = dst.find(path);
    if (it == dst.end()) {
      diffs.push_back(path + ": missing");
      continue;
    }
    const struct stat& d = it->second;
    if ((s.st_mode & S_IFMT) != (d.st_mode & S_IFMT)) diffs.push_back(path + ": kind");
    if ((s.st_mode & 07777) != (d.st_mode & 07777)) diffs.push_back(path + ": mode");
    if (!same_time(s.st_mtim, d.st_mtim)) diffs.push_back(path + ": mtime");
    if (S_ISREG(s.st_mode) && s.st_size != d.st_size) diffs.push_back(path + ": size");
    else if (S_ISREG(s.st_mode) && !same_bytes(source + "/" + path, copy + "/" + path))
      diffs.push_back(path + ": bytes");
  }
  for (const auto& [path, d] : dst)
    if (!src.count(path)) diffs.push_back(path + ": not in the source");
  return diffs;
}

// The same for the BenchFS side: every source entry with its kind, mode,
// size and mtime (the bytes are checked on the way out).
std::vector<std::string> benchfs_differences(const std::string& source, const std::string& copy) {
  std::vector<std::string> diffs;
  for (const auto& [path, s] : entries_below(source)) {
    struct stat d;
    if (benchfs_stat((copy + "/" + path).c_str(), &d) != 0) {
      diffs.push_back(path + ": missing in BenchFS");
      continue;
    }
    if ((s.st_mode & S_IFMT) != (d.st_mode & S_IFMT)) diffs.push_back(path + ": kind");
    if ((s.st_mode & 07777) != (d.st_mode & 07777)) diffs.push_back(path + ": mode");
    if (!same_time(s.st_mtim, d.st_mtim)) diffs.push_back(path + ": mtime");
    if (S_ISREG(s.st_mode) && s.st_size != d.st_size) diffs.push_back(path + ": size");
  }
  struct stat st;
  if (benchfs_stat((copy + "/a0/link").c_str(), &st) == 0) diffs.push_back("a0/link: copied");
  if (benchfs_stat((copy + "/a0/fifo").c_str(), &st) == 0) diffs.push_back("a0/fifo: copied");
  return diffs;
}

// Rank 0 checks; every rank learns the outcome.
void check_no_differences(const std::function<std::vector<std::string>()>& diff) {
  size_t count = 0;
  if (rank() == 0) {
    auto diffs = diff();
    count = diffs.size();
    for (size_t i = 0; i < diffs.size() && i < 10; ++i) MESSAGE(diffs[i]);
  }
  unsigned long long n = count;
  MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
  CHECK(n == 0);
}

// Names below root written under a stage's temporary names.
size_t temporaries_below(const std::string& root) {
  size_t n = 0;
  for (const auto& [path, st] : entries_below(root, true))
    if (path.find(".benchfs-stage-") != std::string::npos) ++n;
  return n;
}

// Makes a file unreadable for this process: as root (whom no mode stops)
// by bind-mounting over it a write-only sysfs attribute, which no one may
// open for reading (EACCES); as another user with mode 0.  Rank 0 only.
void make_unreadable(const std::string& path) {
  if (geteuid() == 0)
    REQUIRE(::mount("/sys/bus/pci/rescan", path.c_str(), nullptr, MS_BIND, nullptr) == 0);
  else
    REQUIRE(::chmod(path.c_str(), 0) == 0);
  errno = 0;
  REQUIRE(::open(path.c_str(), O_RDONLY) < 0);
  REQUIRE(errno == EACCES);
}

void undo_unreadable(const std::string& path) {
  if (geteuid() == 0) ::umount2(path.c_str(), MNT_DETACH);
}

// A full file system of `bytes` at path (rank 0 mounts a tmpfs); false
// where mounting is not permitted.  Collective.
bool mount_small_tmpfs(const std::string& path, uint64_t bytes) {
  int ok = 1;
  if (rank() == 0) {
    std::string opts = "size=" + std::to_string(bytes);
    ok = ::mkdir(path.c_str(), 0755) == 0 &&
         ::mount("tmpfs", path.c_str(), "tmpfs", 0, opts.c_str()) == 0;
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return ok == 1;
}

// Calls fn on rank 0's thread `again` while the stage runs on every rank.
template <typename Stage>
int while_rank0_repeats(const std::function<void()>& again, Stage stage, int* err) {
  std::atomic<bool> done{false};
  std::thread meddler;
  if (rank() == 0)
    meddler = std::thread([&] {
      while (!done.load()) {
        again();
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  MPI_Barrier(MPI_COMM_WORLD);
  errno = 0;
  int rc = stage();
  *err = errno;
  done = true;
  if (meddler.joinable()) meddler.join();
  return rc;
}

// Writes `files` small files and one of `large` bytes under dir in BenchFS
// (rank 0), for the stage-out error cases.
void make_benchfs_tree(const std::string& dir, size_t files, uint64_t large) {
  if (rank() == 0) {
    REQUIRE(benchfs_mkdir(dir.c_str(), 0755) == 0);
    for (size_t n = 0; n < files; ++n)
      REQUIRE(write_file(dir + "/s" + std::to_string(n), n, 1000 + n * 37));
    REQUIRE(write_file(dir + "/large", 999, large));
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

// Every file of make_benchfs_tree is intact in BenchFS (a failed stage-out
// removes nothing).
void check_benchfs_tree(const std::string& dir, size_t files, uint64_t large) {
  if (rank() != 0) return;
  auto check = [](const std::string& path, uint64_t seed, uint64_t len) {
    CAPTURE(path);
    REQUIRE(size_of(path.c_str()) == static_cast<off_t>(len));
    int fd = benchfs_open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    check_pattern(fd, seed, 0, len, kMiB);
    REQUIRE(benchfs_close(fd) == 0);
  };
  for (size_t n = 0; n < files; ++n) check(dir + "/s" + std::to_string(n), n, 1000 + n * 37);
  check(dir + "/large", 999, large);
}

// Every file under a final name in an outside copy of make_benchfs_tree is
// complete, and no temporary is left.
void check_outside_copy_is_whole(const std::string& out, uint64_t large, size_t* complete) {
  *complete = 0;
  if (rank() != 0) return;
  for (const auto& [path, st] : entries_below(out, true)) {
    CAPTURE(path);
    CHECK(path.find(".benchfs-stage-") == std::string::npos);
    if (!S_ISREG(st.st_mode)) continue;
    uint64_t seed = path == "large" ? 999 : std::stoull(path.substr(1));
    uint64_t len = path == "large" ? large : 1000 + seed * 37;
    REQUIRE(static_cast<uint64_t>(st.st_size) == len);
    int fd = ::open((out + "/" + path).c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::vector<char> buf(len);
    REQUIRE(::pread(fd, buf.data(), len, 0) == static_cast<ssize_t>(len));
    CHECK(first_mismatch(buf, seed, 0, len) == -1);
    ::close(fd);
    ++*complete;
  }
}

}  // namespace

TEST_CASE("stage-in then stage-out keeps a tree of 1,000 files and two of 64 MiB") {
  Workspace ws;
  const std::string src = ws / "src", out = ws / "out";
  if (rank() == 0) REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  make_tree(src, 1000, 2, 64 * kMiB);
  start("uring");
  REQUIRE(all(benchfs_stage_in(src.c_str(), "/data/in") == 0));
  check_no_differences([&] { return benchfs_differences(src, "/data/in"); });
  REQUIRE(all(benchfs_stage_out("/data/in", out.c_str()) == 0));
  check_no_differences([&] { return differences(src, out); });
  CHECK(temporaries_below(out) == 0);
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("staging again over an earlier copy replaces its files, modes and times") {
  Workspace ws;
  const std::string src = ws / "src", out = ws / "out";
  if (rank() == 0) REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  make_tree(src, 60, 1, 2 * kMiB);
  start("memory");
  REQUIRE(all(benchfs_stage_in(src.c_str(), "/again") == 0));
  REQUIRE(all(benchfs_stage_out("/again", out.c_str()) == 0));
  if (rank() == 0) {  // new bytes, modes and times for some files
    make_file(src + "/f0.dat", 4242, 777, 0600);
    make_file(src + "/a0/f1.dat", 4343, 0, 0755);
    make_file(src + "/big/large0", 4444, 3 * kMiB + 1, 0604);
    REQUIRE(::chmod((src + "/a0/b0/f2.dat").c_str(), 0700) == 0);
    set_mtime(src + "/a0/b0/f2.dat", 1700000000, 5);
    set_mtime(src + "/a0/b0", 1400000002, 123456789);  // as make_tree left it
    set_mtime(src + "/a0", 1400000001, 123456789);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(all(benchfs_stage_in(src.c_str(), "/again") == 0));
  check_no_differences([&] { return benchfs_differences(src, "/again"); });
  REQUIRE(all(benchfs_stage_out("/again", out.c_str()) == 0));
  check_no_differences([&] { return differences(src, out); });
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("BENCHFS_STAGE_IN and BENCHFS_STAGE_OUT run inside init and finalize") {
  Workspace ws;
  const std::string src = ws / "src", out = ws / "out/results";
  if (rank() == 0) REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  make_tree(src, 100, 1, 3 * kMiB);
  setenv("BENCHFS_STAGE_IN", (src + ":/job/input").c_str(), 1);
  setenv("BENCHFS_STAGE_OUT", ("/job/input:" + out).c_str(), 1);
  start("memory");
  check_no_differences([&] { return benchfs_differences(src, "/job/input"); });
  // A file the program leaves open: finalize closes it (publishing its
  // size) before it stages out.
  const std::string left_open = "/job/input/left-open" + std::to_string(rank());
  int fd = benchfs_open(left_open.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  write_pattern(fd, 55 + rank(), 0, 5000, 5000);
  REQUIRE(benchfs_finalize() == 0);
  unsetenv("BENCHFS_STAGE_IN");
  unsetenv("BENCHFS_STAGE_OUT");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    for (int r = 0; r < size(); ++r) {
      const std::string copy = out + "/left-open" + std::to_string(r);
      struct stat st;
      REQUIRE(::stat(copy.c_str(), &st) == 0);
      CHECK(st.st_size == 5000);
      REQUIRE(::unlink(copy.c_str()) == 0);
    }
  }
  check_no_differences([&] { return differences(src, out); });
}

TEST_CASE("stage arguments: missing, not a directory, relative, NULL, not running") {
  Workspace ws;
  const std::string file = ws / "file";
  if (rank() == 0) make_file(file, 1, 10, 0644);
  MPI_Barrier(MPI_COMM_WORLD);
  errno = 0;
  CHECK(benchfs_stage_in("/", "/x") == -1);
  CHECK(errno == ENODEV);
  start("memory");
  auto fails_with = [](int rc, int err) { return all(rc == -1 && errno == err); };
  CHECK(fails_with(benchfs_stage_in((ws / "nothing").c_str(), "/x"), ENOENT));
  CHECK(fails_with(benchfs_stage_in(file.c_str(), "/x"), ENOTDIR));
  CHECK(fails_with(benchfs_stage_in("relative", "/x"), EINVAL));
  CHECK(fails_with(benchfs_stage_in((ws / "").c_str(), "relative"), EINVAL));
  CHECK(fails_with(benchfs_stage_in(nullptr, "/x"), EFAULT));
  CHECK(fails_with(benchfs_stage_out("/missing", (ws / "o").c_str()), ENOENT));
  CHECK(fails_with(benchfs_stage_out("/", nullptr), EFAULT));
  // A target path through a file.
  if (rank() == 0) REQUIRE(write_file("/afile", 1, 10));
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(fails_with(benchfs_stage_in((ws / "").c_str(), "/afile/below"), ENOTDIR));
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("an unreadable source file is reported, everything else is copied") {
  Workspace ws;
  const std::string src = ws / "src";
  if (rank() == 0) REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  make_tree(src, 200, 0, 0);
  const std::string bad = src + "/a0/f1.dat";
  if (rank() == 0) make_unreadable(bad);
  MPI_Barrier(MPI_COMM_WORLD);
  start("memory");
  errno = 0;
  CHECK(all(benchfs_stage_in(src.c_str(), "/in") == -1 && errno == EACCES));
  struct stat st;
  CHECK(benchfs_stat("/in/a0/f1.dat", &st) == -1);  // not half there
  if (rank() == 0) undo_unreadable(bad);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {  // the rest must be as in the source
    struct stat dir;
    REQUIRE(::stat((src + "/a0").c_str(), &dir) == 0);
    REQUIRE(::unlink(bad.c_str()) == 0);
    set_mtime(src + "/a0", dir.st_mtim.tv_sec, dir.st_mtim.tv_nsec);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  check_no_differences([&] { return benchfs_differences(src, "/in"); });
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("BENCHFS_STAGE_ERRORS: fail stops init, warn goes on") {
  Workspace ws;
  const std::string src = ws / "src";
  if (rank() == 0) REQUIRE(::mkdir(src.c_str(), 0755) == 0);
  make_tree(src, 50, 0, 0);
  const std::string bad = src + "/a0/f1.dat";
  if (rank() == 0) make_unreadable(bad);
  MPI_Barrier(MPI_COMM_WORLD);
  setenv("BENCHFS_STAGE_IN", (src + ":/in").c_str(), 1);
  setenv("BENCHFS_BACKEND", "memory", 1);
  errno = 0;
  CHECK(all(benchfs_init(MPI_COMM_WORLD) == -1 && errno == EACCES));
  CHECK(benchfs_initialized() == 0);
  setenv("BENCHFS_STAGE_ERRORS", "warn", 1);
  REQUIRE(all(benchfs_init(MPI_COMM_WORLD) == 0));
  struct stat st;
  CHECK(benchfs_stat("/in/a0/f1.dat", &st) == -1);
  CHECK(benchfs_stat("/in/a0/b1/c1/f7.dat", &st) == 0);
  REQUIRE(benchfs_finalize() == 0);
  unsetenv("BENCHFS_STAGE_IN");
  unsetenv("BENCHFS_STAGE_ERRORS");
  if (rank() == 0) undo_unreadable(bad);
}

TEST_CASE("a source file that changes while it is copied is reported (EBUSY), not copied") {
  Workspace ws;
  const std::string src = ws / "src";
  if (rank() == 0) {
    REQUIRE(::mkdir(src.c_str(), 0755) == 0);
    for (int n = 0; n < 20; ++n) make_file(src + "/s" + std::to_string(n), n, 5000, 0644);
    make_file(src + "/growing", 77, 16 * kMiB, 0644);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  start("memory");
  int fd = rank() == 0 ? ::open((src + "/growing").c_str(), O_WRONLY | O_APPEND) : -1;
  int err = 0;
  int rc = while_rank0_repeats([&] { (void)!::write(fd, "x", 1); },
                               [&] { return benchfs_stage_in(src.c_str(), "/in"); }, &err);
  if (fd >= 0) ::close(fd);
  CHECK(all(rc == -1 && err == EBUSY));
  struct stat st;
  CHECK(benchfs_stat("/in/growing", &st) == -1);
  for (int n = 0; n < 20; ++n) CHECK(benchfs_stat(("/in/s" + std::to_string(n)).c_str(), &st) == 0);
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("a full destination fails the stage-out with ENOSPC and loses nothing") {
  Workspace ws;
  const std::string out = ws / "full";
  start("memory");
  make_benchfs_tree("/t", 40, 8 * kMiB);
  if (!mount_small_tmpfs(out, 4 * kMiB)) {
    MESSAGE("cannot mount a tmpfs (not root?): case skipped");
    REQUIRE(benchfs_finalize() == 0);
    return;
  }
  errno = 0;
  CHECK(all(benchfs_stage_out("/t", out.c_str()) == -1 && errno == ENOSPC));
  size_t complete = 0;
  check_outside_copy_is_whole(out, 8 * kMiB, &complete);
  if (rank() == 0) CHECK(complete > 0);  // the small files that fit are there
  check_benchfs_tree("/t", 40, 8 * kMiB);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) ::umount2(out.c_str(), MNT_DETACH);
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("a destination that vanishes fails the stage-out and loses nothing") {
  Workspace ws;
  const std::string out = ws / "vanishing";
  start("memory");
  make_benchfs_tree("/t", 1000, 32 * kMiB);
  int err = 0;
  int rc = while_rank0_repeats(
      [&] {
        std::error_code ec;
        fs::remove_all(out, ec);
      },
      [&] { return benchfs_stage_out("/t", out.c_str()); }, &err);
  CHECK(all(rc == -1 && err == ENOENT));
  check_benchfs_tree("/t", 1000, 32 * kMiB);
  size_t complete = 0;
  check_outside_copy_is_whole(out, 32 * kMiB, &complete);
  REQUIRE(benchfs_finalize() == 0);
}

TEST_CASE("a failed BENCHFS_STAGE_OUT keeps BenchFS running until it succeeds") {
  Workspace ws;
  const std::string out = ws / "results";
  if (!mount_small_tmpfs(out, 2 * kMiB)) {
    MESSAGE("cannot mount a tmpfs (not root?): case skipped");
    return;
  }
  setenv("BENCHFS_STAGE_OUT", ("/t:" + out).c_str(), 1);
  start("memory");
  make_benchfs_tree("/t", 10, 4 * kMiB);
  errno = 0;
  CHECK(all(benchfs_finalize() == -1 && errno == ENOSPC));
  CHECK(benchfs_initialized() == 1);
  check_benchfs_tree("/t", 10, 4 * kMiB);
  // Room again (the tmpfs goes; its mount point stays): finalize succeeds.
  if (rank() == 0) REQUIRE(::umount2(out.c_str(), MNT_DETACH) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(all(benchfs_finalize() == 0));
  unsetenv("BENCHFS_STAGE_OUT");
  size_t complete = 0;
  check_outside_copy_is_whole(out, 4 * kMiB, &complete);
  if (rank() == 0) CHECK(complete == 11);
}
