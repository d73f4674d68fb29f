/* pfind (IO500's find phase) on BenchFS through the preload library:
 * makes a tree through the C API (100 directories, 10,000 files, every
 * third one of 3901 bytes), then runs pfind's own code, linked in from
 * pfind.a as IO500 links it, on BENCHFS_MOUNT/tree with the pfind
 * arguments given, and checks the count it found against the count made.
 *
 *   find_tree [-name PATTERN] [-size 3901c]     (PATTERN: "*SUBSTRING*")
 *
 * Built and run by tests/ior_test.sh, under mpirun with LD_PRELOAD.
 * Prints "find_tree: made N, expected M, pfind found M" and exits 0, or
 * "FAIL: ..." and exits 1. */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfind-options.h"

enum { kDirs = 100, kFiles = 10000, kSize = 3901 };

static void die(int rank, const char *what, const char *path) {
  fprintf(stderr, "FAIL: rank %d: %s %s: %s\n", rank, what, path, strerror(errno));
  MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char *m = getenv("BENCHFS_MOUNT");
  char root[PATH_MAX];
  snprintf(root, sizeof root, "%s/tree", m && *m ? m : "/benchfs");

  /* What the arguments select: a name substring, and 3901 bytes or any. */
  const char *substr = NULL;
  int want_size = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!strcmp(argv[i], "-name")) substr = argv[i + 1];
    if (!strcmp(argv[i], "-size")) want_size = 1;
  }
  char sub[64] = "";
  if (substr) {
    snprintf(sub, sizeof sub, "%s", substr[0] == '*' ? substr + 1 : substr);
    char *star = strchr(sub, '*');
    if (star) *star = '\0';
  }

  /* The tree, through the C API (the preload serves POSIX calls; this is
   * BenchFS's own interface on the same instance). */
  if (rank == 0 && benchfs_mkdir(root, 0755) != 0) die(rank, "mkdir", root);
  MPI_Barrier(MPI_COMM_WORLD);
  char path[PATH_MAX + 64];
  for (int d = rank; d < kDirs; d += size) {
    snprintf(path, sizeof path, "%s/d%03d", root, d);
    if (benchfs_mkdir(path, 0755) != 0) die(rank, "mkdir", path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  static char data[kSize];
  long expected = 0;
  for (int i = 0; i < kFiles; ++i) {
    char name[32];
    snprintf(name, sizeof name, "file.%05d", i);
    int sized = i % 3 == 0;
    if ((!substr || strstr(name, sub)) && (!want_size || sized)) ++expected;
    if (i % size != rank) continue;
    snprintf(path, sizeof path, "%s/d%03d/%s", root, i % kDirs, name);
    int fd = benchfs_open(path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) die(rank, "open", path);
    if (sized && benchfs_write(fd, data, kSize) != kSize) die(rank, "write", path);
    if (benchfs_close(fd) != 0) die(rank, "close", path);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* pfind, as IO500 calls it: its arguments with the start directory. */
  char **args = calloc((size_t)argc + 3, sizeof *args);
  int n = 0;
  args[n++] = strdup("pfind");
  args[n++] = strdup(root);
  for (int i = 1; i < argc; ++i) args[n++] = strdup(argv[i]);
  args[n++] = strdup("-C");
  pfind_options_t *opt = pfind_parse_args(n, args, 0, MPI_COMM_WORLD);
  pfind_find_results_t *local = pfind_find(opt);
  if (!local) {
    fprintf(stderr, "FAIL: rank %d: pfind_find returned nothing\n", rank);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  pfind_find_results_t *all = pfind_aggregrate_results(local);
  int status = 0;
  if (rank == 0) {
    printf("find_tree: made %d files in %d directories, expected %ld, pfind found %llu "
           "(scanned %llu, errors %llu)\n",
           kFiles, kDirs, expected, (unsigned long long)all->found_files,
           (unsigned long long)all->total_files, (unsigned long long)all->errors);
    if ((long)all->found_files != expected || all->total_files != kFiles || all->errors != 0) {
      printf("FAIL: pfind's counts are wrong\n");
      status = 1;
    }
  }
  MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
