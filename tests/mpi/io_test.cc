// The core I/O path across ranks, on both backends.
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "common/placement.h"  // to compare benchfs_chunk_rank with the rule itself
#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr size_t MiB = 1 << 20;

// Writes len pattern bytes at offset in transfers of xfer bytes.
void write_pattern(int fd, uint64_t seed, uint64_t offset, size_t len, size_t xfer) {
  std::vector<char> buf;
  for (size_t done = 0; done < len; done += xfer) {
    size_t n = std::min(xfer, len - done);
    buf.resize(n);
    fill_pattern(buf, seed, offset + done);
    REQUIRE(benchfs_pwrite(fd, buf.data(), n, static_cast<off_t>(offset + done)) ==
            static_cast<ssize_t>(n));
  }
}

// Reads len bytes at offset in transfers of xfer bytes and checks the pattern.
void check_pattern(int fd, uint64_t seed, uint64_t offset, size_t len, size_t xfer) {
  std::vector<char> buf(xfer);
  for (size_t done = 0; done < len; done += xfer) {
    size_t n = std::min(xfer, len - done);
    REQUIRE(benchfs_pread(fd, buf.data(), n, static_cast<off_t>(offset + done)) ==
            static_cast<ssize_t>(n));
    long long bad = first_mismatch(buf, seed, offset + done, n);
    INFO("first bad byte at file offset " << offset + done + bad);
    REQUIRE(bad == -1);
  }
}

off_t size_of(const char* path) {
  struct stat st;
  REQUIRE(benchfs_stat(path, &st) == 0);
  return st.st_size;
}

}  // namespace

TEST_CASE("file per process: 64 MiB per rank read back by another rank") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend);
    const size_t len = 64 * MiB;
    std::string mine = "/fpp." + std::to_string(rank());
    int fd = benchfs_open(mine.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    write_pattern(fd, rank(), 0, len, MiB);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    int other = (rank() + 1) % size();
    std::string theirs = "/fpp." + std::to_string(other);
    CHECK(size_of(theirs.c_str()) == static_cast<off_t>(len));
    fd = benchfs_open(theirs.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    check_pattern(fd, other, 0, len, MiB);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    REQUIRE(benchfs_unlink(mine.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    // Unlink reclaimed the chunk data on every server.
    if (rank() == 0) CHECK(count_files(scratch_dir()) == 0);
    stop();
  }
}

TEST_CASE("shared file N-1 with interleaved 47008-byte records") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend);
    const size_t record = 47008, records_per_rank = 64;
    int fd = benchfs_open("/shared", O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    std::vector<char> buf(record);
    for (size_t i = 0; i < records_per_rank; ++i) {
      uint64_t offset = (i * size() + rank()) * record;
      fill_pattern(buf, 7, offset);
      REQUIRE(benchfs_pwrite(fd, buf.data(), record, static_cast<off_t>(offset)) ==
              static_cast<ssize_t>(record));
    }
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    const size_t total = record * records_per_rank * size();
    CHECK(size_of("/shared") == static_cast<off_t>(total));
    fd = benchfs_open("/shared", O_RDONLY);
    REQUIRE(fd >= 0);
    std::vector<char> all(total);
    REQUIRE(benchfs_read(fd, all.data(), total) == static_cast<ssize_t>(total));
    CHECK(first_mismatch(all, 7, 0, total) == -1);
    // At end of file a read returns 0.
    CHECK(benchfs_read(fd, all.data(), 1) == 0);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) REQUIRE(benchfs_unlink("/shared") == 0);
    stop();
  }
}

