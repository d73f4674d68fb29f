// Directories and names across ranks: the root, the POSIX semantics of
// mkdir, rmdir, create, unlink and rename and every errno they give, from
// ranks that own the path and ranks that do not, and directories removed,
// moved or replaced under other ranks.  The same program tests directories
// at scale (namespace_scale_test.cc) and file metadata
// (namespace_metadata_test.cc).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "mpi_test.h"
#include "namespace_helpers.h"

using namespace benchfs_test;

namespace {

void write_text(const std::string& path, const std::string& text) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(benchfs_close(fd) == 0);
}

// errno of creating (and closing) a file: 0 on success.
int create_file(const std::string& path) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return errno;
  return benchfs_close(fd) == 0 ? 0 : errno;
}

int mkdir_errno(const std::string& path) {
  return benchfs_mkdir(path.c_str(), 0755) == 0 ? 0 : errno;
}

}  // namespace

TEST_CASE("root exists and is a directory") {
  start("memory");
  struct stat st;
  REQUIRE(benchfs_stat("/", &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(benchfs_stat("//./", &st) == 0);
  CHECK(benchfs_mkdir("/", 0755) == -1);
  CHECK(errno == EEXIST);
  CHECK(benchfs_rmdir("/") == -1);
  CHECK(errno == EBUSY);
  stop();
}

TEST_CASE("mkdir, rmdir and the errors of a POSIX namespace") {
  start("memory");
  std::string d = "/ns" + std::to_string(rank());
  REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
  CHECK(benchfs_mkdir(d.c_str(), 0755) == -1);
  CHECK(errno == EEXIST);
  struct stat st;
  REQUIRE(benchfs_stat((d + "/").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0755);

  // Missing parent, parent that is a file.
  CHECK(benchfs_mkdir((d + "/a/b").c_str(), 0755) == -1);
  CHECK(errno == ENOENT);
  std::string f = d + "/file";
  int fd = benchfs_open(f.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(benchfs_open((f + "/x").c_str(), O_CREAT | O_WRONLY, 0644) == -1);
  CHECK(errno == ENOTDIR);
  CHECK(benchfs_mkdir((f + "/x").c_str(), 0755) == -1);
  CHECK(errno == ENOTDIR);

  // Directories are not files and files are not directories.
  CHECK(benchfs_unlink(d.c_str()) == -1);
  CHECK(errno == EISDIR);
  CHECK(benchfs_open(d.c_str(), O_WRONLY) == -1);
  CHECK(errno == EISDIR);
  CHECK(benchfs_rmdir(f.c_str()) == -1);
  CHECK(errno == ENOTDIR);
  CHECK(benchfs_open(f.c_str(), O_RDONLY | O_DIRECTORY) == -1);
  CHECK(errno == ENOTDIR);

  // A directory with an entry is not removed; without, it is.
  CHECK(benchfs_rmdir(d.c_str()) == -1);
  CHECK(errno == ENOTEMPTY);
  CHECK(benchfs_unlink(f.c_str()) == 0);
  CHECK(benchfs_rmdir(d.c_str()) == 0);
  CHECK(benchfs_stat(d.c_str(), &st) == -1);
  CHECK(errno == ENOENT);
  CHECK(benchfs_rmdir(d.c_str()) == -1);
  CHECK(errno == ENOENT);

  // Names and paths too long.
  std::string long_name = "/" + std::string(NAME_MAX + 1, 'n');
  CHECK(benchfs_mkdir(long_name.c_str(), 0755) == -1);
  CHECK(errno == ENAMETOOLONG);
  std::string long_path;
  while (long_path.size() < PATH_MAX) long_path += "/abcdefgh";
  CHECK(benchfs_open(long_path.c_str(), O_CREAT | O_WRONLY, 0644) == -1);
  CHECK(errno == ENAMETOOLONG);
  stop();
}

TEST_CASE("a directory made on one rank holds files made on every rank") {
  start("uring");
  if (rank() == 0) REQUIRE(benchfs_mkdir("/common", 0777) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  std::string f = "/common/f" + std::to_string(rank());
  int fd = benchfs_open(f.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    CHECK(benchfs_rmdir("/common") == -1);
    CHECK(errno == ENOTEMPTY);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(f.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) CHECK(benchfs_rmdir("/common") == 0);
  stop();
}

TEST_CASE("every errno, from ranks that own the path and ranks that do not") {
  start("memory");
  // Rank 0 builds the fixture; then every rank, in turn, runs the table, so
  // each path is tried both from its owner and (with 2+ ranks) from others.
  if (rank() == 0) {
    REQUIRE(benchfs_mkdir("/e", 0755) == 0);
    REQUIRE(benchfs_mkdir("/e/dir", 0755) == 0);
    REQUIRE(benchfs_mkdir("/e/full", 0755) == 0);
    create_empty("/e/full/x");
    create_empty("/e/file");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  std::string long_name = "/e/" + std::string(NAME_MAX + 1, 'n');
  std::string long_path;
  while (long_path.size() < PATH_MAX) long_path += "/abcdefgh";
  struct Case {
    const char* what;
    std::function<int()> call;
    int expected;
  };
  std::vector<Case> table = {
      {"create with missing parent", [] { return benchfs_open("/e/none/f", O_CREAT | O_WRONLY, 0644); }, ENOENT},
      {"create under a file", [] { return benchfs_open("/e/file/f", O_CREAT | O_WRONLY, 0644); }, ENOTDIR},
      {"mkdir with missing parent", [] { return benchfs_mkdir("/e/none/d", 0755); }, ENOENT},
      {"mkdir under a file", [] { return benchfs_mkdir("/e/file/d", 0755); }, ENOTDIR},
      {"mkdir existing dir", [] { return benchfs_mkdir("/e/dir", 0755); }, EEXIST},
      {"mkdir existing file", [] { return benchfs_mkdir("/e/file", 0755); }, EEXIST},
      {"rmdir non-empty", [] { return benchfs_rmdir("/e/full"); }, ENOTEMPTY},
      {"rmdir a file", [] { return benchfs_rmdir("/e/file"); }, ENOTDIR},
      {"rmdir missing", [] { return benchfs_rmdir("/e/none"); }, ENOENT},
      {"unlink a directory", [] { return benchfs_unlink("/e/dir"); }, EISDIR},
      {"unlink missing", [] { return benchfs_unlink("/e/none"); }, ENOENT},
      {"open a directory for writing", [] { return benchfs_open("/e/dir", O_WRONLY); }, EISDIR},
      {"open a directory read-write", [] { return benchfs_open("/e/dir", O_RDWR); }, EISDIR},
      {"open missing without O_CREAT", [] { return benchfs_open("/e/none", O_RDONLY); }, ENOENT},
      {"O_EXCL on existing", [] { return benchfs_open("/e/file", O_CREAT | O_EXCL | O_WRONLY, 0644); }, EEXIST},
      {"O_DIRECTORY on a file", [] { return benchfs_open("/e/file", O_RDONLY | O_DIRECTORY); }, ENOTDIR},
      {"name too long", [&] { return benchfs_mkdir(long_name.c_str(), 0755); }, ENAMETOOLONG},
      {"path too long", [&] { return benchfs_open(long_path.c_str(), O_CREAT | O_WRONLY, 0644); }, ENAMETOOLONG},
      {"relative path", [] { return benchfs_mkdir("e/dir", 0755); }, EINVAL},
      {"stat missing", [] { struct stat st; return benchfs_stat("/e/none", &st); }, ENOENT},
      {"opendir a file", [] { return benchfs_opendir("/e/file") ? 0 : -1; }, ENOTDIR},
      {"opendir missing", [] { return benchfs_opendir("/e/none") ? 0 : -1; }, ENOENT},
      {"truncate a directory", [] { return benchfs_truncate("/e/dir", 0); }, EISDIR},
      {"truncate missing", [] { return benchfs_truncate("/e/none", 0); }, ENOENT},
      {"truncate negative", [] { return benchfs_truncate("/e/file", -1); }, EINVAL},
      {"chmod missing", [] { return benchfs_chmod("/e/none", 0644); }, ENOENT},
      {"access missing", [] { return benchfs_access("/e/none", F_OK); }, ENOENT},
      {"access bad mode", [] { return benchfs_access("/e/file", 0x100); }, EINVAL},
      {"rename missing", [] { return benchfs_rename("/e/none", "/e/other"); }, ENOENT},
      {"rename into missing dir", [] { return benchfs_rename("/e/file", "/e/none/file"); }, ENOENT},
      {"rename file over dir", [] { return benchfs_rename("/e/file", "/e/dir"); }, EISDIR},
      {"rename dir over file", [] { return benchfs_rename("/e/dir", "/e/file"); }, ENOTDIR},
      {"rename dir over non-empty dir", [] { return benchfs_rename("/e/dir", "/e/full"); }, ENOTEMPTY},
      {"rename non-empty dir", [] { return benchfs_rename("/e/full", "/e/moved"); }, EXDEV},
      {"rename dir into itself", [] { return benchfs_rename("/e/dir", "/e/dir/sub"); }, EINVAL},
      {"rename root", [] { return benchfs_rename("/", "/x"); }, EBUSY},
      {"statvfs missing", [] { struct statvfs v; return benchfs_statvfs("/e/none", &v); }, ENOENT},
      {"NULL path", [] { return benchfs_mkdir(nullptr, 0755); }, EFAULT},
  };
  for (int turn = 0; turn < size(); ++turn) {
    if (rank() == turn) {
      for (auto& c : table) {
        CAPTURE(c.what);
        errno = 0;
        CHECK(c.call() == -1);
        CHECK(errno == c.expected);
      }
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  // Nothing above changed the fixture, and every rank still works.
  auto e = list_dir("/e");
  CHECK(e.size() == 3);
  CHECK(list_dir("/e/full").size() == 1);
  stop();
}

TEST_CASE("rename moves files and empty directories, data intact") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    std::string d = "/rn" + std::to_string(rank());
    std::string other = "/rn" + std::to_string((rank() + 1) % size());
    REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
    REQUIRE(benchfs_mkdir((d + "/sub").c_str(), 0755) == 0);
    // A file with data over several chunks.
    std::vector<char> data(300 << 10);
    fill_pattern(data, 11, 0);
    int fd = benchfs_open((d + "/a").c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(benchfs_write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    REQUIRE(benchfs_close(fd) == 0);
    struct stat before, after;
    REQUIRE(benchfs_stat((d + "/a").c_str(), &before) == 0);

    // Into another directory: the data follows.
    REQUIRE(benchfs_rename((d + "/a").c_str(), (d + "/sub/b").c_str()) == 0);
    CHECK(benchfs_stat((d + "/a").c_str(), &after) == -1);
    CHECK(errno == ENOENT);
    REQUIRE(benchfs_stat((d + "/sub/b").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK(after.st_size == before.st_size);
    std::vector<char> back(data.size());
    fd = benchfs_open((d + "/sub/b").c_str(), O_RDONLY);
    REQUIRE(benchfs_read(fd, back.data(), back.size()) == static_cast<ssize_t>(back.size()));
    CHECK(first_mismatch(back, 11, 0, back.size()) == -1);
    REQUIRE(benchfs_close(fd) == 0);

    // File over file: the target is replaced and its chunks reclaimed.
    write_text(d + "/victim", std::string(200 << 10, 'v'));
    REQUIRE(benchfs_rename((d + "/sub/b").c_str(), (d + "/victim").c_str()) == 0);
    REQUIRE(benchfs_stat((d + "/victim").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    fd = benchfs_open((d + "/victim").c_str(), O_RDONLY);
    REQUIRE(benchfs_read(fd, back.data(), back.size()) == static_cast<ssize_t>(back.size()));
    CHECK(first_mismatch(back, 11, 0, back.size()) == -1);
    REQUIRE(benchfs_close(fd) == 0);
    CHECK(list_dir(d).size() == 2);  // sub, victim

    // An empty directory, onto a new name and onto an empty directory.
    REQUIRE(benchfs_rename((d + "/sub").c_str(), (d + "/sub2").c_str()) == 0);
    REQUIRE(benchfs_mkdir((d + "/empty").c_str(), 0755) == 0);
    REQUIRE(benchfs_rename((d + "/sub2").c_str(), (d + "/empty").c_str()) == 0);
    auto names = list_dir(d);
    CHECK(names.size() == 2);
    CHECK(names.count("empty") == 1);
    CHECK(names["empty"] == DT_DIR);

    // Renaming onto itself changes nothing.
    REQUIRE(benchfs_rename((d + "/victim").c_str(), (d + "/victim").c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    // Another rank sees the result at once.
    REQUIRE(benchfs_stat((other + "/victim").c_str(), &after) == 0);
    CHECK(after.st_size == static_cast<off_t>(data.size()));
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_unlink((d + "/victim").c_str()) == 0);
    REQUIRE(benchfs_rmdir((d + "/empty").c_str()) == 0);
    REQUIRE(benchfs_rmdir(d.c_str()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
    stop();
  }
}

// Clients remember the directories they create in; a directory removed,
// moved or replaced by another rank must still refuse them.
TEST_CASE("no create lands in a directory another rank removed, moved or replaced") {
  start("memory");
  const std::string d = "/gone", moved = "/moved";
  const std::string mine = "/f" + std::to_string(rank());
  if (rank() == 0) REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  // Every rank creates in it, so every rank knows it.
  REQUIRE(create_file(d + mine) == 0);
  REQUIRE(benchfs_unlink((d + mine).c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) REQUIRE(benchfs_rmdir(d.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(create_file(d + mine) == ENOENT);
  CHECK(mkdir_errno(d + mine) == ENOENT);
  MPI_Barrier(MPI_COMM_WORLD);

  // Made again under the same name: creates go there.
  if (rank() == 0) REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(create_file(d + mine) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(list_dir(d).size() == static_cast<size_t>(size()));
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(benchfs_unlink((d + mine).c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);

  // Moved: nothing can be made under the old name, everything under the new.
  if (rank() == 0) REQUIRE(benchfs_rename(d.c_str(), moved.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(create_file(d + mine) == ENOENT);
  CHECK(mkdir_errno(d + mine) == ENOENT);
  REQUIRE(create_file(moved + mine) == 0);
  // A rename into it is a create as well.
  CHECK(benchfs_rename((moved + mine).c_str(), (d + mine).c_str()) == -1);
  CHECK(errno == ENOENT);
  REQUIRE(benchfs_unlink((moved + mine).c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);

  // Replaced by a file: ENOTDIR.
  if (rank() == 0) {
    REQUIRE(benchfs_rmdir(moved.c_str()) == 0);
    REQUIRE(create_file(moved) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(create_file(moved + mine) == ENOTDIR);
  CHECK(mkdir_errno(moved + mine) == ENOTDIR);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) REQUIRE(benchfs_unlink(moved.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(list_dir("/").empty());
  stop();
}

// Before rmdir fenced the directory on every server, a create whose parent
// check had passed could land after the emptiness check: an entry without
// a directory.
TEST_CASE("creates racing rmdir never leave an entry without its directory") {
  start("memory");
  const std::string d = "/race";
  const std::string mine = d + "/f" + std::to_string(rank());
  std::atomic<bool> done{false};
  std::atomic<long> removed{0};
  std::thread remover;
  if (rank() == 0)
    remover = std::thread([&] {
      while (!done) {
        benchfs_mkdir(d.c_str(), 0755);
        if (benchfs_rmdir(d.c_str()) == 0) ++removed;
      }
    });
  long created = 0, refused = 0, orphans = 0, other_errors = 0;
  for (int i = 0; i < 2000; ++i) {
    int err = create_file(mine);
    if (err == ENOENT) {
      ++refused;
      continue;
    }
    if (err) {
      ++other_errors;
      continue;
    }
    ++created;
    // While the file exists, its directory cannot go.
    struct stat st;
    if (benchfs_stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) ++orphans;
    if (benchfs_unlink(mine.c_str()) != 0) ++other_errors;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    done = true;
    remover.join();
    MESSAGE("rmdir succeeded " << removed.load() << " times");
  }
  MESSAGE("rank " << rank() << ": " << created << " created, " << refused << " refused");
  CHECK(orphans == 0);
  CHECK(other_errors == 0);
  CHECK(created + refused == 2000);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) benchfs_rmdir(d.c_str());
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(list_dir("/").empty());
  stop();
}
