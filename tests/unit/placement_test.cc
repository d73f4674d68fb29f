// Tests of src/common/placement.h: hashing and the spread of metadata and chunks.
#include "common/placement.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace benchfs {
namespace {

// Every count within +-tolerance of the even share total / bins.
void check_even(const std::vector<uint64_t>& counts, uint64_t total, double tolerance) {
  double even = static_cast<double>(total) / static_cast<double>(counts.size());
  uint64_t sum = 0;
  for (size_t s = 0; s < counts.size(); ++s) {
    CAPTURE(s);
    CAPTURE(counts[s]);
    CAPTURE(even);
    CHECK(static_cast<double>(counts[s]) >= even * (1.0 - tolerance));
    CHECK(static_cast<double>(counts[s]) <= even * (1.0 + tolerance));
    sum += counts[s];
  }
  CHECK(sum == total);
}

// The id a server gives a new file: made by the path's metadata owner.
uint64_t new_id(const std::string& path, int nservers, uint64_t serial) {
  return make_file_id(metadata_owner(path, nservers), serial);
}

}  // namespace

TEST_CASE("hash64 is FNV-1a 64 followed by mix64") {
  // Published FNV-1a 64-bit test vectors.
  CHECK(hash64("") == mix64(0xcbf29ce484222325ULL));
  CHECK(hash64("a") == mix64(0xaf63dc4c8601ec8cULL));
  CHECK(hash64("foobar") == mix64(0x85944171f73967e8ULL));
}

TEST_CASE("mix64: murmur3 finalizer properties") {
  CHECK(mix64(0) == 0);
  CHECK(mix64(1) != 1);
  // A bijection: no collisions over a run of small inputs.
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 10000; ++i) seen.insert(mix64(i));
  CHECK(seen.size() == 10000);
}

TEST_CASE("hash64 is deterministic and distinguishes similar paths") {
  CHECK(hash64("/out/file.0") == hash64("/out/file.0"));
  CHECK(hash64(std::string("/out/file.0")) == hash64(std::string_view("/out/file.0")));
  CHECK(hash64("/out/file.0") != hash64("/out/file.1"));
  CHECK(hash64("/a") != hash64("/b"));
  CHECK(hash64("ab") != hash64("ba"));
  // The length of the view counts, not a NUL terminator.
  CHECK(hash64(std::string_view("abc", 2)) == hash64("ab"));
  CHECK(hash64(std::string_view("a\0b", 3)) != hash64("a"));

  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(hash64("/out/file." + std::to_string(i)));
  CHECK(seen.size() == 10000);
}

TEST_CASE("metadata_owner is in range and deterministic") {
  for (int n : {1, 2, 3, 7, 16, 100}) {
    CAPTURE(n);
    for (int i = 0; i < 1000; ++i) {
      std::string p = "/d/" + std::to_string(i);
      int owner = metadata_owner(p, n);
      CHECK(owner >= 0);
      CHECK(owner < n);
      CHECK(owner == metadata_owner(p, n));
      CHECK(owner == static_cast<int>(hash64(p) % static_cast<uint64_t>(n)));
    }
  }
  for (int i = 0; i < 100; ++i) CHECK(metadata_owner("/x" + std::to_string(i), 1) == 0);
}

TEST_CASE("chunk_owner is in range") {
  for (int n : {1, 2, 3, 5, 16, 64}) {
    CAPTURE(n);
    for (uint64_t id : {uint64_t{0}, uint64_t{1}, hash64("/f"), ~uint64_t{0}}) {
      for (uint64_t idx : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, ~uint64_t{0}}) {
        int owner = chunk_owner(id, idx, n);
        CHECK(owner >= 0);
        CHECK(owner < n);
      }
    }
  }
  for (uint64_t idx = 0; idx < 100; ++idx) CHECK(chunk_owner(hash64("/f"), idx, 1) == 0);
}

