// The core I/O path across ranks, on both backends.  Where data lives
// (benchfs_chunk_rank, same-host direct I/O) is in io_locality_test.cc.
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

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

constexpr size_t MiB = 1 << 20;

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
    if (rank() == 0) CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
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
    if (rank() == 0) CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
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
