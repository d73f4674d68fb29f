// Directories and metadata across ranks.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <ctime>
#include <functional>
#include <map>
#include <thread>

#include "mpi_test.h"

using namespace benchfs_test;

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

TEST_CASE("stat returns real mode, owner, size and times") {
  start("memory");
  std::string p = "/attrs" + std::to_string(rank());
  time_t before = time(nullptr);
  int fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0640);
  REQUIRE(fd >= 0);
  CHECK(benchfs_write(fd, "abc", 3) == 3);
  REQUIRE(benchfs_close(fd) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  // Seen from another rank.
  std::string other = "/attrs" + std::to_string((rank() + 1) % size());
  struct stat st;
  REQUIRE(benchfs_stat(other.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == geteuid());
  CHECK(st.st_gid == getegid());
  CHECK(st.st_nlink == 1);
  CHECK(st.st_size == 3);
  CHECK(st.st_mtime >= before - 1);
  CHECK(st.st_mtime <= time(nullptr) + 1);
  CHECK(st.st_ctime >= before - 1);
  CHECK(st.st_atime >= before - 1);
  CHECK(st.st_ino != 0);
  MPI_Barrier(MPI_COMM_WORLD);
  CHECK(benchfs_unlink(p.c_str()) == 0);
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

namespace {

void create_empty(const std::string& path) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
}

// Name -> d_type of every entry of a directory except "." and "..".
std::map<std::string, unsigned char> list_dir(const std::string& path) {
  std::map<std::string, unsigned char> names;
  benchfs_dir* d = benchfs_opendir(path.c_str());
  REQUIRE(d != nullptr);
  int dots = 0;
  errno = 0;
  while (struct dirent* e = benchfs_readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") {
      ++dots;
      CHECK(e->d_type == DT_DIR);
      continue;
    }
    CHECK(names.count(n) == 0);  // every entry exactly once
    names[n] = e->d_type;
  }
  CHECK(errno == 0);
  CHECK(dots == 2);
  REQUIRE(benchfs_closedir(d) == 0);
  return names;
}

void write_text(const std::string& path, const std::string& text) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(benchfs_close(fd) == 0);
}


}  // namespace