TEST_CASE("edge cases of the data path") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const size_t cs = 64 << 10;
    std::string dir = "/edge" + std::to_string(rank());
    REQUIRE(benchfs_mkdir(dir.c_str(), 0755) == 0);

    {  // straddle
      // Straddles three chunk boundaries; size not a multiple of the chunk.
      std::string p = dir + "/straddle";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
      REQUIRE(fd >= 0);
      write_pattern(fd, 1, cs - 100, 3 * cs + 777, 3 * cs + 777);
      check_pattern(fd, 1, cs - 100, 3 * cs + 777, 3 * cs + 777);
      check_pattern(fd, 1, cs - 100, 3 * cs + 777, 1000);  // many small reads
      REQUIRE(benchfs_close(fd) == 0);
      CHECK(size_of(p.c_str()) == static_cast<off_t>(cs - 100 + 3 * cs + 777));
      // The bytes before the first write are a hole.
      fd = benchfs_open(p.c_str(), O_RDONLY);
      std::vector<char> head(cs - 100, 'x');
      REQUIRE(benchfs_pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()));
      CHECK(std::all_of(head.begin(), head.end(), [](char c) { return c == 0; }));
      REQUIRE(benchfs_close(fd) == 0);
    }

    {  // sparse
      std::string p = dir + "/sparse";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      REQUIRE(fd >= 0);
      write_pattern(fd, 2, 0, 100, 100);
      write_pattern(fd, 2, 5 * cs + 3, 100, 100);
      REQUIRE(benchfs_close(fd) == 0);
      const size_t size = 5 * cs + 103;
      CHECK(size_of(p.c_str()) == static_cast<off_t>(size));
      fd = benchfs_open(p.c_str(), O_RDONLY);
      std::vector<char> all(size + 50, 'x');
      // A read past the end is short, exactly at the end of file.
      REQUIRE(benchfs_pread(fd, all.data(), all.size(), 0) == static_cast<ssize_t>(size));
      CHECK(first_mismatch(all, 2, 0, 100) == -1);
      CHECK(std::all_of(all.begin() + 100, all.begin() + 5 * cs + 3, [](char c) { return c == 0; }));
      std::vector<char> tail(all.begin() + 5 * cs + 3, all.begin() + size);
      CHECK(first_mismatch(tail, 2, 5 * cs + 3, 100) == -1);
      CHECK(benchfs_pread(fd, all.data(), 10, static_cast<off_t>(size)) == 0);
      CHECK(benchfs_pread(fd, all.data(), 10, static_cast<off_t>(size + 1000)) == 0);
      REQUIRE(benchfs_close(fd) == 0);
    }

    {  // append_and_lseek
      std::string p = dir + "/append";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY | O_APPEND, 0644);
      REQUIRE(fd >= 0);
      CHECK(benchfs_write(fd, "hello ", 6) == 6);
      CHECK(benchfs_lseek(fd, 0, SEEK_SET) == 0);  // O_APPEND ignores the offset
      CHECK(benchfs_write(fd, "world", 5) == 5);
      REQUIRE(benchfs_close(fd) == 0);
      fd = benchfs_open(p.c_str(), O_RDWR | O_APPEND);
      CHECK(benchfs_write(fd, "!", 1) == 1);
      CHECK(benchfs_lseek(fd, 0, SEEK_END) == 12);
      CHECK(benchfs_lseek(fd, -6, SEEK_CUR) == 6);
      char buf[16] = {};
      CHECK(benchfs_read(fd, buf, sizeof buf) == 6);
      CHECK(std::string(buf) == "world!");
      CHECK(benchfs_lseek(fd, 0, SEEK_SET) == 0);
      CHECK(benchfs_read(fd, buf, 5) == 5);
      CHECK(std::string(buf, 5) == "hello");
      CHECK(benchfs_lseek(fd, -1, SEEK_SET) == -1);
      CHECK(errno == EINVAL);
      CHECK(benchfs_lseek(fd, 0, 42) == -1);
      CHECK(errno == EINVAL);
      // Seeking past the end and writing leaves a hole.
      CHECK(benchfs_lseek(fd, 100, SEEK_SET) == 100);
      REQUIRE(benchfs_close(fd) == 0);
      CHECK(size_of(p.c_str()) == 12);
    }

    {  // threads
      // 8 threads of one rank write disjoint ranges of one file at once.
      std::string p = dir + "/threads";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
      REQUIRE(fd >= 0);
      const size_t per_thread = 3 * cs + 1234;
      std::vector<std::thread> threads;
      std::atomic<int> failures{0};
      std::atomic<long long> first_failure{0};  // result << 16 | errno, for the log
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          std::vector<char> buf(per_thread);
          fill_pattern(buf, 3, t * per_thread);
          for (size_t off = 0; off < per_thread; off += 10000) {
            size_t n = std::min<size_t>(10000, per_thread - off);
            ssize_t r = benchfs_pwrite(fd, buf.data() + off, n, static_cast<off_t>(t * per_thread + off));
            if (r != static_cast<ssize_t>(n)) {
              long long none = 0;
              first_failure.compare_exchange_strong(none, (static_cast<long long>(r) << 16) | errno);
              ++failures;
            }
          }
        });
      }
      for (auto& th : threads) th.join();
      INFO("first failed pwrite: result " << (first_failure.load() >> 16) << ", errno "
                                          << (first_failure.load() & 0xffff));
      CHECK(failures == 0);
      REQUIRE(benchfs_close(fd) == 0);
      CHECK(size_of(p.c_str()) == static_cast<off_t>(8 * per_thread));
      fd = benchfs_open(p.c_str(), O_RDONLY);
      check_pattern(fd, 3, 0, 8 * per_thread, cs);
      REQUIRE(benchfs_close(fd) == 0);
    }

    {  // trunc
      // O_TRUNC empties the file and reclaims its chunks.
      std::string p = dir + "/trunc";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      write_pattern(fd, 4, 0, 4 * cs, cs);
      REQUIRE(benchfs_close(fd) == 0);
      fd = benchfs_open(p.c_str(), O_WRONLY | O_TRUNC);
      REQUIRE(fd >= 0);
      CHECK(size_of(p.c_str()) == 0);
      write_pattern(fd, 5, 0, 10, 10);
      REQUIRE(benchfs_close(fd) == 0);
      CHECK(size_of(p.c_str()) == 10);
      fd = benchfs_open(p.c_str(), O_RDONLY);
      std::vector<char> buf(4 * cs);
      CHECK(benchfs_pread(fd, buf.data(), buf.size(), 0) == 10);
      REQUIRE(benchfs_close(fd) == 0);
    }

    {  // fsync
      // fsync publishes the size before close.
      std::string p = dir + "/synced";
      int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      write_pattern(fd, 6, 0, cs + 1, cs + 1);
      CHECK(benchfs_fsync(fd) == 0);
      struct stat st;
      CHECK(benchfs_fstat(fd, &st) == 0);
      CHECK(st.st_size == static_cast<off_t>(cs + 1));
      MPI_Barrier(MPI_COMM_WORLD);
      std::string other = "/edge" + std::to_string((rank() + 1) % size()) + "/synced";
      CHECK(size_of(other.c_str()) == static_cast<off_t>(cs + 1));
      MPI_Barrier(MPI_COMM_WORLD);
      REQUIRE(benchfs_close(fd) == 0);
    }

    for (const char* name : {"straddle", "sparse", "append", "threads", "trunc", "synced"})
      REQUIRE(benchfs_unlink((dir + "/" + name).c_str()) == 0);
    REQUIRE(benchfs_rmdir(dir.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(count_files(scratch_dir()) == 0);
    stop();
  }
}

