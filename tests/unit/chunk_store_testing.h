// Helpers of the chunk store tests (chunk_store_test.cc: what every backend
// must do; memory_chunk_store_test.cc and uring_chunk_store_test.cc: each
// backend's own behaviour): operations run to completion, test bytes, and
// the backends the cases are instantiated for.
#pragma once

#include <doctest/doctest.h>
#include <sched.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/chunk_store.h"
#include "store/memory_chunk_store.h"
#include "store/uring_chunk_store.h"

namespace benchfs::chunk_store_testing {

namespace fs = std::filesystem;

inline constexpr uint64_t kChunk = 4096;  // memory store chunk size

// Polls until `cond` holds, failing the test after 10 s.
inline void poll_until(ChunkStore& s, const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!cond() && std::chrono::steady_clock::now() < deadline) {
    s.poll();
    if (!cond()) sched_yield();
  }
  REQUIRE_MESSAGE(cond(), "operation did not complete within 10 s");
}

// Starts one operation and drives poll() until its completion has run;
// checks the completion runs exactly once and returns its result.
inline int64_t run(ChunkStore& s, const std::function<void(ChunkStore::Done)>& start) {
  int calls = 0;
  int64_t result = INT64_MIN;
  start([&calls, &result](int64_t r) {
    ++calls;
    result = r;
  });
  poll_until(s, [&calls] { return calls > 0; });
  for (int i = 0; i < 3; ++i) s.poll();
  CHECK(calls == 1);
  CHECK_FALSE(s.busy());
  return result;
}

inline int64_t do_write(ChunkStore& s, uint64_t id, uint64_t off, const std::vector<char>& data) {
  return run(s, [&](ChunkStore::Done d) { s.write(id, off, data.data(), data.size(), std::move(d)); });
}

// Reads len bytes into a buffer pre-filled with garbage; checks result == len.
inline std::vector<char> do_read(ChunkStore& s, uint64_t id, uint64_t off, size_t len) {
  std::vector<char> buf(len, '\xAA');
  int64_t r = run(s, [&](ChunkStore::Done d) { s.read(id, off, buf.data(), len, std::move(d)); });
  CHECK(r == static_cast<int64_t>(len));
  return buf;
}

inline int64_t do_truncate(ChunkStore& s, uint64_t id, uint64_t size) {
  return run(s, [&](ChunkStore::Done d) { s.truncate(id, size, std::move(d)); });
}

inline int64_t do_remove(ChunkStore& s, uint64_t id) {
  return run(s, [&](ChunkStore::Done d) { s.remove(id, std::move(d)); });
}

inline int64_t do_fsync(ChunkStore& s, uint64_t id) {
  return run(s, [&](ChunkStore::Done d) { s.fsync(id, std::move(d)); });
}

// Distinct, position-dependent bytes (never zero) so misplaced data shows.
inline std::vector<char> pattern(size_t len, unsigned seed) {
  std::vector<char> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>(1 + (i * 31 + seed * 7) % 251);
  return v;
}

inline bool all_zero(const std::vector<char>& v, size_t from = 0, size_t to = SIZE_MAX) {
  if (to > v.size()) to = v.size();
  for (size_t i = from; i < to; ++i)
    if (v[i] != 0) return false;
  return true;
}

inline bool same(const std::vector<char>& a, size_t a_off, const std::vector<char>& b,
                 size_t b_off, size_t n) {
  REQUIRE(a_off + n <= a.size());
  REQUIRE(b_off + n <= b.size());
  return std::memcmp(a.data() + a_off, b.data() + b_off, n) == 0;
}

// A unique parent directory under `base`, removed with everything in it.
class TempParent {
 public:
  explicit TempParent(const std::string& base = "/tmp") {
    std::string tmpl = base + "/benchfs-unit-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempParent() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

struct MemoryBackend {
  static constexpr bool kUring = false;
  MemoryChunkStore mem{kChunk, 0};
  ChunkStore& store() { return mem; }
};

// With a cap it counts every byte and offers no memory files to peers.
struct CappedMemoryBackend {
  static constexpr bool kUring = false;
  MemoryChunkStore mem{kChunk, 1ULL << 30};
  ChunkStore& store() { return mem; }
};

struct UringBackend {
  static constexpr bool kUring = true;
  TempParent parent;
  std::string dir = parent.path() + "/store";
  UringChunkStore uring;
  // io_uring even if /tmp is a tmpfs.
  UringBackend() { REQUIRE(uring.open(dir, 64, false) == 0); }
  ~UringBackend() { uring.destroy(false); }
  ChunkStore& store() { return uring; }
};

// The uring backend on a tmpfs (/dev/shm): pread/pwrite in place.
struct UringOnTmpfsBackend {
  static constexpr bool kUring = false;  // completes before returning
  TempParent parent{"/dev/shm"};
  std::string dir = parent.path() + "/store";
  UringChunkStore uring;
  UringOnTmpfsBackend() { REQUIRE(uring.open(dir, 64, true) == 0); }
  ~UringOnTmpfsBackend() { uring.destroy(false); }
  ChunkStore& store() { return uring; }
};

#define BACKENDS MemoryBackend, CappedMemoryBackend, UringBackend, UringOnTmpfsBackend

}  // namespace benchfs::chunk_store_testing