TEST_CASE("mdtest-like load: 5,000 files per rank in private and shared directories") {
  start("uring");
  const int n = 5000;
  std::string mine = "/md.rank" + std::to_string(rank());
  if (rank() == 0) REQUIRE(benchfs_mkdir("/md.shared", 0777) == 0);
  REQUIRE(benchfs_mkdir(mine.c_str(), 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = 0; i < n; ++i) {
    create_empty(mine + "/f." + std::to_string(i));
    create_empty("/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st;
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    if (benchfs_stat((mine + "/f." + std::to_string(i)).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      ++bad;
    std::string s = "/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i);
    if (benchfs_stat(s.c_str(), &st) != 0 || st.st_size != 0) ++bad;
  }
  CHECK(bad == 0);
  // Every rank lists every directory: counts and names exact.
  auto shared = list_dir("/md.shared");
  CHECK(shared.size() == static_cast<size_t>(n) * size());
  for (int r = 0; r < size(); ++r) {
    auto priv = list_dir("/md.rank" + std::to_string(r));
    CHECK(priv.size() == static_cast<size_t>(n));
    for (int i : {0, n / 2, n - 1}) {
      CHECK(priv.count("f." + std::to_string(i)) == 1);
      CHECK(shared.count("f." + std::to_string(r) + "." + std::to_string(i)) == 1);
    }
    for (auto& [name, type] : priv) CHECK(type == DT_REG);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = 0; i < n; ++i) {
    REQUIRE(benchfs_unlink((mine + "/f." + std::to_string(i)).c_str()) == 0);
    REQUIRE(benchfs_unlink(
                ("/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i)).c_str()) == 0);
  }
  REQUIRE(benchfs_rmdir(mine.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    CHECK(list_dir("/md.shared").empty());
    REQUIRE(benchfs_rmdir("/md.shared") == 0);
    CHECK(list_dir("/").empty());
    CHECK(count_files(scratch_dir()) == 0);
  }
  stop();
}

TEST_CASE("a directory of 100,000 entries is listed page by page") {
  start("memory");
  if (rank() == 0) REQUIRE(benchfs_mkdir("/big", 0777) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  const int total = 100000;
  for (int i = rank(); i < total; i += size()) create_empty("/big/entry-with-a-longish-name." + std::to_string(i));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == size() - 1) {
    auto names = list_dir("/big");
    CHECK(names.size() == static_cast<size_t>(total));
    CHECK(names.count("entry-with-a-longish-name.99999") == 1);
  }
  stop();
}

TEST_CASE("a deep tree made by several ranks at once is walked and removed bottom-up") {
  start("memory");
  const int depth = 8, fanout = 3;
  // Rank 0 makes the top; the subtrees under it are made by all ranks.
  if (rank() == 0) REQUIRE(benchfs_mkdir("/tree", 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  std::function<void(const std::string&, int)> make = [&](const std::string& dir, int level) {
    if (level == depth) return;
    for (int i = 0; i < fanout; ++i) {
      std::string child = dir + "/d" + std::to_string(i);
      REQUIRE(benchfs_mkdir(child.c_str(), 0755) == 0);
      make(child, level + 1);
    }
    create_empty(dir + "/leaf");
  };
  for (int i = 0; i < fanout; ++i) {
    if (i % size() != rank()) continue;
    std::string top = "/tree/d" + std::to_string(i);
    REQUIRE(benchfs_mkdir(top.c_str(), 0755) == 0);
    make(top, 1);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // Another rank walks the whole tree with readdir.
  size_t dirs = 0, files = 0;
  std::vector<std::string> order;  // directories in pre-order
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    order.push_back(dir);
    for (auto& [name, type] : list_dir(dir)) {
      if (type == DT_DIR) {
        ++dirs;
        walk(dir + "/" + name);
      } else {
        ++files;
      }
    }
  };
  if (rank() == size() - 1) {
    walk("/tree");
    size_t expect_dirs = 0, level_count = 1;
    for (int l = 1; l <= depth; ++l) expect_dirs += (level_count *= fanout);
    CHECK(dirs == expect_dirs);                   // 3 + 9 + ... + 3^8
    CHECK(files == expect_dirs - level_count);    // a leaf in every non-bottom dir
    // Removed bottom-up by the walker.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      auto entries = list_dir(*it);
      if (!entries.empty()) {
        CHECK(benchfs_rmdir(it->c_str()) == -1);
        CHECK(errno == ENOTEMPTY);
      }
      for (auto& [name, type] : entries) {
        CHECK(type == DT_REG);  // subdirectories are gone already
        REQUIRE(benchfs_unlink((*it + "/" + name).c_str()) == 0);
      }
      REQUIRE(benchfs_rmdir(it->c_str()) == 0);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st;
  CHECK(benchfs_stat("/tree", &st) == -1);
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
    if (rank() == 0) CHECK(count_files(scratch_dir()) == 0);
    stop();
  }
}

namespace {
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

TEST_CASE("truncate shrinks and grows; chmod, access, statvfs") {
  for (const auto& backend : backends()) {
    CAPTURE(backend);
    start(backend, "64k");
    const size_t cs = 64 << 10;
    std::string p = "/tr" + std::to_string(rank());
    std::vector<char> data(5 * cs + 17);
    fill_pattern(data, 21, 0);
    int fd = benchfs_open(p.c_str(), O_CREAT | O_RDWR, 0644);
    REQUIRE(benchfs_write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    REQUIRE(benchfs_close(fd) == 0);

    // Shrink by path, then grow through an fd: the gap reads as zeros.
    REQUIRE(benchfs_truncate(p.c_str(), static_cast<off_t>(cs + 5)) == 0);
    struct stat st;
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == static_cast<off_t>(cs + 5));
    fd = benchfs_open(p.c_str(), O_RDWR);
    REQUIRE(benchfs_ftruncate(fd, static_cast<off_t>(4 * cs)) == 0);
    std::vector<char> back(4 * cs, 'x');
    REQUIRE(benchfs_pread(fd, back.data(), back.size(), 0) == static_cast<ssize_t>(back.size()));
    CHECK(first_mismatch(back, 21, 0, cs + 5) == -1);
    CHECK(std::all_of(back.begin() + cs + 5, back.end(), [](char c) { return c == 0; }));
    REQUIRE(benchfs_close(fd) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK(st.st_size == static_cast<off_t>(4 * cs));
    // ftruncate of a read-only fd is refused as on Linux.
    fd = benchfs_open(p.c_str(), O_RDONLY);
    CHECK(benchfs_ftruncate(fd, 0) == -1);
    CHECK(errno == EINVAL);
    REQUIRE(benchfs_close(fd) == 0);
    // Shrinking to zero leaves no data anywhere.
    REQUIRE(benchfs_truncate(p.c_str(), 0) == 0);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0 && backend == "uring") CHECK(count_files(scratch_dir()) == 0);
    MPI_Barrier(MPI_COMM_WORLD);

    // chmod changes the mode and ctime; access follows the bits.
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    struct timespec old_ctime = st.st_ctim;
    REQUIRE(benchfs_chmod(p.c_str(), 0600) == 0);
    REQUIRE(benchfs_stat(p.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_ctim.tv_sec > old_ctime.tv_sec ||
           (st.st_ctim.tv_sec == old_ctime.tv_sec && st.st_ctim.tv_nsec >= old_ctime.tv_nsec)));
    CHECK(benchfs_access(p.c_str(), F_OK) == 0);
    CHECK(benchfs_access(p.c_str(), R_OK | W_OK) == 0);
    // No x bit for anyone: even root may not execute.
    CHECK(benchfs_access(p.c_str(), X_OK) == -1);
    CHECK(errno == EACCES);
    REQUIRE(benchfs_chmod(p.c_str(), 0755) == 0);
    CHECK(benchfs_access(p.c_str(), X_OK) == 0);

    // statvfs sums every server's capacity.
    struct statvfs v;
    REQUIRE(benchfs_statvfs("/", &v) == 0);
    CHECK(v.f_blocks > 0);
    CHECK(v.f_bfree <= v.f_blocks);
    CHECK(v.f_namemax == NAME_MAX);
    if (backend == "memory") {
      // The memory backend's cap: the sum over ranks, less what is used.
      stop();
      setenv("BENCHFS_MEMORY_LIMIT", "1m", 1);
      start(backend, "64k");
      REQUIRE(benchfs_statvfs("/", &v) == 0);
      CHECK(v.f_blocks * v.f_frsize == (1ULL << 20) * size());
      // Past the cap, writes fail with ENOSPC; after freeing they work again.
      std::vector<char> big(2 << 20, 'b');
      fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      REQUIRE(fd >= 0);
      size_t written = 0;
      errno = 0;
      while (written < big.size() * size()) {
        ssize_t n = benchfs_pwrite(fd, big.data(), cs, static_cast<off_t>(written));
        if (n < 0) break;
        written += cs;
      }
      CHECK(errno == ENOSPC);
      REQUIRE(benchfs_close(fd) == 0);
      MPI_Barrier(MPI_COMM_WORLD);
      REQUIRE(benchfs_unlink(p.c_str()) == 0);
      MPI_Barrier(MPI_COMM_WORLD);
      fd = benchfs_open(p.c_str(), O_CREAT | O_WRONLY, 0644);
      CHECK(benchfs_pwrite(fd, big.data(), cs, 0) == static_cast<ssize_t>(cs));
      REQUIRE(benchfs_close(fd) == 0);
      unsetenv("BENCHFS_MEMORY_LIMIT");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    REQUIRE(benchfs_unlink(p.c_str()) == 0);
    stop();
  }
}