TEST_CASE("errors of the data path leave every rank working") {
  start("uring");
  std::string p = "/err" + std::to_string(rank());
  errno = 0;
  CHECK(benchfs_open(p.c_str(), O_RDONLY) == -1);
  CHECK(errno == ENOENT);
  int fd = benchfs_open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  CHECK(benchfs_open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600) == -1);
  CHECK(errno == EEXIST);
  char c = 'x';
  CHECK(benchfs_read(fd, &c, 1) == -1);  // write-only
  CHECK(errno == EBADF);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(benchfs_close(fd) == -1);
  CHECK(errno == EBADF);
  CHECK(benchfs_write(fd, &c, 1) == -1);
  CHECK(errno == EBADF);
  fd = benchfs_open(p.c_str(), O_RDONLY);
  CHECK(benchfs_write(fd, &c, 1) == -1);  // read-only
  CHECK(errno == EBADF);
  CHECK(benchfs_pread(fd, &c, 1, -1) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_pread(fd, nullptr, 1, 0) == -1);
  CHECK(errno == EFAULT);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(benchfs_open(p.c_str(), O_WRONLY | O_RDWR) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_open("relative", O_RDONLY) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_open(nullptr, O_RDONLY) == -1);
  CHECK(errno == EFAULT);
  CHECK(benchfs_open("/no/such/dir/file", O_CREAT | O_WRONLY, 0644) == -1);
  CHECK(errno == ENOENT);
  CHECK(benchfs_unlink("/no-such-file") == -1);
  CHECK(errno == ENOENT);
  CHECK(benchfs_stat("/no-such-file", nullptr) == -1);
  CHECK(errno == EFAULT);
  CHECK(benchfs_fstat(12345, nullptr) == -1);
  CHECK(benchfs_fsync(-1) == -1);
  CHECK(errno == EBADF);
  // Every rank still serves the others afterwards.
  MPI_Barrier(MPI_COMM_WORLD);
  std::string other = "/err" + std::to_string((rank() + 1) % size());
  struct stat st;
  CHECK(benchfs_stat(other.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 0777) == 0600);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(p.c_str()) == 0);
  stop();
}

