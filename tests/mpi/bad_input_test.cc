// Bad input at every entry point of benchfs.h: one table of calls, each with
// the result and errno a user sees (docs/reliability.md lists the same
// table).  Every rank runs the table in its own directory at once; then a
// collective round proves every server still serves.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <set>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

// One call and what it must return: `ret`, and when ret is -1, `err`.
struct Row {
  std::string what;
  std::function<long long()> call;
  long long ret;
  int err;
};

// A failure row and a success row.
Row fails(std::string what, int err, std::function<long long()> call) {
  return Row{std::move(what), std::move(call), -1, err};
}
Row gives(std::string what, long long ret, std::function<long long()> call) {
  return Row{std::move(what), std::move(call), ret, 0};
}

// Runs every row; returns how many did not behave.
int run_table(const std::vector<Row>& rows) {
  int bad = 0;
  for (const Row& row : rows) {
    errno = 0;
    long long r = row.call();
    int e = errno;
    bool ok = r == row.ret && (row.ret != -1 || e == row.err);
    if (!ok) {
      ++bad;
      FAIL_CHECK(row.what << ": returned " << r << " errno " << e << " (" << std::string(std::strerror(e))
                          << "), expected " << row.ret << " errno " << row.err << " ("
                          << std::string(std::strerror(row.err)) << ")");
    }
  }
  return bad;
}

// A path of exactly `len` bytes: "/" and components of 200 'x'.
std::string long_path(size_t len) {
  std::string p;
  while (p.size() < len) p += "/" + std::string(200, 'x');
  p.resize(len);
  if (p.back() == '/') p.back() = 'y';
  return p;
}

// Every entry point with harmless arguments, for the "not running" rows:
// the arguments are valid, so the only possible error is that BenchFS is
// not running.
std::vector<Row> not_running_rows(benchfs_dir* stale_dir) {
  static char buf[16];
  static struct stat st;
  static struct statvfs vfs;
  return {
      fails("open", ENODEV, [] { return benchfs_open("/f", O_RDONLY); }),
      fails("open O_CREAT", ENODEV, [] { return benchfs_open("/f", O_CREAT | O_WRONLY, 0644); }),
      fails("close", ENODEV, [] { return benchfs_close(3); }),
      fails("read", ENODEV, [] { return benchfs_read(3, buf, 1); }),
      fails("write", ENODEV, [] { return benchfs_write(3, buf, 1); }),
      fails("pread", ENODEV, [] { return benchfs_pread(3, buf, 1, 0); }),
      fails("pwrite", ENODEV, [] { return benchfs_pwrite(3, buf, 1, 0); }),
      fails("lseek", ENODEV, [] { return benchfs_lseek(3, 0, SEEK_SET); }),
      fails("fsync", ENODEV, [] { return benchfs_fsync(3); }),
      fails("stat", ENODEV, [] { return benchfs_stat("/", &st); }),
      fails("fstat", ENODEV, [] { return benchfs_fstat(3, &st); }),
      fails("unlink", ENODEV, [] { return benchfs_unlink("/f"); }),
      fails("truncate", ENODEV, [] { return benchfs_truncate("/f", 0); }),
      fails("ftruncate", ENODEV, [] { return benchfs_ftruncate(3, 0); }),
      fails("chmod", ENODEV, [] { return benchfs_chmod("/f", 0644); }),
      fails("access", ENODEV, [] { return benchfs_access("/", F_OK); }),
      fails("rename", ENODEV, [] { return benchfs_rename("/a", "/b"); }),
      fails("statvfs", ENODEV, [] { return benchfs_statvfs("/", &vfs); }),
      fails("chunk_rank", ENODEV, [] { return benchfs_chunk_rank(3, 0); }),
      fails("mkdir", ENODEV, [] { return benchfs_mkdir("/d", 0755); }),
      fails("rmdir", ENODEV, [] { return benchfs_rmdir("/d"); }),
      fails("opendir", ENODEV, [] { return benchfs_opendir("/") ? 0 : -1; }),
      fails("readdir NULL", ENODEV, [] { return benchfs_readdir(nullptr) ? 0 : -1; }),
      fails("closedir NULL", ENODEV, [] { return benchfs_closedir(nullptr); }),
      fails("stats_print", ENODEV, [] { return benchfs_stats_print(stderr); }),
      fails("finalize", ENODEV, [] { return benchfs_finalize(); }),
      fails("rank", ENODEV, [] { return benchfs_rank(); }),
      fails("size", ENODEV, [] { return benchfs_size(); }),
      gives("initialized", 0, [] { return benchfs_initialized(); }),
      // A stream left open across finalize: reading it is ENODEV, closing
      // it still releases it (LSan in the sanitizer build sees a leak).
      fails("readdir of a stream from before finalize", ENODEV,
            [stale_dir] { return stale_dir && benchfs_readdir(stale_dir) ? 0 : -1; }),
      gives("closedir of a stream from before finalize", 0,
            [stale_dir] { return stale_dir ? benchfs_closedir(stale_dir) : -2; }),
  };
}

}  // namespace

