// One thread of the stress test (stress_test.cc runs kThreads of them on
// every rank): a seeded random mix of create, write, read-verify, truncate,
// rename, unlink, mkdir/rmdir, readdir and stat.  On what the thread owns
// (its private tree /p<rank>_<thread>, its files and directories in the
// shared /s0 .. /s3) every result must be exact, and what was acknowledged
// goes into its log; on the few names in /race, which every thread makes,
// removes and creates in, only the errnos POSIX allows are accepted; other
// threads' files in the shared directories are checked only for what any
// acknowledged state allows.
//
// The thread's own operations are a function of the seed; choices among
// what other threads left use a second generator, so their
// nondeterministic results do not change them.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "stress_helpers.h"

using namespace benchfs_test;
using namespace benchfs_test::stress;

namespace {

// The chunk size stress_test.cc starts BenchFS with ("64k"): small, so files
// span several servers.
constexpr uint64_t kChunk = 64 << 10;
constexpr uint64_t kMaxSize = 3 * kChunk + 5000;  // no file grows beyond this
constexpr uint64_t kMaxWrite = kChunk + 3000;
constexpr size_t kMaxFilesPerThread = 12;
constexpr size_t kMaxDirsPerThread = 6;

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The content seed of a file, from its name "f<rank>_<thread>_<serial>.<gen>".
// False if the name is not one of ours.
bool seed_of_name(const std::string& name, uint64_t* seed) {
  unsigned r, t, serial, gen;
  char tail;
  if (std::sscanf(name.c_str(), "f%u_%u_%u.%u%c", &r, &t, &serial, &gen, &tail) != 4) return false;
  *seed = mix((uint64_t{r} << 40) | (uint64_t{t} << 32) | serial);
  return true;
}

bool is_dir_name(const std::string& name) {
  unsigned r, t, serial;
  char tail;
  return std::sscanf(name.c_str(), "d%u_%u_%u%c", &r, &t, &serial, &tail) == 3;
}

// The errno-checking helpers record what went wrong and go on.
class Worker {
 public:
  Worker(int rank, int thread, uint64_t seed, Counters& counters)
      : rank_(rank), thread_(thread), rng_(mix(seed ^ (uint64_t(rank) << 32) ^ thread)),
        observer_rng_(mix(~seed ^ (uint64_t(rank) << 32) ^ thread)), counters_(counters) {
    root_ = "/p" + std::to_string(rank) + "_" + std::to_string(thread);
  }

  void run(std::chrono::steady_clock::time_point deadline) {
    if (benchfs_mkdir(root_.c_str(), 0755) != 0) return fail("mkdir " + root_, errno);
    log_.dirs.insert(root_);
    log_.used.insert(root_);
    while (std::chrono::steady_clock::now() < deadline && errors_.size() < kMaxErrors) {
      step();
      counters_.ops.fetch_add(1, std::memory_order_relaxed);
    }
  }