TEST_CASE("statistics count this rank's requests and bytes") {
  setenv("BENCHFS_DIRECT", "0", 1);  // every piece a request (direct pieces: the case below)
  start("memory");
  unsetenv("BENCHFS_DIRECT");
  std::string p = "/stats" + std::to_string(rank());
  int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  std::vector<char> buf(3 * MiB, 's');
  REQUIRE(benchfs_pwrite(fd, buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size()));
  REQUIRE(benchfs_pread(fd, buf.data(), buf.size(), 0) == static_cast<ssize_t>(buf.size()));
  REQUIRE(benchfs_close(fd) == 0);
  char text[8192] = {};
  FILE* out = fmemopen(text, sizeof text - 1, "w");
  REQUIRE(benchfs_stats_print(out) == 0);
  std::fclose(out);
  std::string s(text);
  INFO(s);
  CHECK(s.find("3.0 MiB written") != std::string::npos);
  CHECK(s.find("3.0 MiB read") != std::string::npos);
  CHECK(s.find("write") != std::string::npos);
  CHECK(benchfs_stats_print(nullptr) == -1);
  CHECK(errno == EFAULT);
  REQUIRE(benchfs_unlink(p.c_str()) == 0);
  stop();
  CHECK(benchfs_stats_print(stderr) == -1);
  CHECK(errno == ENODEV);
}

namespace {

// Write requests this rank's server has served (the "write" row of the
// statistics table, column "served").
unsigned long long served_writes() {
  char text[8192] = {};
  FILE* out = fmemopen(text, sizeof text - 1, "w");
  REQUIRE(benchfs_stats_print(out) == 0);
  std::fclose(out);
  std::istringstream lines(text);
  std::string line, kind;
  unsigned long long sent = 0, served = 0;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    if (words >> kind >> sent >> served && kind == "write") return served;
  }
  return 0;  // no row: none sent or served yet
}

}  // namespace

