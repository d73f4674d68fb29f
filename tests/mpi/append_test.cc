// O_APPEND across ranks (issue 24, item 1): every rank appends records of
// different lengths to one shared log at once; afterwards the log is
// exactly the sum of the lengths and holds every record, intact, once.
// Before, each rank appended at the end as it knew it, so concurrent
// appenders overwrote each other.
//
// BENCHFS_TEST_APPENDS (default 10,000) records per rank.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr uint32_t kMagic = 0xA99E4D01;

struct RecordHeader {
  uint32_t magic;
  uint32_t rank;
  uint32_t seq;
  uint32_t len;  // of the whole record, header included
};

uint32_t records_per_rank() {
  const char* v = getenv("BENCHFS_TEST_APPENDS");
  int n = v && *v ? atoi(v) : 10000;
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

// 16 to 215 bytes, different for every rank and record.
uint32_t record_len(uint32_t rank, uint32_t seq) {
  return static_cast<uint32_t>(sizeof(RecordHeader)) + (seq * 37 + rank * 11) % 200;
}

char payload_byte(uint32_t rank, uint32_t seq, size_t i) {
  return static_cast<char>((rank * 131 + seq * 17 + i) & 0xff);
}

std::vector<char> record(uint32_t rank, uint32_t seq) {
  std::vector<char> r(record_len(rank, seq));
  RecordHeader h{kMagic, rank, seq, static_cast<uint32_t>(r.size())};
  std::memcpy(r.data(), &h, sizeof h);
  for (size_t i = sizeof h; i < r.size(); ++i) r[i] = payload_byte(rank, seq, i);
  return r;
}

// Walks the log: every record well formed, each (rank, seq) exactly once.
// Returns the first problem, or "".
std::string check_log(const std::vector<char>& log, int ranks, uint32_t per_rank) {
  std::vector<std::vector<bool>> seen(static_cast<size_t>(ranks), std::vector<bool>(per_rank));
  size_t at = 0, records = 0;
  while (at < log.size()) {
    RecordHeader h;
    if (log.size() - at < sizeof h) return "a partial header at " + std::to_string(at);
    std::memcpy(&h, log.data() + at, sizeof h);
    if (h.magic != kMagic || h.rank >= static_cast<uint32_t>(ranks) || h.seq >= per_rank ||
        h.len != record_len(h.rank, h.seq) || h.len > log.size() - at)
      return "a broken record at " + std::to_string(at);
    for (size_t i = sizeof h; i < h.len; ++i)
      if (log[at + i] != payload_byte(h.rank, h.seq, i))
        return "overwritten bytes in the record at " + std::to_string(at);
    if (seen[h.rank][h.seq]) return "a record twice, at " + std::to_string(at);
    seen[h.rank][h.seq] = true;
    at += h.len;
    ++records;
  }
  if (records != static_cast<size_t>(ranks) * per_rank)
    return std::to_string(records) + " records, not " +
           std::to_string(static_cast<size_t>(ranks) * per_rank);
  return "";
}

}  // namespace

TEST_CASE("O_APPEND: records appended by every rank at once never overlap") {
  const uint32_t n = records_per_rank();
  for (std::string backend : {"memory", "uring"}) {
    CAPTURE(backend);
    start(backend);
    const char* path = "/log";
    int fd = benchfs_open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    REQUIRE(fd >= 0);
    MPI_Barrier(MPI_COMM_WORLD);
    uint64_t mine = 0;
    bool ok = true;
    for (uint32_t seq = 0; seq < n && ok; ++seq) {
      auto r = record(static_cast<uint32_t>(rank()), seq);
      ok = benchfs_write(fd, r.data(), r.size()) == static_cast<ssize_t>(r.size());
      mine += r.size();
    }
    CHECK(ok);
    REQUIRE(benchfs_close(fd) == 0);
    uint64_t total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    CHECK(size_of(path) == static_cast<off_t>(total));
    MPI_Barrier(MPI_COMM_WORLD);  // every rank's stat before rank 0 unlinks the log
    if (rank() == 0) {
      std::vector<char> log(total);
      fd = benchfs_open(path, O_RDONLY);
      REQUIRE(fd >= 0);
      CHECK(benchfs_pread(fd, log.data(), log.size(), 0) == static_cast<ssize_t>(log.size()));
      REQUIRE(benchfs_close(fd) == 0);
      CHECK(check_log(log, size(), n) == "");
      REQUIRE(benchfs_unlink(path) == 0);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    stop();
  }
}

// An append lands after the appender's own writes that it has not
// reported yet (no close in between), and moves the fd's offset.
TEST_CASE("O_APPEND: after this rank's own unreported writes") {
  start("memory");
  const std::string path = "/own" + std::to_string(rank());
  int fd = benchfs_open(path.c_str(), O_CREAT | O_RDWR | O_APPEND, 0644);
  REQUIRE(fd >= 0);
  std::vector<char> head(100, 'h');
  REQUIRE(benchfs_pwrite(fd, head.data(), head.size(), 0) == 100);
  REQUIRE(benchfs_write(fd, "0123456789", 10) == 10);
  CHECK(benchfs_lseek(fd, 0, SEEK_CUR) == 110);
  char tail[10];
  REQUIRE(benchfs_pread(fd, tail, 10, 100) == 10);
  CHECK(std::memcmp(tail, "0123456789", 10) == 0);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(size_of(path.c_str()) == 110);
  // A zero-length append changes nothing.
  fd = benchfs_open(path.c_str(), O_WRONLY | O_APPEND);
  REQUIRE(fd >= 0);
  CHECK(benchfs_write(fd, "", 0) == 0);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(size_of(path.c_str()) == 110);
  REQUIRE(benchfs_unlink(path.c_str()) == 0);
  stop();
}

TEST_CASE("O_APPEND set and cleared by benchfs_fcntl(F_SETFL)") {
  start("memory");
  const std::string path = "/setfl" + std::to_string(rank());
  int fd = benchfs_open(path.c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  CHECK(benchfs_fcntl(fd, F_GETFL) == O_RDWR);
  REQUIRE(benchfs_write(fd, "abcdef", 6) == 6);
  // A rank's own stat by path counts its unpublished writes (as fstat).
  CHECK(size_of(path.c_str()) == 6);
  REQUIRE(benchfs_fcntl(fd, F_SETFL, O_APPEND | O_CREAT) == 0);  // O_CREAT ignored
  CHECK(benchfs_fcntl(fd, F_GETFL) == (O_RDWR | O_APPEND));
  REQUIRE(benchfs_lseek(fd, 0, SEEK_SET) == 0);
  REQUIRE(benchfs_write(fd, "XY", 2) == 2);  // at the end, not at 0
  CHECK(benchfs_lseek(fd, 0, SEEK_CUR) == 8);
  REQUIRE(benchfs_fcntl(fd, F_SETFL, 0) == 0);
  REQUIRE(benchfs_lseek(fd, 0, SEEK_SET) == 0);
  REQUIRE(benchfs_write(fd, "Z", 1) == 1);  // at 0 again
  char buf[8];
  REQUIRE(benchfs_pread(fd, buf, 8, 0) == 8);
  CHECK(std::memcmp(buf, "ZbcdefXY", 8) == 0);
  CHECK(benchfs_fcntl(fd, F_SETLK, nullptr) == -1);
  CHECK(errno == EINVAL);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(benchfs_fcntl(fd, F_GETFL) == -1);
  CHECK(errno == EBADF);
  REQUIRE(benchfs_unlink(path.c_str()) == 0);
  stop();
}