  const Log& log() const { return log_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  uint64_t range(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

  void fail(const std::string& what, int err = 0) {
    if (errors_.size() >= kMaxErrors) return;
    std::string msg = "rank " + std::to_string(rank_) + " thread " + std::to_string(thread_) +
                      ": " + what;
    if (err) msg += std::string(": ") + std::strerror(err);
    errors_.push_back(msg);
  }
  // Checks that a call returned 0 or -1 with one of the allowed errnos.
  bool expect(int rc, std::initializer_list<int> allowed, const std::string& what) {
    if (rc == 0) return true;
    int e = errno;
    if (std::find(allowed.begin(), allowed.end(), e) == allowed.end()) fail(what, e);
    return false;
  }

  template <typename Map>
  auto random_of(Map& m) {
    auto it = m.begin();
    std::advance(it, static_cast<long>(pick(m.size())));
    return it;
  }

  // A directory a new file or subdirectory may go to: one the thread owns
  // or a shared one.
  std::string any_dir() {
    if (pick(2) == 0) return shared_dir(static_cast<int>(pick(kSharedDirs)));
    return *random_of(log_.dirs);
  }
  bool in_private(const std::string& path) const {
    return path.compare(0, root_.size() + 1, root_ + "/") == 0;
  }
  std::string new_file_name(uint64_t serial, unsigned gen) {
    return "f" + std::to_string(rank_) + "_" + std::to_string(thread_) + "_" +
           std::to_string(serial) + "." + std::to_string(gen);
  }
  static std::string join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
  }
  size_t children_of(const std::string& dir) const {
    size_t n = 0;
    for (auto& [p, f] : log_.files) n += parent_of(p) == dir;
    for (auto& d : log_.dirs) n += d != root_ && parent_of(d) == dir;
    return n;
  }

  void step() {
    uint64_t dice = pick(100);
    if (dice < 10) return op_create();
    if (dice < 28) return op_write();
    if (dice < 40) return op_verify();
    if (dice < 46) return op_truncate();
    if (dice < 54) return op_rename();
    if (dice < 59) return op_unlink();
    if (dice < 63) return op_mkdir();
    if (dice < 67) return op_rmdir();
    if (dice < 70) return op_rename_dir();
    if (dice < 75) return op_list_own();
    if (dice < 82) return op_race();
    return op_observe();
  }

  // --- Operations on what this thread owns: results must be exact. --------

  // Writes [off, off + len) of the file's pattern through fd.
  void write_range(int fd, FileModel& f, const std::string& path, uint64_t off, uint64_t len) {
    std::vector<char> buf(len);
    fill_pattern(buf, f.seed, off);
    ssize_t n = benchfs_pwrite(fd, buf.data(), len, static_cast<off_t>(off));
    if (n != static_cast<ssize_t>(len))
      return fail("pwrite " + path + " at " + std::to_string(off), n < 0 ? errno : 0);
    f.write(off, len);
  }
  uint64_t random_len() { return range(1, kMaxWrite); }
  uint64_t random_offset(uint64_t len) { return range(0, kMaxSize - len); }

  void op_create() {
    if (log_.files.size() >= kMaxFilesPerThread) return op_unlink();
    uint64_t serial = next_serial_++;
    std::string path = join(any_dir(), new_file_name(serial, 0));
    int fd = benchfs_open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) return fail("create " + path, errno);
    FileModel f;
    f.serial = serial;
    seed_of_name(base_of(path), &f.seed);
    if (pick(2)) {
      uint64_t len = random_len();
      write_range(fd, f, path, pick(4) == 0 ? random_offset(len) : 0, len);
    }
    if (benchfs_close(fd) != 0) fail("close " + path, errno);
    log_.files[path] = f;
    log_.used.insert(path);
  }

  void op_write() {
    if (log_.files.empty()) return op_create();
    auto it = random_of(log_.files);
    const std::string& path = it->first;
    FileModel& f = it->second;
    bool trunc = pick(8) == 0;
    int fd = benchfs_open(path.c_str(), O_WRONLY | (trunc ? O_TRUNC : 0));
    if (fd < 0) return fail("open for writing " + path, errno);
    if (trunc) f.truncate(0);
    for (uint64_t i = 0, n = range(1, 3); i < n; ++i) {
      uint64_t len = random_len();
      write_range(fd, f, path, random_offset(len), len);
    }
    if (pick(6) == 0) {
      uint64_t len = range(0, kMaxSize);
      if (benchfs_ftruncate(fd, static_cast<off_t>(len)) != 0)
        fail("ftruncate " + path, errno);
      else
        f.truncate(len);
    }
    if (benchfs_close(fd) != 0) fail("close " + path, errno);
  }

  // Size (stat and fstat) and every byte must be exactly what the log says.
  void op_verify() {
    if (log_.files.empty()) return op_create();
    auto it = random_of(log_.files);
    verify_file(it->first, it->second, errors_, rank_, thread_);
  }


  void op_truncate() {
    if (log_.files.empty()) return op_create();
    auto it = random_of(log_.files);
    uint64_t len = range(0, kMaxSize);
    if (benchfs_truncate(it->first.c_str(), static_cast<off_t>(len)) != 0)
      return fail("truncate " + it->first, errno);
    it->second.truncate(len);
  }

  void op_rename() {
    if (log_.files.empty()) return op_create();
    auto it = random_of(log_.files);
    std::string from = it->first;
    FileModel f = it->second;
    std::string to;
    // In the private tree a rename may replace another own file (only the
    // owner ever reads there, so the name need not tell the content; a later
    // rename gives the file a name of its own lineage again).
    bool replace = false;
    if (pick(3) == 0) {
      auto other = random_of(log_.files);
      if (other->first != from && in_private(other->first)) {
        to = other->first;
        replace = true;
      }
    }
    if (!replace) {
      f.gen += 1;
      to = join(any_dir(), new_file_name(f.serial, f.gen));
      if (log_.used.count(to)) return fail("name " + to + " reused by the workload itself");
    }
    if (benchfs_rename(from.c_str(), to.c_str()) != 0) return fail("rename " + from + " -> " + to, errno);
    log_.files.erase(from);
    log_.files[to] = f;
    log_.used.insert(to);
    // The old name must be gone, the new one must be the file.
    struct stat st;
    if (benchfs_stat(from.c_str(), &st) == 0 || errno != ENOENT)
      fail("after rename, stat " + from + " is not ENOENT");
  }