// benchfs_chunk_rank answers from the placement rule without asking
// anyone; it must name the server that really stores the chunk.  With
// direct I/O off every piece is a request and each server counts the
// write requests it serves: writing j + 1 times into the chunk that
// benchfs_chunk_rank puts on rank j must raise exactly rank j's count by
// j + 1 (a wrong answer sends the writes elsewhere, and a server refuses a
// chunk that is not its own).
TEST_CASE("benchfs_chunk_rank names the server that stores the chunk") {
  setenv("BENCHFS_DIRECT", "0", 1);
  start("memory", "64k");
  unsetenv("BENCHFS_DIRECT");
  const uint64_t cs = 64 << 10;
  const int n = size();
  const std::string mine = "/where" + std::to_string(rank());
  const std::string theirs = "/where" + std::to_string((rank() + 1) % n);
  int fd = benchfs_open(mine.c_str(), O_CREAT | O_RDWR, 0644);
  REQUIRE(fd >= 0);
  struct stat st;
  REQUIRE(benchfs_fstat(fd, &st) == 0);
  REQUIRE(st.st_blksize == static_cast<blksize_t>(cs));
  const uint64_t id = static_cast<uint64_t>(st.st_ino);

  // Any n consecutive chunks lie one on each rank; every byte of a chunk
  // on the same rank; the same rank as the placement rule says.
  for (uint64_t first : {0ULL, 1ULL, 7ULL, 1000003ULL}) {
    CAPTURE(first);
    std::set<int> seen;
    for (uint64_t k = first; k < first + static_cast<uint64_t>(n); ++k) {
      CAPTURE(k);
      int r = benchfs_chunk_rank(fd, static_cast<off_t>(k * cs));
      CHECK(r >= 0);
      CHECK(r < n);
      CHECK(r == benchfs::chunk_owner(id, k, n));
      CHECK(benchfs_chunk_rank(fd, static_cast<off_t>(k * cs + 1)) == r);
      CHECK(benchfs_chunk_rank(fd, static_cast<off_t>(k * cs + cs - 1)) == r);
      seen.insert(r);
    }
    CHECK(seen.size() == static_cast<size_t>(n));
  }
  // The last byte an off_t can name, and an fd of each access mode (also
  // one another rank's file, opened read-only here) agree.
  CHECK(benchfs_chunk_rank(fd, LLONG_MAX) == benchfs::chunk_owner(id, LLONG_MAX / cs, n));
  int wfd = benchfs_open(mine.c_str(), O_WRONLY);
  int rfd = benchfs_open(mine.c_str(), O_RDONLY);
  REQUIRE(wfd >= 0);
  REQUIRE(rfd >= 0);
  for (uint64_t k = 0; k < 2 * static_cast<uint64_t>(n); ++k) {
    CHECK(benchfs_chunk_rank(wfd, static_cast<off_t>(k * cs)) == benchfs_chunk_rank(fd, static_cast<off_t>(k * cs)));
    CHECK(benchfs_chunk_rank(rfd, static_cast<off_t>(k * cs)) == benchfs_chunk_rank(fd, static_cast<off_t>(k * cs)));
  }
  REQUIRE(benchfs_close(wfd) == 0);
  REQUIRE(benchfs_close(rfd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);  // every file exists
  int tfd = benchfs_open(theirs.c_str(), O_RDONLY);
  REQUIRE(tfd >= 0);
  struct stat tst;
  REQUIRE(benchfs_fstat(tfd, &tst) == 0);
  for (uint64_t k = 0; k < 2 * static_cast<uint64_t>(n); ++k)
    CHECK(benchfs_chunk_rank(tfd, static_cast<off_t>(k * cs)) ==
          benchfs::chunk_owner(static_cast<uint64_t>(tst.st_ino), k, n));
  REQUIRE(benchfs_close(tfd) == 0);

  // Where the data goes: one writer at a time, j + 1 small writes into a
  // chunk on rank j, for every j.
  std::vector<char> buf(100);
  for (int writer = 0; writer < n; ++writer) {
    CAPTURE(writer);
    const unsigned long long before = served_writes();
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == writer) {
      for (int j = 0; j < n; ++j) {
        off_t at = -1;
        for (uint64_t k = 0; k < static_cast<uint64_t>(n) && at < 0; ++k)
          if (benchfs_chunk_rank(fd, static_cast<off_t>(k * cs)) == j) at = static_cast<off_t>(k * cs);
        REQUIRE(at >= 0);
        for (int t = 0; t <= j; ++t) {
          fill_pattern(buf, 7 + static_cast<uint64_t>(t), static_cast<uint64_t>(at) + 100 * t);
          REQUIRE(benchfs_pwrite(fd, buf.data(), buf.size(), at + 100 * t) == 100);
        }
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(served_writes() - before == static_cast<unsigned long long>(rank() + 1));
  }
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(benchfs_unlink(mine.c_str()) == 0);
  stop();
}

namespace {

// The "direct:" line of this rank's statistics: pieces copied straight
// into or out of same-host servers' backing files.
unsigned long long direct_pieces() {
  char text[8192] = {};
  FILE* out = fmemopen(text, sizeof text - 1, "w");
  REQUIRE(benchfs_stats_print(out) == 0);
  std::fclose(out);
  const char* at = std::strstr(text, "direct: ");
  return at ? std::strtoull(at + 8, nullptr, 10) : 0;
}

}  // namespace

// Backing files on tmpfs: a rank copies chunk bytes into and out of the
// files of the other ranks' servers itself (DirectIo::file).  The
// same sequence with BENCHFS_DIRECT=0 (requests only) must give the same
// bytes; the direct copies must follow the server's file through
// truncation and removal by other ranks.
// The uring backend's tmpfs files and the memory backend's memory files:
// a removed one has no links, or is sealed.
TEST_CASE("same-host direct I/O on tmpfs backing files and memory files") {
  const std::string shm = make_shared_dir("/dev/shm", "benchfs-direct-");
  REQUIRE(!shm.empty());
  const size_t cs = 64 << 10;
  const int next = (rank() + 1) % size();
  const int host_peers = ranks_on_my_host_besides_me();
  for (auto [backend, direct] : {std::pair{"uring", "1"}, {"uring", "0"}, {"memory", "1"}}) {
    CAPTURE(backend);
    CAPTURE(direct);
    setenv("BENCHFS_DIRECT", direct, 1);
    start(backend, "64k", shm);
    const std::string mine = "/direct" + std::to_string(rank());
    const std::string theirs = "/direct" + std::to_string(next);

    // 16 chunks (every server holds some) and a partial one, written in
    // records that straddle chunk boundaries, read back by the next rank.
    const size_t len = 16 * cs + 999;
    int fd = benchfs_open(mine.c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(fd >= 0);
    write_pattern(fd, 20 + rank(), 0, len, 47008);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    fd = benchfs_open(theirs.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    check_pattern(fd, 20 + next, 0, len, cs);
    REQUIRE(benchfs_close(fd) == 0);
    // With another rank on this host some chunks live on its server.  (On
    // hosts of their own, as under scripts/hosts, ranks have no same-host
    // peer and nothing is direct.)
    if (host_peers > 0) CHECK((direct_pieces() > 0) == (direct[0] == '1'));
    else CHECK(direct_pieces() == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    // A rank keeps its file open (with its copies of the servers'
    // descriptors, taken by reading) while the next rank truncates it to 0,
    // which removes the backing files; then it writes: the new bytes must
    // land in the files the servers keep now.  (Reading, not writing, takes
    // the descriptors: a write's end would come back with the close.)
    fd = benchfs_open(mine.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    check_pattern(fd, 20 + rank(), 0, 4 * cs, cs);
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_truncate(theirs.c_str(), 0) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    write_pattern(fd, 40 + rank(), cs / 2, 3 * cs, 10000);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(size_of(theirs.c_str()) == static_cast<off_t>(cs / 2 + 3 * cs));
    fd = benchfs_open(theirs.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::vector<char> head(cs / 2, 'x');
    REQUIRE(benchfs_pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()));
    CHECK(std::all_of(head.begin(), head.end(), [](char c) { return c == 0; }));
    check_pattern(fd, 40 + next, cs / 2, 3 * cs, cs);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    // Shrinking to the middle of a chunk: the rest reads as a hole after
    // the file grows again.
    fd = benchfs_open(mine.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(benchfs_ftruncate(fd, static_cast<off_t>(cs + 100)) == 0);
    write_pattern(fd, 50 + rank(), 3 * cs, 10, 10);
    std::vector<char> mid(2 * cs - 100, 'x');
    REQUIRE(benchfs_pread(fd, mid.data(), mid.size(), static_cast<off_t>(cs + 100)) ==
            static_cast<ssize_t>(mid.size()));
    CHECK(std::all_of(mid.begin(), mid.end(), [](char c) { return c == 0; }));
    REQUIRE(benchfs_close(fd) == 0);

    // Unlinked by another rank while open here: writes after that go
    // nowhere a later file of that name could see.
    fd = benchfs_open(mine.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_unlink(theirs.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    std::vector<char> late(2 * cs, 'L');
    benchfs_pwrite(fd, late.data(), late.size(), 0);  // its result is not the point
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    fd = benchfs_open(mine.c_str(), O_CREAT | O_EXCL | O_RDWR, 0644);
    REQUIRE(fd >= 0);  // a new file: nothing of the old one shows
    std::vector<char> fresh(2 * cs, 'x');
    CHECK(benchfs_pread(fd, fresh.data(), fresh.size(), 0) == 0);
    REQUIRE(benchfs_close(fd) == 0);
    REQUIRE(benchfs_unlink(mine.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_finalize() == 0);
  }
  unsetenv("BENCHFS_DIRECT");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::filesystem::remove_all(shm);
}

// Direct I/O holds a descriptor per open file and same-host server; it may
// take at most a quarter of RLIMIT_NOFILE (the rest is the application's).
// Past that, pieces go as requests: with many files open at once every
// byte still arrives, and the process never holds more than the budget.
TEST_CASE("same-host direct I/O stays within a quarter of the descriptor limit") {
  const std::string shm = make_shared_dir("/dev/shm", "benchfs-direct-");
  REQUIRE(!shm.empty());
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // The hard limit too: benchfs_init raises the soft one to it.  Only root
  // can raise it back afterwards, so this is the file's last case.
  // Budget 256: 4 ranks need 300 (100 files x 3 peers); each server also
  // keeps one descriptor per file it stores (400 at 4 ranks).
  rlimit low{1024, 1024};
  if (saved.rlim_max < 1024) low = saved;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  start("uring", "64k", shm);
  // Descriptors of other ranks' backing files held here (this rank's own
  // server keeps one per file it stores, outside the budget).
  auto peer_fds = [&shm] {
    const std::string own = "/rank" + std::to_string(rank()) + "/";
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      std::string target = std::filesystem::read_symlink(e.path(), ec).string();
      if (!ec && target.rfind(shm, 0) == 0 && target.find(own) == std::string::npos) ++n;
    }
    return n;
  };
  const size_t cs = 64 << 10, len = 4 * cs, files = 100;
  std::vector<int> fds;
  for (size_t i = 0; i < files; ++i) {
    std::string p = "/many" + std::to_string(rank()) + "." + std::to_string(i);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(fd >= 0);
    write_pattern(fd, 1000 * rank() + i, 0, len, len);  // 4 chunks: every server of 4
    fds.push_back(fd);
  }
  CHECK(peer_fds() <= low.rlim_cur / 4);
  if (ranks_on_my_host_besides_me() > 0) CHECK(peer_fds() > 0);
  else CHECK(peer_fds() == 0);
  for (size_t i = 0; i < files; ++i) check_pattern(fds[i], 1000 * rank() + i, 0, len, cs);
  for (size_t i = 0; i < files; ++i) {
    REQUIRE(benchfs_close(fds[i]) == 0);
    std::string p = "/many" + std::to_string(rank()) + "." + std::to_string(i);
    REQUIRE(benchfs_unlink(p.c_str()) == 0);
  }
  CHECK(peer_fds() == 0);  // closing a file lets its descriptors go
  REQUIRE(benchfs_finalize() == 0);
  setrlimit(RLIMIT_NOFILE, &saved);  // fails unless root
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::filesystem::remove_all(shm);
}
