/* A plain POSIX MPI program, run under LD_PRELOAD=libbenchfs-preload.so by
 * tests/preload_test.sh: no BenchFS call in it.  Every rank works in its own
 * directory under the mount (BENCHFS_MOUNT, default /benchfs) with stdio,
 * relative paths after chdir, *at calls on a directory descriptor, readdir,
 * rename, dup2 onto stdout, fcntl and fork; then each rank reads what its
 * neighbour wrote.  Prints "FAIL: ..." and exits 1 on the first wrong
 * answer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int rank, nranks;
static char mnt[PATH_MAX];

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "FAIL: rank %d: %s:%d: %s (errno %d: %s)\n", rank, __FILE__,      \
              __LINE__, #cond, errno, strerror(errno));                                \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                    \
    }                                                                                  \
  } while (0)

/* Fails with errno e. */
#define FAILS(call, e) CHECK((call) == -1 && errno == (e))

static void write_all(int fd, const char *s) { CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s)); }

static void file_is(const char *path, const char *want) {
  char buf[256] = {0};
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  CHECK(n == (ssize_t)strlen(want));
  CHECK(strcmp(buf, want) == 0);
  CHECK(close(fd) == 0);
}

static void stdio_and_cwd(const char *dir) {
  char path[PATH_MAX], cwd[PATH_MAX];
  CHECK(mkdir(dir, 0755) == 0);
  FAILS(mkdir(dir, 0755), EEXIST);
  CHECK(chdir(dir) == 0);
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK(strcmp(cwd, dir) == 0);

  FILE *f = fopen("notes.txt", "w");
  CHECK(f != NULL);
  CHECK(fprintf(f, "rank %d\nline two\n", rank) > 0);
  CHECK(fileno(f) >= 0);
  CHECK(fsync(fileno(f)) == 0 || errno == EBADF);
  CHECK(fclose(f) == 0);
  f = fopen("notes.txt", "r");
  CHECK(f != NULL);
  char line[64];
  CHECK(fgets(line, sizeof line, f) != NULL);
  char want[64];
  snprintf(want, sizeof want, "rank %d\n", rank);
  CHECK(strcmp(line, want) == 0);
  CHECK(fseek(f, 0, SEEK_END) == 0);
  CHECK(ftell(f) == (long)(strlen(want) + strlen("line two\n")));
  CHECK(fclose(f) == 0);
  f = fopen("notes.txt", "a");
  CHECK(f != NULL);
  CHECK(fwrite("three\n", 1, 6, f) == 6);
  CHECK(fclose(f) == 0);
  struct stat st;
  CHECK(stat("notes.txt", &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(st.st_size == (off_t)(strlen(want) + strlen("line two\nthree\n")));

  /* The working directory resolves "..", and absolute names agree. */
  snprintf(path, sizeof path, "%s/notes.txt", dir);
  struct stat st2;
  CHECK(stat(path, &st2) == 0 && st2.st_ino == st.st_ino);
  char *real = realpath("./../", NULL);
  CHECK(real != NULL && strcmp(real, mnt) == 0);
  free(real);
  FAILS(chdir("notes.txt"), ENOTDIR);
  FAILS(chdir("missing"), ENOENT);
}

static void dir_descriptors(void) {
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  CHECK(dfd >= 0);
  int fd = openat(dfd, "data", O_CREAT | O_RDWR | O_CLOEXEC, 0640);
  CHECK(fd >= 0);
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  write_all(fd, "0123456789");
  struct stat st;
  CHECK(fstatat(dfd, "data", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(st.st_size == 10 && (st.st_mode & 0777) == 0640);
  CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && st.st_size == 10);
  FAILS(fstatat(dfd, "nothing", &st, 0), ENOENT);
  FAILS(openat(fd, "x", O_RDONLY), ENOTDIR);

  /* dup shares the offset; pread/pwrite do not move it. */
  int fd2 = dup(fd);
  CHECK(fd2 >= 0 && fd2 != fd);
  CHECK(lseek(fd, 2, SEEK_SET) == 2);
  char c;
  CHECK(read(fd2, &c, 1) == 1 && c == '2');
  CHECK(pwrite(fd2, "AB", 2, 0) == 2);
  CHECK(lseek(fd, 0, SEEK_CUR) == 3);
  CHECK(close(fd2) == 0);
  char buf[16] = {0};
  CHECK(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "AB23", 4) == 0);

  /* readv/writev, O_APPEND through fcntl. */
  struct iovec iov[2] = {{"xy", 2}, {"z", 1}};
  CHECK(lseek(fd, 0, SEEK_END) == 10);
  CHECK(writev(fd, iov, 2) == 3);
  CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
  CHECK(fcntl(fd, F_SETFL, O_APPEND) == 0);
  CHECK(fcntl(fd, F_GETFL) & O_APPEND);
  CHECK(lseek(fd, 0, SEEK_SET) == 0);
  write_all(fd, "!");
  char a[8] = {0}, b[8] = {0};
  struct iovec riov[2] = {{a, 7}, {b, 7}};
  CHECK(preadv(fd, riov, 2, 0) == 14);
  CHECK(memcmp(a, "AB23456", 7) == 0 && memcmp(b, "789xyz!", 7) == 0);

  /* Truncate, times, modes. */
  CHECK(ftruncate(fd, 4) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_size == 4);
  CHECK(truncate("data", 2) == 0);
  CHECK(stat("data", &st) == 0 && st.st_size == 2);
  struct timespec times[2] = {{1000, 0}, {2000, 0}};
  CHECK(utimensat(dfd, "data", times, 0) == 0);
  CHECK(stat("data", &st) == 0 && st.st_mtim.tv_sec == 2000 && st.st_atim.tv_sec == 1000);
  times[1].tv_sec = 3000;
  CHECK(futimens(fd, times) == 0);
  CHECK(fstat(fd, &st) == 0 && st.st_mtim.tv_sec == 3000);
  CHECK(fchmod(fd, 0600) == 0);
  CHECK(stat("data", &st) == 0 && (st.st_mode & 0777) == 0600);
  CHECK(chmod("data", 0644) == 0);
  CHECK(access("data", R_OK | W_OK) == 0);
  FAILS(access("nothing", F_OK), ENOENT);

  /* What BenchFS descriptors refuse, clearly. */
  /* ENODEV from the preload, or EBADF from the kernel's placeholder when
   * UCX's memory hooks call libc's mmap directly: never a mapping. */
  CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
        (errno == ENODEV || errno == EBADF));
  FAILS(flock(fd, LOCK_EX), ENOLCK);
  struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  FAILS(fcntl(fd, F_SETLK, &lk), ENOLCK);
  FAILS(link("data", "hard"), EPERM);
  char lbuf[PATH_MAX];
  FAILS(readlink("data", lbuf, sizeof lbuf), EINVAL);

  /* Symbolic links: relative and absolute (with the mount prefix) targets. */
  CHECK(symlink("data", "soft") == 0);
  CHECK(readlink("soft", lbuf, sizeof lbuf) == 4 && memcmp(lbuf, "data", 4) == 0);
  CHECK(lstat("soft", &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 4);
  CHECK(stat("soft", &st) == 0 && S_ISREG(st.st_mode));
  CHECK(fstatat(dfd, "soft", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode));
  FAILS(open("soft", O_RDONLY | O_NOFOLLOW), ELOOP);
  char abs[PATH_MAX + 8], cwd[PATH_MAX];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  snprintf(abs, sizeof abs, "%s/data", cwd);
  CHECK(symlinkat(abs, dfd, "hardpath") == 0);
  ssize_t n = readlinkat(dfd, "hardpath", lbuf, sizeof lbuf);
  CHECK(n == (ssize_t)strlen(abs) && memcmp(lbuf, abs, (size_t)n) == 0);
  int lfd = open("hardpath", O_RDONLY);
  CHECK(lfd >= 0 && read(lfd, lbuf, 2) == 2 && memcmp(lbuf, "AB", 2) == 0);
  CHECK(close(lfd) == 0);
  CHECK(unlink("soft") == 0 && unlink("hardpath") == 0);
  CHECK(stat("data", &st) == 0);  /* the links went, not the file */
  CHECK(close(fd) == 0);
  FAILS(close(fd), EBADF);
  FAILS(read(fd, buf, 1), EBADF);

  /* rename within the mount; across it is EXDEV. */
  CHECK(renameat(dfd, "data", dfd, "data2") == 0);
  FAILS(stat("data", &st), ENOENT);
  CHECK(stat("data2", &st) == 0);
  FAILS(rename("data2", "/tmp/benchfs-preload-test-never"), EXDEV);
  CHECK(unlinkat(dfd, "data2", 0) == 0);
  CHECK(mkdirat(dfd, "sub", 0755) == 0);
  CHECK(unlinkat(dfd, "sub", AT_REMOVEDIR) == 0);
  CHECK(close(dfd) == 0);
}

static void listing(const char *dir, int expect_files) {
  DIR *d = opendir(dir);
  CHECK(d != NULL);
  CHECK(dirfd(d) >= 0);
  int files = 0, dots = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
      CHECK(e->d_type == DT_DIR);
      ++dots;
      continue;
    }
    ++files;
    struct stat st;
    CHECK(fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
  }
  CHECK(errno == 0);
  CHECK(dots == 2);
  CHECK(files == expect_files);
  rewinddir(d);
  CHECK(readdir(d) != NULL);
  CHECK(closedir(d) == 0);
}

static void stdout_redirect(void) {
  fflush(stdout);
  int saved = dup(1);
  CHECK(saved >= 0);
  int fd = open("stdout.txt", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  CHECK(fd >= 0);
  CHECK(dup2(fd, 1) == 1);
  CHECK(close(fd) == 0);
  printf("hello from rank %d\n", rank);
  fflush(stdout);
  CHECK(dup2(saved, 1) == 1);
  char want[64];
  snprintf(want, sizeof want, "hello from rank %d\n", rank);
  file_is("stdout.txt", want);
  CHECK(freopen("stdout2.txt", "w", stdout) == stdout);
  printf("again %d\n", rank);
  fflush(stdout);
  CHECK(freopen("/dev/null", "w", stdout) == stdout);  /* back to a kernel file */
  printf("into /dev/null\n");
  fflush(stdout);
  CHECK(dup2(saved, 1) == 1);  /* the job's own stdout again */
  CHECK(close(saved) == 0);
  snprintf(want, sizeof want, "again %d\n", rank);
  file_is("stdout2.txt", want);
}

/* exec: a BenchFS descriptor without FD_CLOEXEC survives as a placeholder
 * (an O_PATH descriptor of /dev/null: reads fail, nothing reaches a file),
 * one with FD_CLOEXEC is gone.  The child is this program again, in its
 * --exec-check mode (no MPI). */
static void exec_child(void) {
  int keep = open("notes.txt", O_RDONLY);
  int gone = open("notes.txt", O_RDONLY | O_CLOEXEC);
  CHECK(keep >= 0 && gone >= 0);
  char k[16], g[16];
  snprintf(k, sizeof k, "%d", keep);
  snprintf(g, sizeof g, "%d", gone);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    execl("/proc/self/exe", "posix_test", "--exec-check", k, g, (char *)NULL);
    _exit(127);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(close(keep) == 0 && close(gone) == 0);
}

/* The exec'd side: 0 when the descriptors are as exec_child expects. */
static int exec_check(int keep, int gone) {
  char link[64], target[PATH_MAX] = {0}, c;
  snprintf(link, sizeof link, "/proc/self/fd/%d", keep);
  if (readlink(link, target, sizeof target - 1) < 0 || strcmp(target, "/dev/null") != 0) return 1;
  if (read(keep, &c, 1) != -1 || errno != EBADF) return 2;
  if (fcntl(gone, F_GETFD) != -1 || errno != EBADF) return 3;
  return 0;
}

static void forked_child(void) {
  int fd = open("notes.txt", O_RDONLY);
  CHECK(fd >= 0);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    /* BenchFS runs in the parent only: clear errors, no harm done. */
    struct stat st;
    int ok = stat("notes.txt", &st) == -1 && errno == ENODEV;
    char c;
    ok = ok && read(fd, &c, 1) == -1 && errno == ENODEV;
    ok = ok && close(fd) == 0;
    ok = ok && stat("/tmp", &st) == 0;  /* the rest of the machine works */
    _exit(ok ? 0 : 1);
  }
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char c;
  CHECK(read(fd, &c, 1) == 1 && c == 'r');  /* the parent's descriptor still works */
  CHECK(close(fd) == 0);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--exec-check") == 0) return exec_check(atoi(argv[2]), atoi(argv[3]));
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const char *m = getenv("BENCHFS_MOUNT");
  snprintf(mnt, sizeof mnt, "%s", m && *m ? m : "/benchfs");

  struct stat st;
  CHECK(stat(mnt, &st) == 0 && S_ISDIR(st.st_mode));
  struct statvfs v;
  CHECK(statvfs(mnt, &v) == 0 && v.f_blocks > 0);

  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/rank%d", mnt, rank);
  stdio_and_cwd(dir);
  dir_descriptors();
  stdout_redirect();
  forked_child();
  exec_child();
  /* fchdir to a BenchFS directory descriptor, and back out. */
  int here = open(".", O_RDONLY | O_DIRECTORY);
  CHECK(here >= 0);
  CHECK(chdir("/") == 0);
  CHECK(fchdir(here) == 0);
  char again[PATH_MAX];
  CHECK(getcwd(again, sizeof again) && strcmp(again, dir) == 0);
  CHECK(close(here) == 0);
  listing(".", 3); /* notes.txt, stdout.txt, stdout2.txt */

  /* A path outside the mount still reaches the kernel. */
  char local[PATH_MAX];
  snprintf(local, sizeof local, "/tmp/benchfs-preload-test-%d-%d", (int)getpid(), rank);
  CHECK(chdir("/tmp") == 0);
  int lfd = open(local, O_CREAT | O_RDWR | O_EXCL, 0600);
  CHECK(lfd >= 0);
  write_all(lfd, "local");
  CHECK(close(lfd) == 0);
  file_is(local, "local");
  CHECK(unlink(local) == 0);
  CHECK(getcwd(local, sizeof local) && strcmp(local, "/tmp") == 0);

  /* Every rank sees its neighbour's files. */
  MPI_Barrier(MPI_COMM_WORLD);
  char other[PATH_MAX + 64], want[64];
  int next = (rank + 1) % nranks;
  snprintf(other, sizeof other, "%s/rank%d/stdout.txt", mnt, next);
  snprintf(want, sizeof want, "hello from rank %d\n", next);
  file_is(other, want);
  snprintf(other, sizeof other, "%s/rank%d", mnt, next);
  listing(other, 3);
  MPI_Barrier(MPI_COMM_WORLD);

  /* Clean up: remove every file, then the directory. */
  const char *names[] = {"notes.txt", "stdout.txt", "stdout2.txt"};
  for (int i = 0; i < 3; ++i) {
    snprintf(other, sizeof other, "%s/%s", dir, names[i]);
    CHECK(remove(other) == 0);
  }
  CHECK(remove(dir) == 0);
  FAILS(stat(dir, &st), ENOENT);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) printf("preload posix_test: %d ranks OK\n", nranks);
  MPI_Finalize();
  return 0;
}
