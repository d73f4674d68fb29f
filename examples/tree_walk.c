/* tree_walk: several ranks build a directory tree together, one rank walks
 * it with opendir/readdir and prints it like tree(1), then the tree is
 * removed bottom-up.
 *
 *   mpirun -np 4 ./tree_walk [depth] [fanout]
 *
 * Entries of a directory are spread over every rank's server (each path
 * lives on the server its hash picks); readdir gathers them page by page. */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int depth = 3, fanout = 3;

/* Rank `rank` builds the subtrees whose top index i has i % size == rank. */
static int build(const char *dir, int level) {
  if (level == depth) return 0;
  char path[1024];
  for (int i = 0; i < fanout; ++i) {
    snprintf(path, sizeof path, "%s/dir%d", dir, i);
    if (benchfs_mkdir(path, 0755) != 0) return -1;
    if (build(path, level + 1) != 0) return -1;
  }
  snprintf(path, sizeof path, "%s/data.txt", dir);
  int fd = benchfs_open(path, O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return -1;
  benchfs_write(fd, path, strlen(path)); /* each file holds its own path */
  return benchfs_close(fd);
}

/* Prints the tree below dir and counts what it saw; with remove set, it
 * deletes everything below dir after listing it (children first). */
static int walk(const char *dir, int indent, int remove, long *dirs, long *files) {
  benchfs_dir *d = benchfs_opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  char path[1024];
  /* Collect the names first: the listing is not affected by our removals. */
  char (*names)[256] = NULL;
  unsigned char *types = NULL;
  size_t n = 0;
  while ((e = benchfs_readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names = realloc(names, (n + 1) * sizeof *names);
    types = realloc(types, n + 1);
    snprintf(names[n], sizeof names[n], "%s", e->d_name);
    types[n++] = e->d_type;
  }
  benchfs_closedir(d);
  /* readdir's order is unspecified (it goes server by server): sort. */
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = 1; i < n; ++i)
    for (size_t j = i; j > 0 && strcmp(names[order[j - 1]], names[order[j]]) > 0; --j) {
      size_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  int rc = 0;
  for (size_t k = 0; k < n && rc == 0; ++k) {
    size_t i = order[k];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (!remove) printf("%*s%s%s\n", indent * 2, "", names[i], types[i] == DT_DIR ? "/" : "");
    if (types[i] == DT_DIR) {
      ++*dirs;
      rc = walk(path, indent + 1, remove, dirs, files);
      if (rc == 0 && remove) rc = benchfs_rmdir(path);
    } else {
      ++*files;
      if (remove) rc = benchfs_unlink(path);
    }
  }
  free(order);
  free(names);
  free(types);
  return rc;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc > 1) depth = atoi(argv[1]);
  if (argc > 2) fanout = atoi(argv[2]);
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  int ok = 1;
  if (rank == 0 && benchfs_mkdir("/tree", 0755) != 0) ok = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  char top[64];
  for (int i = 0; i < fanout; ++i) {
    if (i % size != rank) continue;
    snprintf(top, sizeof top, "/tree/top%d", i);
    if (benchfs_mkdir(top, 0755) != 0 || build(top, 1) != 0) {
      perror(top);
      ok = 0;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* The last rank, which built little of it, walks and removes the tree. */
  if (rank == size - 1) {
    long dirs = 0, files = 0, expect_dirs = 0, level = 1;
    printf("/tree/\n");
    if (walk("/tree", 1, 0, &dirs, &files) != 0) ok = 0;
    for (int l = 1; l <= depth; ++l) expect_dirs += (level *= fanout);
    long expect_files = expect_dirs - level; /* one file in each non-bottom dir */
    printf("%ld directories, %ld files (expected %ld and %ld)\n", dirs, files, expect_dirs,
           expect_files);
    if (dirs != expect_dirs || files != expect_files) ok = 0;
    long rd = 0, rf = 0;
    if (walk("/tree", 0, 1, &rd, &rf) != 0 || benchfs_rmdir("/tree") != 0) {
      perror("remove");
      ok = 0;
    }
    struct stat st;
    if (benchfs_stat("/tree", &st) == 0 || errno != ENOENT) ok = 0;
    printf("removed bottom-up: %s\n", ok ? "ok" : "FAILED");
  }
  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  benchfs_finalize();
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
