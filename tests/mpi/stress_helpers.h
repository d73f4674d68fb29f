// What the files of the stress test share (stress_test.cc runs the threads
// and checks the final state, stress_worker.cc is one thread's workload):
// the shape of the namespace, the model of a file's contents and the log of
// a thread's acknowledged state.
//
// File contents are pattern bytes of a seed fixed by the file's name prefix
// (f<rank>_<thread>_<serial>): a write at offset o always writes
// pattern(seed, o ..), so misplaced, lost, stale or foreign data shows up
// as a wrong byte.  The owner's log keeps each file's size and the extents
// that hold pattern bytes (everything else must read as zero).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mpi_test.h"

namespace benchfs_test::stress {

inline constexpr int kSharedDirs = 4;
inline constexpr int kRaceNames = 4;
inline constexpr size_t kMaxErrors = 20;  // messages kept per thread

inline std::string shared_dir(int k) { return "/s" + std::to_string(k); }
inline std::string race_name(int k) { return "/race/d" + std::to_string(k); }

inline std::string parent_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == 0 ? "/" : p.substr(0, slash);
}
inline std::string base_of(const std::string& p) { return p.substr(p.rfind('/') + 1); }

// What the log says about one file: size and the extents holding pattern
// bytes; every other byte below the size reads as zero.
struct FileModel {
  uint64_t serial = 0;  // the name prefix that fixes the content seed
  unsigned gen = 0;     // renames so far: the next name is <prefix>.<gen + 1>
  uint64_t seed = 0;
  uint64_t size = 0;
  std::map<uint64_t, uint64_t> extents;  // start -> end, disjoint, not touching

  void write(uint64_t off, uint64_t len) {
    uint64_t start = off, end = off + len;
    auto it = extents.upper_bound(start);
    if (it != extents.begin() && std::prev(it)->second >= start) --it;
    while (it != extents.end() && it->first <= end) {
      start = std::min(start, it->first);
      end = std::max(end, it->second);
      it = extents.erase(it);
    }
    extents[start] = end;
    size = std::max(size, off + len);
  }
  void truncate(uint64_t len) {
    for (auto it = extents.begin(); it != extents.end();) {
      if (it->first >= len) {
        it = extents.erase(it);
      } else {
        it->second = std::min(it->second, len);
        ++it;
      }
    }
    size = len;
  }
  std::vector<char> expected() const {
    std::vector<char> buf(size, 0);
    for (auto [s, e] : extents)
      for (uint64_t i = s; i < e; ++i) buf[i] = static_cast<char>(pattern_byte(seed, i));
    return buf;
  }
};

// One thread's acknowledged state: the files and directories it owns now,
// and every name it ever used (those not live now must be gone).
struct Log {
  std::map<std::string, FileModel> files;
  std::set<std::string> dirs;  // owned directories, its private root included
  std::set<std::string> used;

  std::string serialize() const {
    std::ostringstream o;
    for (auto& [p, f] : files) {
      o << "F " << p << ' ' << f.serial << ' ' << f.gen << ' ' << f.seed << ' ' << f.size << ' ' << f.extents.size();
      for (auto [s, e] : f.extents) o << ' ' << s << ' ' << e;
      o << '\n';
    }
    for (auto& d : dirs) o << "D " << d << '\n';
    for (auto& u : used) o << "U " << u << '\n';
    return o.str();
  }
  void merge_serialized(const std::string& text) {
    std::istringstream in(text);
    std::string kind, path;
    while (in >> kind >> path) {
      if (kind == "F") {
        FileModel f;
        size_t n;
        in >> f.serial >> f.gen >> f.seed >> f.size >> n;
        for (size_t i = 0; i < n; ++i) {
          uint64_t s, e;
          in >> s >> e;
          f.extents[s] = e;
        }
        files[path] = f;
      } else if (kind == "D") {
        dirs.insert(path);
      } else {
        used.insert(path);
      }
    }
  }
};

struct Counters {
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> observed{0};  // reads/stats of other threads' files
};

// Size (stat and fstat) and every byte of a file must be exactly what the
// log says.  Failures go to errors, labelled with rank and thread;
// thread < 0: the final check (stress_test.cc).
void verify_file(const std::string& path, const FileModel& f, std::vector<std::string>& errors,
                 int rank, int thread);

// What one thread leaves: its log and what went wrong (at most kMaxErrors).
struct ThreadResult {
  Log log;
  std::vector<std::string> errors;
};

// Runs thread `thread` of `rank` until `deadline` (stress_worker.cc); its
// operations are a function of `seed`.
ThreadResult run_worker(int rank, int thread, uint64_t seed, Counters& counters,
                        std::chrono::steady_clock::time_point deadline);

}  // namespace benchfs_test::stress