TEST_CASE("balance: 1,000 files x 16 chunks over 16 servers (REQUIRED)") {
  const int kServers = 16;
  const int kFiles = 1000;
  const uint64_t kChunks = 16;
  std::vector<uint64_t> counts(kServers, 0);
  for (int f = 0; f < kFiles; ++f) {
    uint64_t id = new_id("/out/file." + std::to_string(f), kServers, 1);
    for (uint64_t c = 0; c < kChunks; ++c) {
      int owner = chunk_owner(id, c, kServers);
      REQUIRE(owner >= 0);
      REQUIRE(owner < kServers);
      ++counts[static_cast<size_t>(owner)];
    }
  }
  check_even(counts, kFiles * kChunks, 0.20);  // 1000 each, +-200
}

TEST_CASE("balance: files start on servers spread by their path") {
  // With fewer chunks than servers, balance depends on where each file
  // starts: with its metadata, on the server its path hashes to.
  const int kServers = 16;
  const int kFiles = 1000;
  const uint64_t kChunks = 4;
  std::vector<uint64_t> counts(kServers, 0);
  std::set<int> starts;
  for (int f = 0; f < kFiles; ++f) {
    uint64_t id = new_id("/out/file." + std::to_string(f), kServers, static_cast<uint64_t>(f) + 1);
    starts.insert(chunk_owner(id, 0, kServers));
    for (uint64_t c = 0; c < kChunks; ++c) ++counts[static_cast<size_t>(chunk_owner(id, c, kServers))];
  }
  CHECK(starts.size() == static_cast<size_t>(kServers));
  check_even(counts, kFiles * kChunks, 0.20);  // 250 each, +-50
}

TEST_CASE("balance: metadata of 10,000 paths over 16 servers (REQUIRED)") {
  const int kServers = 16;
  const int kPaths = 10000;
  std::vector<uint64_t> counts(kServers, 0);
  for (int i = 0; i < kPaths; ++i) {
    int owner = metadata_owner("/dir/f." + std::to_string(i), kServers);
    REQUIRE(owner >= 0);
    REQUIRE(owner < kServers);
    ++counts[static_cast<size_t>(owner)];
  }
  check_even(counts, kPaths, 0.20);  // 625 each, +-125
}

TEST_CASE("consecutive chunks of one file go to different servers") {
  for (int n = 2; n <= 17; ++n) {
    CAPTURE(n);
    for (int f = 0; f < 50; ++f) {
      uint64_t id = hash64("/out/file." + std::to_string(f));
      for (uint64_t c = 0; c < 64; ++c) {
        CAPTURE(c);
        CHECK(chunk_owner(id, c, n) != chunk_owner(id, c + 1, n));
      }
      // Any n consecutive chunks land on n distinct servers.
      std::set<int> window;
      for (uint64_t c = 10; c < 10 + static_cast<uint64_t>(n); ++c) window.insert(chunk_owner(id, c, n));
      CHECK(window.size() == static_cast<size_t>(n));
    }
  }
}

TEST_CASE("chunk_owner: chunk 0 lives with the metadata of the path that made the id") {
  for (int n : {1, 2, 3, 16}) {
    for (int i = 0; i < 100; ++i) {
      std::string path = "/d/f." + std::to_string(i);
      CHECK(chunk_owner(new_id(path, n, 42), 0, n) == metadata_owner(path, n));
    }
  }
  // Chunk i is exactly i servers after chunk 0 (round robin from the start).
  uint64_t id = 0x1234567890abcdefULL;
  int start = chunk_owner(id, 0, 16);
  for (uint64_t c = 0; c < 40; ++c) CHECK(chunk_owner(id, c, 16) == (start + static_cast<int>(c)) % 16);
}

TEST_CASE("first_chunk_on is the smallest chunk index a rank holds") {
  for (int n : {1, 2, 3, 7, 16}) {
    CAPTURE(n);
    for (uint64_t id : {uint64_t{0}, uint64_t{42}, hash64("/f"), ~uint64_t{0}}) {
      for (int r = 0; r < n; ++r) {
        uint64_t first = first_chunk_on(id, r, n);
        CHECK(first < static_cast<uint64_t>(n));
        CHECK(chunk_owner(id, first, n) == r);
        for (uint64_t k = 0; k < first; ++k) CHECK(chunk_owner(id, k, n) != r);
      }
    }
  }
}

}  // namespace benchfs
