// Symbolic links (issue 24, item 5) from every rank: links followed in the
// middle and at the end of a path by every call that follows them, absolute
// and relative targets, chains, ELOOP after 40, O_NOFOLLOW, and lstat,
// readlink, rename, unlink and readdir acting on the link itself.  The
// names hash to every server, so each step crosses ranks at 2 and 4.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mpi_test.h"

using namespace benchfs_test;

namespace {

std::string read_link(const std::string& path) {
  char buf[256];
  ssize_t n = benchfs_readlink(path.c_str(), buf, sizeof buf);
  return n < 0 ? "errno " + std::to_string(errno) : std::string(buf, static_cast<size_t>(n));
}

int error_of(int result) { return result == 0 ? 0 : errno; }

}  // namespace

TEST_CASE("symbolic links: every path call follows them, on every rank") {
  start("memory");
  const std::string me = std::to_string(rank());
  if (rank() == 0) {
    REQUIRE(benchfs_mkdir("/real", 0755) == 0);
    REQUIRE(benchfs_mkdir("/real/sub", 0755) == 0);
    REQUIRE(benchfs_symlink("/real", "/abs") == 0);        // absolute
    REQUIRE(benchfs_symlink("real/sub", "/rel") == 0);     // relative, two levels
    REQUIRE(benchfs_symlink("/abs/sub/", "/chain") == 0);  // through another link
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // Create, write and read through links in the middle of the path.
  const std::string f = "/abs/sub/f" + me;
  REQUIRE(write_file(f, 7 + rank(), 3000));
  struct stat real, via;
  REQUIRE(benchfs_stat(("/real/sub/f" + me).c_str(), &real) == 0);
  CHECK(S_ISREG(real.st_mode));
  CHECK(real.st_size == 3000);
  for (std::string p : {"/rel/f" + me, "/chain/f" + me, "/chain/../real/sub/f" + me}) {
    CAPTURE(p);
    REQUIRE(benchfs_stat(p.c_str(), &via) == 0);
    CHECK(via.st_ino == real.st_ino);
  }
  int fd = benchfs_open(("/chain/f" + me).c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  check_pattern(fd, 7 + rank(), 0, 3000, 1000);
  REQUIRE(benchfs_close(fd) == 0);

  // stat follows the last link, lstat describes it: S_IFLNK, its target's length.
  REQUIRE(benchfs_stat("/abs", &via) == 0);
  CHECK(S_ISDIR(via.st_mode));
  REQUIRE(benchfs_lstat("/abs", &via) == 0);
  CHECK(S_ISLNK(via.st_mode));
  CHECK(via.st_size == 5);
  CHECK(via.st_uid == geteuid());
  REQUIRE(benchfs_lstat(("/rel/f" + me).c_str(), &via) == 0);
  CHECK(via.st_ino == real.st_ino);  // a link earlier in the path is followed
  CHECK(read_link("/abs") == "/real");
  CHECK(read_link("/rel") == "real/sub");
  CHECK(read_link("/chain") == "/abs/sub/");
  char small[3];
  CHECK(benchfs_readlink("/abs", small, sizeof small) == 3);  // truncated, no NUL
  CHECK(std::memcmp(small, "/re", 3) == 0);

  // Directory calls through links.
  const std::string d = "/chain/d" + me;
  REQUIRE(benchfs_mkdir(d.c_str(), 0755) == 0);
  REQUIRE(benchfs_stat(("/real/sub/d" + me).c_str(), &via) == 0);
  CHECK(S_ISDIR(via.st_mode));
  REQUIRE(write_file(d + "/inner", 1, 10));
  auto names = list_dir("/rel/d" + me);
  CHECK(names.size() == 1);
  CHECK(names["inner"] == DT_REG);
  REQUIRE(benchfs_unlink(("/abs/sub/d" + me + "/inner").c_str()) == 0);
  REQUIRE(benchfs_rmdir(("/rel/d" + me).c_str()) == 0);
  CHECK(error_of(benchfs_stat(("/real/sub/d" + me).c_str(), &via)) == ENOENT);

  // Calls that follow the last component act on the target.
  REQUIRE(benchfs_symlink(("f" + me).c_str(), ("/real/sub/l" + me).c_str()) == 0);
  const std::string l = "/abs/sub/l" + me;
  REQUIRE(benchfs_truncate(l.c_str(), 1000) == 0);
  REQUIRE(benchfs_chmod(l.c_str(), 0600) == 0);
  REQUIRE(benchfs_stat(("/real/sub/f" + me).c_str(), &via) == 0);
  CHECK(via.st_size == 1000);
  CHECK((via.st_mode & 07777) == 0600);
  CHECK(benchfs_access(l.c_str(), R_OK) == 0);
  struct statvfs v;
  CHECK(benchfs_statvfs("/chain", &v) == 0);
  CHECK(error_of(benchfs_open(l.c_str(), O_RDONLY | O_NOFOLLOW)) == ELOOP);
  fd = benchfs_open(l.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_fstat(fd, &via) == 0);
  CHECK(via.st_ino == real.st_ino);
  REQUIRE(benchfs_close(fd) == 0);

  // Calls on the link itself: rename moves it, unlink removes it, both
  // leave the target; mkdir and symlink over it are EEXIST, rmdir ENOTDIR.
  CHECK(error_of(benchfs_mkdir(l.c_str(), 0755)) == EEXIST);
  CHECK(error_of(benchfs_symlink("x", l.c_str())) == EEXIST);
  CHECK(error_of(benchfs_rmdir(l.c_str())) == ENOTDIR);
  const std::string moved = "/rel/m" + me;
  REQUIRE(benchfs_rename(l.c_str(), moved.c_str()) == 0);
  CHECK(error_of(benchfs_lstat(l.c_str(), &via)) == ENOENT);
  CHECK(read_link(moved) == "f" + me);
  REQUIRE(benchfs_stat(moved.c_str(), &via) == 0);
  CHECK(via.st_ino == real.st_ino);
  REQUIRE(benchfs_unlink(moved.c_str()) == 0);
  CHECK(error_of(benchfs_lstat(moved.c_str(), &via)) == ENOENT);
  REQUIRE(benchfs_stat(("/real/sub/f" + me).c_str(), &via) == 0);

  // Every rank's entries, listed through a link; links list as DT_LNK.
  MPI_Barrier(MPI_COMM_WORLD);
  names = list_dir("/chain");
  CHECK(names.size() == static_cast<size_t>(size()));
  for (int r = 0; r < size(); ++r) CHECK(names["f" + std::to_string(r)] == DT_REG);
  if (rank() == 0) {
    auto top = list_dir("/");
    CHECK(top["real"] == DT_DIR);
    CHECK(top["abs"] == DT_LNK);
    CHECK(top["rel"] == DT_LNK);
    CHECK(top["chain"] == DT_LNK);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  REQUIRE(benchfs_unlink(("/rel/f" + me).c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    CHECK(error_of(benchfs_rmdir("/abs")) == ENOTDIR);
    REQUIRE(benchfs_rmdir("/abs/sub") == 0);  // the directory the link leads to
    CHECK(error_of(benchfs_stat("/rel", &via)) == ENOENT);  // dangling now
    REQUIRE(benchfs_lstat("/rel", &via) == 0);
    for (const char* p : {"/abs", "/rel", "/chain"}) REQUIRE(benchfs_unlink(p) == 0);
    REQUIRE(benchfs_rmdir("/real") == 0);
    CHECK(list_dir("/").empty());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}

TEST_CASE("symbolic links: ELOOP after 40, loops, dangling links and O_CREAT") {
  start("memory");
  if (rank() == 0) {
    REQUIRE(write_file("/end", 3, 100));
    // /c1 -> /end, /cN -> c(N-1) (relative): /c40 follows 40 links.
    REQUIRE(benchfs_symlink("/end", "/c1") == 0);
    for (int i = 2; i <= 41; ++i)
      REQUIRE(benchfs_symlink(("c" + std::to_string(i - 1)).c_str(),
                              ("/c" + std::to_string(i)).c_str()) == 0);
    REQUIRE(benchfs_symlink("/loop2", "/loop1") == 0);
    REQUIRE(benchfs_symlink("/loop1", "/loop2") == 0);
    REQUIRE(benchfs_mkdir("/dir", 0755) == 0);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st;
  REQUIRE(benchfs_stat("/c40", &st) == 0);
  CHECK(st.st_size == 100);
  CHECK(error_of(benchfs_stat("/c41", &st)) == ELOOP);
  CHECK(benchfs_lstat("/c41", &st) == 0);
  CHECK(error_of(benchfs_open("/c41", O_RDONLY)) == ELOOP);
  CHECK(error_of(benchfs_stat("/loop1", &st)) == ELOOP);
  CHECK(error_of(benchfs_stat("/loop1/x", &st)) == ELOOP);
  CHECK(error_of(benchfs_mkdir("/loop2/x", 0755)) == ELOOP);
  CHECK(error_of(benchfs_open("/loop1", O_CREAT | O_WRONLY, 0644)) == ELOOP);
  // A link through a file is ENOTDIR; a dangling link ENOENT until O_CREAT
  // through it makes its target (O_CREAT|O_EXCL: EEXIST, the link is there).
  const std::string me = std::to_string(rank());
  const std::string link = "/dir/dangling" + me, target = "/dir/target" + me;
  REQUIRE(benchfs_symlink(target.c_str(), link.c_str()) == 0);
  CHECK(error_of(benchfs_stat(link.c_str(), &st)) == ENOENT);
  CHECK(error_of(benchfs_open(link.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644)) == EEXIST);
  CHECK(error_of(benchfs_open(link.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW, 0644)) == ELOOP);
  int fd = benchfs_open(link.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
  CHECK(benchfs_stat(target.c_str(), &st) == 0);
  REQUIRE(benchfs_symlink("/end", ("/dir/tofile" + me).c_str()) == 0);
  CHECK(error_of(benchfs_stat(("/dir/tofile" + me + "/x").c_str(), &st)) == ENOTDIR);
  CHECK(error_of(benchfs_open(("/dir/tofile" + me + "/x").c_str(), O_CREAT | O_WRONLY, 0644)) ==
        ENOTDIR);
  // A target may name anything, outside BenchFS too: it is read as a path
  // inside BenchFS.
  REQUIRE(benchfs_symlink("/etc", ("/dir/etc" + me).c_str()) == 0);
  CHECK(error_of(benchfs_stat(("/dir/etc" + me + "/hostname").c_str(), &st)) == ENOENT);
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}

TEST_CASE("symbolic links: bad arguments") {
  CHECK(error_of(benchfs_symlink("/t", "/l")) == ENODEV);
  start("memory");
  if (rank() == 0) REQUIRE(write_file("/file", 1, 10));
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string me = std::to_string(rank());
  const std::string l = "/l" + me;
  char buf[8];
  struct stat st;
  CHECK(error_of(benchfs_symlink(nullptr, l.c_str())) == EFAULT);
  CHECK(error_of(benchfs_symlink("", l.c_str())) == ENOENT);
  CHECK(error_of(benchfs_symlink(std::string(PATH_MAX, 'a').c_str(), l.c_str())) == ENAMETOOLONG);
  CHECK(error_of(benchfs_symlink("/t", nullptr)) == EFAULT);
  CHECK(error_of(benchfs_symlink("/t", "rel")) == EINVAL);
  CHECK(error_of(benchfs_symlink("/t", "/")) == EEXIST);
  CHECK(error_of(benchfs_symlink("/t", "/file")) == EEXIST);
  CHECK(error_of(benchfs_symlink("/t", "/missing/l")) == ENOENT);
  CHECK(error_of(benchfs_symlink("/t", "/file/l")) == ENOTDIR);
  CHECK(error_of(benchfs_symlink("/t", (l + "/").c_str())) == ENOENT);
  CHECK(benchfs_readlink("/file", buf, sizeof buf) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_readlink("/missing", buf, sizeof buf) == -1);
  CHECK(errno == ENOENT);
  REQUIRE(benchfs_symlink(std::string(PATH_MAX - 1, 'a').c_str(), l.c_str()) == 0);
  CHECK(benchfs_readlink(l.c_str(), buf, 0) == -1);
  CHECK(errno == EINVAL);
  CHECK(benchfs_readlink(l.c_str(), nullptr, 8) == -1);
  CHECK(errno == EFAULT);
  CHECK(benchfs_readlink(l.c_str(), buf, sizeof buf) == 8);
  CHECK(error_of(benchfs_lstat(l.c_str(), nullptr)) == EFAULT);
  REQUIRE(benchfs_lstat(l.c_str(), &st) == 0);
  CHECK(st.st_size == PATH_MAX - 1);
  CHECK(st.st_blocks == 0);
  REQUIRE(benchfs_unlink(l.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  stop();
}