  void op_unlink() {
    if (log_.files.empty() || pick(10) == 0) {
      // A name the log says is gone: ENOENT.
      if (log_.used.empty()) return;
      std::string p = *random_of(log_.used);
      if (log_.files.count(p) || log_.dirs.count(p)) return;
      if (benchfs_unlink(p.c_str()) == 0 || errno != ENOENT)
        fail("unlink of gone " + p + " is not ENOENT", errno);
      return;
    }
    auto it = random_of(log_.files);
    if (benchfs_unlink(it->first.c_str()) != 0) return fail("unlink " + it->first, errno);
    log_.files.erase(it);
  }

  void op_mkdir() {
    if (log_.dirs.size() > kMaxDirsPerThread || pick(8) == 0) {
      // An existing own directory: EEXIST.
      std::string d = *random_of(log_.dirs);
      if (benchfs_mkdir(d.c_str(), 0755) == 0 || errno != EEXIST)
        fail("mkdir of existing " + d + " is not EEXIST", errno);
      return;
    }
    // Subdirectories go below the private root or into a shared directory.
    std::string parent = pick(2) ? root_ : shared_dir(static_cast<int>(pick(kSharedDirs)));
    std::string d = join(parent, "d" + std::to_string(rank_) + "_" + std::to_string(thread_) +
                                     "_" + std::to_string(next_serial_++));
    if (benchfs_mkdir(d.c_str(), 0755) != 0) return fail("mkdir " + d, errno);
    log_.dirs.insert(d);
    log_.used.insert(d);
  }

  void op_rmdir() {
    if (log_.dirs.size() < 2) return op_mkdir();
    std::string d = *random_of(log_.dirs);
    if (d == root_) return;
    bool empty = children_of(d) == 0;
    int rc = benchfs_rmdir(d.c_str());
    if (empty) {
      if (rc != 0) return fail("rmdir of empty " + d, errno);
      log_.dirs.erase(d);
    } else if (rc == 0 || errno != ENOTEMPTY) {
      fail("rmdir of non-empty " + d + " is not ENOTEMPTY", rc == 0 ? 0 : errno);
      if (rc == 0) log_.dirs.erase(d);
    }
  }

  // Renames an own subdirectory: empty ones move, non-empty ones are EXDEV
  // (documented: BenchFS does not move a directory's entries).
  void op_rename_dir() {
    if (log_.dirs.size() < 2) return op_mkdir();
    std::string d = *random_of(log_.dirs);
    if (d == root_) return;
    std::string to = join(parent_of(d), "d" + std::to_string(rank_) + "_" +
                                            std::to_string(thread_) + "_" +
                                            std::to_string(next_serial_++));
    int rc = benchfs_rename(d.c_str(), to.c_str());
    if (children_of(d) == 0) {
      if (rc != 0) return fail("rename of empty dir " + d + " -> " + to, errno);
      log_.dirs.erase(d);
      log_.dirs.insert(to);
      log_.used.insert(to);
    } else if (rc == 0 || errno != EXDEV) {
      fail("rename of non-empty dir " + d + " is not EXDEV", rc == 0 ? 0 : errno);
    }
  }

  // A directory the thread owns lists exactly its log's names.
  void op_list_own() {
    std::string d = *random_of(log_.dirs);
    std::set<std::string> want;
    for (auto& [p, f] : log_.files)
      if (parent_of(p) == d) want.insert(base_of(p));
    for (auto& x : log_.dirs)
      if (x != root_ && parent_of(x) == d) want.insert(base_of(x));
    std::set<std::string> got;
    benchfs_dir* dir = benchfs_opendir(d.c_str());
    if (!dir) return fail("opendir " + d, errno);
    while (struct dirent* e = benchfs_readdir(dir)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!got.insert(n).second) fail("readdir " + d + " lists " + n + " twice");
    }
    benchfs_closedir(dir);
    for (auto& n : want)
      if (!got.count(n)) fail("readdir " + d + " misses " + n);
    for (auto& n : got)
      if (!want.count(n)) fail("readdir " + d + " lists unexpected " + n);
  }

  // --- Races on shared names: only the errnos POSIX allows. ---------------

