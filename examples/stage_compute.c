/* stage_compute: the burst-buffer pattern.  Bring a data set in from the
 * parallel file system, compute on it in BenchFS, take the results out.
 *
 *   mpirun -np 4 ./stage_compute [files]
 *
 * Rank 0 first makes a small "data set" outside: `files` text files (24 by
 * default) of numbers in a temporary directory (a real job has its input on
 * the parallel file system already).  Then every rank, together:
 *   1. benchfs_stage_in(input, "/input"): all ranks copy at once;
 *   2. compute: rank r reads the files i with i % size == r from /input and
 *      writes the sum of each into /output/<name>.sum;
 *   3. benchfs_stage_out("/output", results): all ranks copy at once; each
 *      file appears under its final name only once it is complete.
 * Rank 0 checks every result outside and removes the temporary directory.
 *
 * Without changing a program, the same is two settings:
 *   BENCHFS_STAGE_IN=/pfs/input:/input BENCHFS_STAGE_OUT=/output:/pfs/results
 * run inside benchfs_init and benchfs_finalize (docs/stage.md). */
#define _GNU_SOURCE /* mkdtemp */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Number k of file i, and the sum the computation must find. */
static long long number(int i, int k) { return (long long)i * 1000 + k * 7 - 3; }
static int numbers_in(int i) { return 100 + 37 * i; }
static long long sum_of(int i) {
  long long s = 0;
  for (int k = 0; k < numbers_in(i); ++k) s += number(i, k);
  return s;
}

/* Rank 0: the input data set, outside BenchFS. */
static int make_input(const char *dir, int files) {
  for (int i = 0; i < files; ++i) {
    char path[512];
    snprintf(path, sizeof path, "%s/part-%03d.txt", dir, i);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int k = 0; k < numbers_in(i); ++k) fprintf(f, "%lld\n", number(i, k));
    if (fclose(f) != 0) return -1;
  }
  return 0;
}

/* Reads a whole BenchFS file into a NUL-terminated buffer (free it). */
static char *read_all(const char *path) {
  struct stat st;
  if (benchfs_stat(path, &st) != 0) return NULL;
  char *text = malloc((size_t)st.st_size + 1);
  int fd = benchfs_open(path, O_RDONLY);
  ssize_t n = text && fd >= 0 ? benchfs_read(fd, text, (size_t)st.st_size) : -1;
  if (fd >= 0) benchfs_close(fd);
  if (n != st.st_size) {
    free(text);
    return NULL;
  }
  text[n] = '\0';
  return text;
}

/* The computation: sums the numbers of /input/part-<i>.txt into
 * /output/part-<i>.sum. */
static int compute(int i) {
  char in[64], out[64], line[64];
  snprintf(in, sizeof in, "/input/part-%03d.txt", i);
  snprintf(out, sizeof out, "/output/part-%03d.sum", i);
  char *text = read_all(in);
  if (!text) {
    fprintf(stderr, "read %s: %s\n", in, strerror(errno));
    return -1;
  }
  long long sum = 0;
  for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) sum += atoll(p);
  free(text);
  int len = snprintf(line, sizeof line, "%lld\n", sum);
  int fd = benchfs_open(out, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  int rc = fd >= 0 && benchfs_write(fd, line, (size_t)len) == len ? 0 : -1;
  if (fd >= 0 && benchfs_close(fd) != 0) rc = -1;
  if (rc) fprintf(stderr, "write %s: %s\n", out, strerror(errno));
  return rc;
}

/* Rank 0: every result arrived outside, complete and right. */
static int check_results(const char *dir, int files) {
  int bad = 0;
  for (int i = 0; i < files; ++i) {
    char path[512];
    snprintf(path, sizeof path, "%s/part-%03d.sum", dir, i);
    FILE *f = fopen(path, "r");
    long long sum = 0;
    if (!f || fscanf(f, "%lld", &sum) != 1 || sum != sum_of(i)) {
      fprintf(stderr, "%s: missing or wrong (expected %lld)\n", path, sum_of(i));
      ++bad;
    }
    if (f) fclose(f);
  }
  return bad ? -1 : 0;
}

static void remove_tree(const char *dir, const char *sub, int files, const char *suffix) {
  char path[512];
  for (int i = 0; i < files; ++i) {
    snprintf(path, sizeof path, "%s/%s/part-%03d.%s", dir, sub, i, suffix);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  rmdir(path);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size, ok = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int files = argc > 1 ? atoi(argv[1]) : 24;

  /* The "parallel file system": a temporary directory every rank sees. */
  char top[256] = "", input[300], results[300];
  if (rank == 0) {
    const char *tmp = getenv("TMPDIR");
    snprintf(top, sizeof top, "%s/benchfs-stage-example-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(top)) top[0] = '\0';
    snprintf(input, sizeof input, "%s/input", top);
    if (!top[0] || mkdir(input, 0755) != 0 || make_input(input, files) != 0) {
      perror("making the input data set");
      top[0] = '\0';
    }
  }
  MPI_Bcast(top, sizeof top, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (!top[0]) MPI_Abort(MPI_COMM_WORLD, 1);
  snprintf(input, sizeof input, "%s/input", top);
  snprintf(results, sizeof results, "%s/results", top);

  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  /* 1. In: collective, every rank passes the same paths. */
  double t0 = MPI_Wtime();
  if (benchfs_stage_in(input, "/input") != 0) {
    perror("benchfs_stage_in");
    ok = 0;
  }
  if (rank == 0) printf("staged in %d files in %.3f s\n", files, MPI_Wtime() - t0);

  /* 2. Compute, each rank its share of the files. */
  if (rank == 0 && benchfs_mkdir("/output", 0755) != 0) ok = 0;
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = rank; ok && i < files; i += size)
    if (compute(i) != 0) ok = 0;
  MPI_Barrier(MPI_COMM_WORLD); /* every result is closed, so visible */

  /* 3. Out: collective too. */
  t0 = MPI_Wtime();
  if (benchfs_stage_out("/output", results) != 0) {
    perror("benchfs_stage_out");
    ok = 0;
  }
  if (rank == 0) printf("staged out %d results in %.3f s\n", files, MPI_Wtime() - t0);
  benchfs_finalize();

  if (rank == 0) {
    if (ok && check_results(results, files) != 0) ok = 0;
    printf("%s\n", ok ? "results verified: every sum is right" : "STAGE/COMPUTE FAILED");
    remove_tree(top, "input", files, "txt");
    remove_tree(top, "results", files, "sum");
    rmdir(top);
  }
  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