TEST_CASE("before benchfs_init every entry point is ENODEV") {
  REQUIRE(benchfs_initialized() == 0);
  auto rows = not_running_rows(nullptr);
  rows.pop_back();  // no stream from an earlier instance exists yet
  rows.pop_back();
  CHECK(run_table(rows) == 0);
  CHECK(all(true));
}

TEST_CASE("after benchfs_finalize every entry point is ENODEV") {
  start("memory");
  benchfs_dir* stale = benchfs_opendir("/");
  REQUIRE(stale != nullptr);
  int fd = benchfs_open(("/left-open" + std::to_string(rank())).c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);  // finalize closes it
  stop();
  CHECK(run_table(not_running_rows(stale)) == 0);
  CHECK(all(true));
}

TEST_CASE("bad input at every entry point, then every rank still serves") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const size_t cs = 64 << 10;
    const std::string d = "/bad" + std::to_string(rank());
    const std::string file = d + "/file", dir = d + "/dir", empty = d + "/empty";
    const std::string missing = d + "/missing";
    REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
    REQUIRE(benchfs_mkdir(dir.c_str(), 0755) == 0);
    REQUIRE(benchfs_mkdir(empty.c_str(), 0755) == 0);
    int cfd = benchfs_open((dir + "/child").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(cfd >= 0);
    REQUIRE(benchfs_close(cfd) == 0);
    std::vector<char> content(100);
    fill_pattern(content, 99 + rank(), 0);
    int wfd = benchfs_open(file.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(wfd >= 0);
    REQUIRE(benchfs_write(wfd, content.data(), content.size()) == 100);
    REQUIRE(benchfs_fsync(wfd) == 0);  // size known to the owner from here
    int rfd = benchfs_open(file.c_str(), O_RDONLY);
    REQUIRE(rfd >= 0);
    int seqfd = benchfs_open(file.c_str(), O_RDWR);  // for offsets near the end of off_t
    REQUIRE(seqfd >= 0);
    int dfd = benchfs_open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    REQUIRE(dfd >= 0);
    int closed = benchfs_open(file.c_str(), O_RDONLY);
    REQUIRE(closed >= 0);
    REQUIRE(benchfs_close(closed) == 0);
    struct stat file_st;
    REQUIRE(benchfs_stat(file.c_str(), &file_st) == 0);

    static char buf[256];
    struct stat st;
    struct statvfs vfs;
    // Inode of a path, -1 if stat fails: non-normalised spellings must
    // reach the same file.
    auto ino = [&](const std::string& p) -> long long {
      struct stat s;
      return benchfs_stat(p.c_str(), &s) == 0 ? static_cast<long long>(s.st_ino) : -1;
    };
    const long long file_ino = static_cast<long long>(file_st.st_ino);
    const std::string too_long = long_path(PATH_MAX);  // PATH_MAX counts the NUL
    const std::string longest = long_path(PATH_MAX - 1);
    const std::string long_name = d + "/" + std::string(NAME_MAX + 1, 'n');
    const std::string max_name = d + "/" + std::string(NAME_MAX, 'm');

    std::vector<Row> rows = {
        // --- Lifecycle while running (not collective: they fail first).
        fails("init(MPI_COMM_NULL)", EINVAL, [] { return benchfs_init(MPI_COMM_NULL); }),
        fails("init while running", EALREADY, [] { return benchfs_init(MPI_COMM_WORLD); }),
        fails("stats_print(NULL)", EFAULT, [] { return benchfs_stats_print(nullptr); }),

        // --- NULL pointers.
        fails("open(NULL)", EFAULT, [] { return benchfs_open(nullptr, O_RDONLY); }),
        fails("open(NULL, O_CREAT)", EFAULT,
              [] { return benchfs_open(nullptr, O_CREAT | O_WRONLY, 0644); }),
        fails("stat(NULL, st)", EFAULT, [&] { return benchfs_stat(nullptr, &st); }),
        fails("stat(file, NULL)", EFAULT, [&] { return benchfs_stat(file.c_str(), nullptr); }),
        fails("fstat(fd, NULL)", EFAULT, [&] { return benchfs_fstat(rfd, nullptr); }),
        fails("unlink(NULL)", EFAULT, [] { return benchfs_unlink(nullptr); }),
        fails("mkdir(NULL)", EFAULT, [] { return benchfs_mkdir(nullptr, 0755); }),
        fails("rmdir(NULL)", EFAULT, [] { return benchfs_rmdir(nullptr); }),
        fails("truncate(NULL)", EFAULT, [] { return benchfs_truncate(nullptr, 0); }),
        fails("chmod(NULL)", EFAULT, [] { return benchfs_chmod(nullptr, 0644); }),
        fails("access(NULL)", EFAULT, [] { return benchfs_access(nullptr, F_OK); }),
        fails("rename(NULL, path)", EFAULT, [&] { return benchfs_rename(nullptr, file.c_str()); }),
        fails("rename(path, NULL)", EFAULT, [&] { return benchfs_rename(file.c_str(), nullptr); }),
        fails("statvfs(NULL, buf)", EFAULT, [&] { return benchfs_statvfs(nullptr, &vfs); }),
        fails("statvfs(path, NULL)", EFAULT, [] { return benchfs_statvfs("/", nullptr); }),
        fails("opendir(NULL)", EFAULT, [] { return benchfs_opendir(nullptr) ? 0 : -1; }),
        fails("readdir(NULL)", EBADF, [] { return benchfs_readdir(nullptr) ? 0 : -1; }),
        fails("closedir(NULL)", EBADF, [] { return benchfs_closedir(nullptr); }),
        fails("read(fd, NULL, 10)", EFAULT, [&] { return benchfs_read(rfd, nullptr, 10); }),
        fails("pread(fd, NULL, 10)", EFAULT, [&] { return benchfs_pread(rfd, nullptr, 10, 0); }),
        fails("write(fd, NULL, 10)", EFAULT, [&] { return benchfs_write(wfd, nullptr, 10); }),
        fails("pwrite(fd, NULL, 10)", EFAULT,
              [&] { return benchfs_pwrite(wfd, nullptr, 10, 0); }),
        // Zero bytes need no buffer (as Linux).
        gives("pread(fd, NULL, 0)", 0, [&] { return benchfs_pread(rfd, nullptr, 0, 0); }),
        gives("pwrite(fd, NULL, 0)", 0, [&] { return benchfs_pwrite(wfd, nullptr, 0, 0); }),

        // --- Bad flag combinations.
        fails("open access mode 3", EINVAL, [&] { return benchfs_open(file.c_str(), O_ACCMODE); }),
        fails("open with O_PATH", EINVAL, [&] { return benchfs_open(file.c_str(), O_PATH); }),
        fails("O_DIRECTORY on a file", ENOTDIR,
              [&] { return benchfs_open(file.c_str(), O_RDONLY | O_DIRECTORY); }),
        fails("O_DIRECTORY|O_WRONLY|O_TRUNC on a file (must not truncate)", ENOTDIR,
              [&] { return benchfs_open(file.c_str(), O_WRONLY | O_DIRECTORY | O_TRUNC); }),
        fails("O_CREAT|O_DIRECTORY (must not create)", EINVAL,
              [&] { return benchfs_open(missing.c_str(), O_CREAT | O_DIRECTORY | O_RDONLY, 0755); }),
        fails("O_CREAT|O_EXCL on an existing file", EEXIST,
              [&] { return benchfs_open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644); }),
        fails("O_CREAT|O_EXCL on an existing directory", EEXIST,
              [&] { return benchfs_open(dir.c_str(), O_CREAT | O_EXCL | O_RDONLY, 0644); }),
        fails("O_CREAT on an existing directory", EISDIR,
              [&] { return benchfs_open(dir.c_str(), O_CREAT | O_RDONLY, 0644); }),
        fails("directory O_WRONLY", EISDIR, [&] { return benchfs_open(dir.c_str(), O_WRONLY); }),
        fails("directory O_RDWR", EISDIR, [&] { return benchfs_open(dir.c_str(), O_RDWR); }),
        fails("directory O_RDONLY|O_TRUNC", EISDIR,
              [&] { return benchfs_open(dir.c_str(), O_RDONLY | O_TRUNC); }),
        fails("\"/\" O_WRONLY", EISDIR, [] { return benchfs_open("/", O_WRONLY); }),
        fails("\"/\" O_CREAT", EISDIR, [] { return benchfs_open("/", O_CREAT | O_RDONLY, 0644); }),
        fails("open a missing file", ENOENT, [&] { return benchfs_open(missing.c_str(), O_RDONLY); }),
        fails("write on O_RDONLY", EBADF, [&] { return benchfs_write(rfd, buf, 1); }),
        fails("pwrite on O_RDONLY", EBADF, [&] { return benchfs_pwrite(rfd, buf, 1, 0); }),
        fails("ftruncate on O_RDONLY", EINVAL, [&] { return benchfs_ftruncate(rfd, 0); }),
        fails("read on O_WRONLY", EBADF, [&] { return benchfs_read(wfd, buf, 1); }),
        fails("pread on O_WRONLY", EBADF, [&] { return benchfs_pread(wfd, buf, 1, 0); }),
        fails("read on a directory", EISDIR, [&] { return benchfs_read(dfd, buf, 1); }),
        fails("pread on a directory", EISDIR, [&] { return benchfs_pread(dfd, buf, 1, 0); }),
        fails("write on a directory", EBADF, [&] { return benchfs_write(dfd, buf, 1); }),
        fails("chunk_rank on a directory", EISDIR, [&] { return benchfs_chunk_rank(dfd, 0); }),
        fails("chunk_rank on a directory, offset -1 (the fd first)", EISDIR,
              [&] { return benchfs_chunk_rank(dfd, -1); }),
        // Any access mode will do: it reads nothing.
        gives("chunk_rank on O_RDONLY and O_WRONLY is a rank", 0, [&] {
          int r = benchfs_chunk_rank(rfd, 0), w = benchfs_chunk_rank(wfd, 0);
          return r >= 0 && r < size() && w == r ? 0 : -2;
        }),
        fails("ftruncate on a directory", EINVAL, [&] { return benchfs_ftruncate(dfd, 0); }),
        fails("access mode 0x10", EINVAL, [&] { return benchfs_access(file.c_str(), 0x10); }),

        // --- Negative and huge offsets and lengths.
        fails("pread offset -1", EINVAL, [&] { return benchfs_pread(rfd, buf, 1, -1); }),
        fails("pwrite offset -1", EINVAL, [&] { return benchfs_pwrite(wfd, buf, 1, -1); }),
        fails("pread offset+len past off_t", EINVAL,
              [&] { return benchfs_pread(rfd, buf, 2, LLONG_MAX); }),
        fails("pwrite offset+len past off_t", EINVAL,
              [&] { return benchfs_pwrite(wfd, buf, 2, LLONG_MAX); }),
        fails("pread len > SSIZE_MAX", EINVAL,
              [&] { return benchfs_pread(rfd, buf, size_t(SSIZE_MAX) + 1, 0); }),
        fails("pwrite len > SSIZE_MAX", EINVAL,
              [&] { return benchfs_pwrite(wfd, buf, size_t(SSIZE_MAX) + 1, 0); }),
        fails("read len SIZE_MAX", EINVAL, [&] { return benchfs_read(rfd, buf, SIZE_MAX); }),
        fails("write len SIZE_MAX", EINVAL, [&] { return benchfs_write(wfd, buf, SIZE_MAX); }),
        gives("pread at LLONG_MAX-1 is end of file", 0,
              [&] { return benchfs_pread(rfd, buf, 1, LLONG_MAX - 1); }),
        fails("read from offset LLONG_MAX-5, 10 bytes", EINVAL, [&] {
          if (benchfs_lseek(seqfd, LLONG_MAX - 5, SEEK_SET) != LLONG_MAX - 5) return -2LL;
          return static_cast<long long>(benchfs_read(seqfd, buf, 10));
        }),
        fails("write at offset LLONG_MAX-5, 10 bytes", EINVAL, [&] {
          if (benchfs_lseek(seqfd, LLONG_MAX - 5, SEEK_SET) != LLONG_MAX - 5) return -2LL;
          return static_cast<long long>(benchfs_write(seqfd, buf, 10));
        }),
        fails("chunk_rank offset -1", EINVAL, [&] { return benchfs_chunk_rank(rfd, -1); }),
        fails("chunk_rank offset LLONG_MIN", EINVAL, [&] { return benchfs_chunk_rank(wfd, LLONG_MIN); }),
        gives("chunk_rank at LLONG_MAX is a rank", 0, [&] {
          int r = benchfs_chunk_rank(rfd, LLONG_MAX);
          return r >= 0 && r < size() ? 0 : -2;
        }),
        fails("lseek SEEK_SET -1", EINVAL, [&] { return benchfs_lseek(rfd, -1, SEEK_SET); }),
        fails("lseek SEEK_END -101 (before 0)", EINVAL,
              [&] { return benchfs_lseek(rfd, -101, SEEK_END); }),
        fails("lseek SEEK_END LLONG_MAX", EOVERFLOW,
              [&] { return benchfs_lseek(rfd, LLONG_MAX, SEEK_END); }),
        fails("lseek whence 99", EINVAL, [&] { return benchfs_lseek(rfd, 0, 99); }),
        fails("lseek whence -1", EINVAL, [&] { return benchfs_lseek(rfd, 0, -1); }),
        gives("lseek SEEK_END -100 (to 0)", 0, [&] { return benchfs_lseek(rfd, -100, SEEK_END); }),
        fails("truncate -1", EINVAL, [&] { return benchfs_truncate(file.c_str(), -1); }),
        fails("truncate LLONG_MIN", EINVAL, [&] { return benchfs_truncate(file.c_str(), LLONG_MIN); }),
        fails("ftruncate -1", EINVAL, [&] { return benchfs_ftruncate(wfd, -1); }),
        fails("truncate a directory", EISDIR, [&] { return benchfs_truncate(dir.c_str(), 0); }),

        // --- Empty, relative and over-long paths.
        fails("stat \"\"", ENOENT, [&] { return benchfs_stat("", &st); }),
        fails("open \"\"", ENOENT, [] { return benchfs_open("", O_CREAT | O_WRONLY, 0644); }),
        fails("stat relative", EINVAL, [&] { return benchfs_stat("file", &st); }),
        fails("mkdir relative", EINVAL, [] { return benchfs_mkdir("a/b", 0755); }),
        fails("stat ./relative", EINVAL, [&] { return benchfs_stat("./x", &st); }),
        fails("stat PATH_MAX bytes", ENAMETOOLONG, [&] { return benchfs_stat(too_long.c_str(), &st); }),
        fails("mkdir PATH_MAX bytes", ENAMETOOLONG,
              [&] { return benchfs_mkdir(too_long.c_str(), 0755); }),
        fails("stat PATH_MAX-1 bytes is allowed (missing)", ENOENT,
              [&] { return benchfs_stat(longest.c_str(), &st); }),
        fails("open component NAME_MAX+1", ENAMETOOLONG,
              [&] { return benchfs_open(long_name.c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("mkdir component NAME_MAX+1", ENAMETOOLONG,
              [&] { return benchfs_mkdir(long_name.c_str(), 0755); }),
        fails("unlink component NAME_MAX+1", ENAMETOOLONG,
              [&] { return benchfs_unlink(long_name.c_str()); }),
        fails("rename to component NAME_MAX+1", ENAMETOOLONG,
              [&] { return benchfs_rename(file.c_str(), long_name.c_str()); }),
        gives("component of NAME_MAX is allowed", 0, [&] {
          int fd = benchfs_open(max_name.c_str(), O_CREAT | O_WRONLY, 0644);
          if (fd < 0) return -2;
          return benchfs_close(fd) == 0 && benchfs_unlink(max_name.c_str()) == 0 ? 0 : -3;
        }),

        // --- Non-normalised paths: normalised lexically, the same file.
        gives("\"//a//b\"", file_ino, [&] { return ino("/" + d + "//file"); }),
        gives("\"/a/./b\"", file_ino, [&] { return ino(d + "/./file"); }),
        gives("\"/a/../b\"", file_ino, [&] { return ino(d + "/dir/../file"); }),
        gives("\"..\" of a missing directory (lexical)", file_ino,
              [&] { return ino(missing + "/../file"); }),
        gives("\"/..\" is \"/\"", ino("/"), [&] { return ino("/../.."); }),
        gives("trailing slash on a directory", ino(dir), [&] { return ino(dir + "/"); }),
        // A trailing slash names a directory.
        fails("stat file/", ENOTDIR, [&] { return benchfs_stat((file + "/").c_str(), &st); }),
        fails("stat file/.", ENOTDIR, [&] { return benchfs_stat((file + "/.").c_str(), &st); }),
        fails("open file/", ENOTDIR, [&] { return benchfs_open((file + "/").c_str(), O_RDONLY); }),
        fails("open file/ O_CREAT", EISDIR,
              [&] { return benchfs_open((file + "/").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("open missing/ O_CREAT (must not create)", EISDIR,
              [&] { return benchfs_open((missing + "/").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("unlink file/", ENOTDIR, [&] { return benchfs_unlink((file + "/").c_str()); }),
        fails("unlink dir/", EISDIR, [&] { return benchfs_unlink((dir + "/").c_str()); }),
        fails("truncate file/", ENOTDIR, [&] { return benchfs_truncate((file + "/").c_str(), 0); }),
        fails("chmod file/", ENOTDIR, [&] { return benchfs_chmod((file + "/").c_str(), 0600); }),
        fails("access file/", ENOTDIR, [&] { return benchfs_access((file + "/").c_str(), F_OK); }),
        fails("statvfs file/", ENOTDIR, [&] { return benchfs_statvfs((file + "/").c_str(), &vfs); }),
        fails("opendir file/", ENOTDIR,
              [&] { return benchfs_opendir((file + "/").c_str()) ? 0 : -1; }),
        fails("mkdir file/", EEXIST, [&] { return benchfs_mkdir((file + "/").c_str(), 0755); }),
        fails("rmdir file/", ENOTDIR, [&] { return benchfs_rmdir((file + "/").c_str()); }),
        fails("rename file/ x", ENOTDIR,
              [&] { return benchfs_rename((file + "/").c_str(), (d + "/x").c_str()); }),
        fails("rename file x/", ENOTDIR,
              [&] { return benchfs_rename(file.c_str(), (d + "/x/").c_str()); }),
        fails("stat missing/", ENOENT, [&] { return benchfs_stat((missing + "/").c_str(), &st); }),

        // --- Missing parents.
        fails("open O_CREAT, missing parent", ENOENT,
              [&] { return benchfs_open((missing + "/x").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("open O_CREAT, missing grandparent", ENOENT,
              [&] { return benchfs_open((missing + "/x/y").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("mkdir, missing parent", ENOENT,
              [&] { return benchfs_mkdir((missing + "/x").c_str(), 0755); }),
        fails("stat, missing parent", ENOENT,
              [&] { return benchfs_stat((missing + "/x").c_str(), &st); }),
        fails("rename to a missing parent", ENOENT,
              [&] { return benchfs_rename(file.c_str(), (missing + "/x").c_str()); }),
        fails("rename a missing file", ENOENT,
              [&] { return benchfs_rename(missing.c_str(), (d + "/y").c_str()); }),
        fails("unlink missing", ENOENT, [&] { return benchfs_unlink(missing.c_str()); }),
        fails("rmdir missing", ENOENT, [&] { return benchfs_rmdir(missing.c_str()); }),
        fails("truncate missing", ENOENT, [&] { return benchfs_truncate(missing.c_str(), 0); }),
        fails("chmod missing", ENOENT, [&] { return benchfs_chmod(missing.c_str(), 0644); }),
        fails("access missing", ENOENT, [&] { return benchfs_access(missing.c_str(), F_OK); }),
        fails("opendir missing", ENOENT, [&] { return benchfs_opendir(missing.c_str()) ? 0 : -1; }),
        fails("statvfs missing", ENOENT, [&] { return benchfs_statvfs(missing.c_str(), &vfs); }),

        // --- ENOTDIR through a file.
        fails("stat file/x", ENOTDIR, [&] { return benchfs_stat((file + "/x").c_str(), &st); }),
        fails("stat file/x/y", ENOTDIR, [&] { return benchfs_stat((file + "/x/y").c_str(), &st); }),
        fails("open file/x", ENOTDIR,
              [&] { return benchfs_open((file + "/x").c_str(), O_RDONLY); }),
        fails("open O_CREAT file/x", ENOTDIR,
              [&] { return benchfs_open((file + "/x").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("open O_CREAT file/x/y", ENOTDIR,
              [&] { return benchfs_open((file + "/x/y").c_str(), O_CREAT | O_WRONLY, 0644); }),
        fails("mkdir file/x", ENOTDIR, [&] { return benchfs_mkdir((file + "/x").c_str(), 0755); }),
        fails("unlink file/x", ENOTDIR, [&] { return benchfs_unlink((file + "/x").c_str()); }),
        fails("rmdir file/x", ENOTDIR, [&] { return benchfs_rmdir((file + "/x").c_str()); }),
        fails("truncate file/x", ENOTDIR, [&] { return benchfs_truncate((file + "/x").c_str(), 0); }),
        fails("chmod file/x", ENOTDIR, [&] { return benchfs_chmod((file + "/x").c_str(), 0644); }),
        fails("access file/x", ENOTDIR, [&] { return benchfs_access((file + "/x").c_str(), F_OK); }),
        fails("opendir file/x", ENOTDIR,
              [&] { return benchfs_opendir((file + "/x").c_str()) ? 0 : -1; }),
        fails("opendir file", ENOTDIR, [&] { return benchfs_opendir(file.c_str()) ? 0 : -1; }),
        fails("rename file/x y", ENOTDIR,
              [&] { return benchfs_rename((file + "/x").c_str(), (d + "/y").c_str()); }),
        fails("rename dir file/x", ENOTDIR,
              [&] { return benchfs_rename(empty.c_str(), (file + "/x").c_str()); }),
        fails("rename file file/x", ENOTDIR,
              [&] { return benchfs_rename(file.c_str(), (file + "/x").c_str()); }),

        // --- The namespace's own rules.
        fails("rmdir non-empty", ENOTEMPTY, [&] { return benchfs_rmdir(dir.c_str()); }),
        fails("rmdir \"/\"", EBUSY, [] { return benchfs_rmdir("/"); }),
        fails("rmdir \"//.\"", EBUSY, [] { return benchfs_rmdir("//."); }),
        fails("rmdir a file", ENOTDIR, [&] { return benchfs_rmdir(file.c_str()); }),
        fails("unlink a directory", EISDIR, [&] { return benchfs_unlink(dir.c_str()); }),
        fails("unlink \"/\"", EISDIR, [] { return benchfs_unlink("/"); }),
        fails("mkdir \"/\"", EEXIST, [] { return benchfs_mkdir("/", 0755); }),
        fails("mkdir existing directory", EEXIST, [&] { return benchfs_mkdir(dir.c_str(), 0755); }),
        fails("mkdir existing file", EEXIST, [&] { return benchfs_mkdir(file.c_str(), 0755); }),
        fails("rename \"/\"", EBUSY, [&] { return benchfs_rename("/", (d + "/r").c_str()); }),
        fails("rename onto \"/\"", EBUSY, [&] { return benchfs_rename(empty.c_str(), "/"); }),
        fails("rename into its own subtree", EINVAL,
              [&] { return benchfs_rename(empty.c_str(), (empty + "/sub").c_str()); }),
        fails("rename a file onto a directory", EISDIR,
              [&] { return benchfs_rename(file.c_str(), empty.c_str()); }),
        fails("rename a directory onto a file", ENOTDIR,
              [&] { return benchfs_rename(empty.c_str(), file.c_str()); }),
        fails("rename onto a non-empty directory", ENOTEMPTY,
              [&] { return benchfs_rename(empty.c_str(), dir.c_str()); }),
        fails("rename a non-empty directory (unsupported)", EXDEV,
              [&] { return benchfs_rename(dir.c_str(), (d + "/moved").c_str()); }),
    };

    // --- Invalid fds at every fd entry point.
    const std::vector<std::pair<std::string, int>> bad_fds = {
        {"-1", -1}, {"0", 0}, {"1", 1}, {"2", 2}, {"closed", closed},
        {"never opened", 1000}, {"INT_MAX", INT_MAX}, {"INT_MIN", INT_MIN}};
    for (const auto& [name, fd] : bad_fds) {
      int f = fd;
      rows.push_back(fails("close fd " + name, EBADF, [f] { return benchfs_close(f); }));
      rows.push_back(fails("read fd " + name, EBADF, [f] { return benchfs_read(f, buf, 1); }));
      rows.push_back(fails("write fd " + name, EBADF, [f] { return benchfs_write(f, buf, 1); }));
      rows.push_back(fails("pread fd " + name, EBADF, [f] { return benchfs_pread(f, buf, 1, 0); }));
      rows.push_back(
          fails("pwrite fd " + name, EBADF, [f] { return benchfs_pwrite(f, buf, 1, 0); }));
      rows.push_back(
          fails("lseek fd " + name, EBADF, [f] { return benchfs_lseek(f, 0, SEEK_SET); }));
      rows.push_back(fails("fsync fd " + name, EBADF, [f] { return benchfs_fsync(f); }));
      rows.push_back(fails("fstat fd " + name, EBADF, [f, &st] { return benchfs_fstat(f, &st); }));
      rows.push_back(fails("ftruncate fd " + name, EBADF, [f] { return benchfs_ftruncate(f, 0); }));
      rows.push_back(fails("chunk_rank fd " + name, EBADF, [f] { return benchfs_chunk_rank(f, 0); }));
      rows.push_back(
          fails("chunk_rank fd " + name + ", offset -1 (the fd first)", EBADF, [f] { return benchfs_chunk_rank(f, -1); }));
    }

    CHECK(run_table(rows) == 0);

    // The failed calls changed nothing: the file keeps its size and bytes,
    // and the directory holds exactly what the set-up made.
    REQUIRE(benchfs_stat(file.c_str(), &st) == 0);
    CHECK(st.st_size == 100);
    std::vector<char> back(100);
    CHECK(benchfs_pread(rfd, back.data(), back.size(), 0) == 100);
    CHECK(back == content);
    std::set<std::string> names;
    benchfs_dir* ds = benchfs_opendir(d.c_str());
    REQUIRE(ds != nullptr);
    while (dirent* e = benchfs_readdir(ds)) names.insert(e->d_name);
    CHECK(benchfs_closedir(ds) == 0);
    CHECK(names == std::set<std::string>{".", "..", "dir", "empty", "file"});

    for (int fd : {wfd, rfd, seqfd, dfd}) CHECK(benchfs_close(fd) == 0);
    CHECK(benchfs_unlink((dir + "/child").c_str()) == 0);
    CHECK(benchfs_unlink(file.c_str()) == 0);
    CHECK(benchfs_rmdir(dir.c_str()) == 0);
    CHECK(benchfs_rmdir(empty.c_str()) == 0);
    CHECK(benchfs_rmdir(d.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    // Every rank still serves: each writes a file with chunks on every
    // server, then reads another rank's file back.
    const size_t len = cs * (2 * size() + 1) + 123;
    const std::string mine = "/after" + std::to_string(rank());
    std::vector<char> data(len);
    fill_pattern(data, 1000 + rank(), 0);
    int fd = benchfs_open(mine.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    CHECK(benchfs_pwrite(fd, data.data(), len, 0) == static_cast<ssize_t>(len));
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    int other = (rank() + 1) % size();
    const std::string theirs = "/after" + std::to_string(other);
    REQUIRE(benchfs_stat(theirs.c_str(), &st) == 0);
    CHECK(st.st_size == static_cast<off_t>(len));
    fd = benchfs_open(theirs.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    std::vector<char> got(len);
    CHECK(benchfs_pread(fd, got.data(), len, 0) == static_cast<ssize_t>(len));
    CHECK(first_mismatch(got, 1000 + other, 0, len) == -1);
    REQUIRE(benchfs_close(fd) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK(benchfs_unlink(mine.c_str()) == 0);
    REQUIRE(all(true));
    stop();
  }
}
