// Where data lives, on both backends: benchfs_chunk_rank names the server
// that stores a chunk, and same-host direct I/O (a rank copying into and out
// of other ranks' backing files itself).  Part of the io_test program.
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <sstream>

#include "common/placement.h"  // to compare benchfs_chunk_rank with the rule itself
#include "mpi_test.h"

using namespace benchfs_test;

namespace {

// This rank's statistics table, as benchfs_stats_print writes it.
std::string stats_text() {
  char text[8192] = {};
  FILE* out = fmemopen(text, sizeof text - 1, "w");
  REQUIRE(benchfs_stats_print(out) == 0);
  std::fclose(out);
  return text;
}

// Write requests this rank's server has served (the "write" row of the
// statistics table, column "served").
unsigned long long served_writes() {
  std::istringstream lines(stats_text());
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
  const std::string text = stats_text();
  const char* at = std::strstr(text.c_str(), "direct: ");
  return at ? std::strtoull(at + 8, nullptr, 10) : 0;
}

}  // namespace

// Arenas on tmpfs or in memory files: a rank copies chunk bytes into and
// out of the large arenas of the other ranks' servers itself
// (DirectIo::locate).  The same sequence with BENCHFS_DIRECT=0 (requests
// only) must give the same bytes; the direct copies must follow the
// server's bytes through truncation and removal by other ranks.
TEST_CASE("same-host direct I/O on tmpfs and memory arenas") {
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

// Direct I/O holds a few descriptors per same-host server (duplicates of
// its large arena's 4 files), however many files are open; a server holds
// its arenas however many files it stores.  With many files open at once every byte
// still arrives.
TEST_CASE("same-host direct I/O holds a few descriptors per server, not per file") {
  const std::string shm = make_shared_dir("/dev/shm", "benchfs-direct-");
  REQUIRE(!shm.empty());
  start("uring", "64k", shm);
  // Descriptors of other ranks' arenas held here (not this rank's, not the
  // job's lock file beside the job directory).
  auto peer_fds = [&shm] {
    const std::string own = "/rank" + std::to_string(rank()) + "/";
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      std::string target = std::filesystem::read_symlink(e.path(), ec).string();
      if (!ec && target.rfind(shm, 0) == 0 && target.find(own) == std::string::npos &&
          target.find("/rank") != std::string::npos)
        ++n;
    }
    return n;
  };
  auto all_fds = [] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) (void)e, ++n;
    return n;
  };
  const size_t before = all_fds();
  // 8 chunks: every server of 4 holds 2, past its small-file range.
  const size_t cs = 64 << 10, len = 8 * cs, files = 100;
  std::vector<int> fds;
  for (size_t i = 0; i < files; ++i) {
    std::string p = "/many" + std::to_string(rank()) + "." + std::to_string(i);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(fd >= 0);
    write_pattern(fd, 1000 * rank() + i, 0, len, len);
    fds.push_back(fd);
  }
  const size_t peers = static_cast<size_t>(ranks_on_my_host_besides_me());
  const size_t held = peer_fds();
  CHECK(held <= 4 * peers);
  CHECK((held > 0) == (peers > 0));
  // (UCX may open a few of its own on first contact with a peer.)
  CHECK(all_fds() <= before + held + 8);
  for (size_t i = 0; i < files; ++i) check_pattern(fds[i], 1000 * rank() + i, 0, len, cs);
  for (size_t i = 0; i < files; ++i) {
    REQUIRE(benchfs_close(fds[i]) == 0);
    std::string p = "/many" + std::to_string(rank()) + "." + std::to_string(i);
    REQUIRE(benchfs_unlink(p.c_str()) == 0);
  }
  CHECK(peer_fds() == held);  // kept for the next file, until finalize
  REQUIRE(benchfs_finalize() == 0);
  CHECK(peer_fds() == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) std::filesystem::remove_all(shm);
}
