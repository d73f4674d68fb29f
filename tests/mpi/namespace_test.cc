// Directories and metadata across ranks.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

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