  void op_race() {
    std::string d = race_name(static_cast<int>(pick(kRaceNames)));
    switch (pick(4)) {
      case 0: expect(benchfs_mkdir(d.c_str(), 0755), {EEXIST}, "race mkdir " + d); break;
      // ENOTEMPTY: another thread's file of case 2, for a moment.
      case 1: expect(benchfs_rmdir(d.c_str()), {ENOENT, ENOTEMPTY}, "race rmdir " + d); break;
      case 2: {
        // A file in a directory others remove and make again: while it
        // exists, the directory cannot go (no entry without its parent).
        std::string f = d + "/t" + std::to_string(rank_) + "_" + std::to_string(thread_);
        int fd = benchfs_open(f.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (!expect(fd >= 0 ? 0 : -1, {ENOENT}, "race create " + f)) break;
        expect(benchfs_close(fd), {}, "race close " + f);
        struct stat st;
        if (benchfs_stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
          fail("race: " + d + " is gone while " + f + " exists");
        expect(benchfs_unlink(f.c_str()), {}, "race unlink " + f);
        break;
      }
      default: {
        struct stat st;
        if (expect(benchfs_stat(d.c_str(), &st), {ENOENT}, "race stat " + d) &&
            !S_ISDIR(st.st_mode))
          fail("race: " + d + " is not a directory");
      }
    }
  }

  // --- Observing other threads' files in the shared directories. -----------

  void op_observe() {
    std::string d = shared_dir(static_cast<int>(observer_rng_() % kSharedDirs));
    benchfs_dir* dir = benchfs_opendir(d.c_str());
    if (!dir) return fail("opendir " + d, errno);
    std::vector<std::pair<std::string, unsigned char>> names;
    std::set<std::string> seen;
    while (struct dirent* e = benchfs_readdir(dir)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!seen.insert(n).second) fail("readdir " + d + " lists " + n + " twice");
      uint64_t seed;
      if (e->d_type == DT_REG ? !seed_of_name(n, &seed)
                              : !(e->d_type == DT_DIR && is_dir_name(n)))
        fail("readdir " + d + ": unexpected entry '" + n + "' type " + std::to_string(e->d_type));
      names.emplace_back(n, e->d_type);
    }
    benchfs_closedir(dir);
    if (names.empty()) return;
    auto [name, type] = names[observer_rng_() % names.size()];
    std::string path = join(d, name);
    counters_.observed.fetch_add(1, std::memory_order_relaxed);
    struct stat st;
    if (!expect(benchfs_stat(path.c_str(), &st), {ENOENT}, "observe stat " + path)) return;
    if (type == DT_DIR) {
      if (!S_ISDIR(st.st_mode)) fail("observe: " + path + " listed as directory, stat says not");
      return;
    }
    if (!S_ISREG(st.st_mode)) return fail("observe: " + path + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > kMaxSize)
      return fail("observe: " + path + " has size " + std::to_string(st.st_size));
    uint64_t seed;
    seed_of_name(name, &seed);
    int fd = benchfs_open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      expect(-1, {ENOENT}, "observe open " + path);
      return;
    }
    // Read what open saw: the owner may write, truncate, rename or unlink
    // meanwhile, but every byte must be its pattern byte or zero.
    std::vector<char> buf(kMaxSize + 10);
    ssize_t n = benchfs_pread(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      expect(-1, {ENOENT}, "observe pread " + path);
    } else if (static_cast<uint64_t>(n) > kMaxSize) {
      fail("observe: read " + std::to_string(n) + " bytes of " + path);
    } else {
      for (ssize_t i = 0; i < n; ++i)
        if (buf[i] != 0 && static_cast<unsigned char>(buf[i]) != pattern_byte(seed, i)) {
          fail("observe: " + path + " byte " + std::to_string(i) + " is neither pattern nor zero");
          break;
        }
    }
    if (benchfs_close(fd) != 0) fail("observe close " + path, errno);
  }

  int rank_, thread_;
  std::mt19937_64 rng_;           // the thread's own operations
  std::mt19937_64 observer_rng_;  // choices among what others left
  Counters& counters_;
  std::string root_;
  Log log_;
  uint64_t next_serial_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace

namespace benchfs_test::stress {

ThreadResult run_worker(int rank, int thread, uint64_t seed, Counters& counters,
                        std::chrono::steady_clock::time_point deadline) {
  Worker w(rank, thread, seed, counters);
  w.run(deadline);
  return {w.log(), w.errors()};
}

}  // namespace benchfs_test::stress
