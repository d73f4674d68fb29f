/* threads: several threads of one rank doing BenchFS I/O at the same time.
 *
 *   mpirun -np 4 ./threads
 *
 * Every BenchFS entry point is thread-safe, and threads doing BenchFS I/O
 * need nothing from MPI: here only the main thread calls MPI, so plain
 * MPI_Init will do (BenchFS works at any MPI thread level).
 *
 * Each rank starts 4 threads.  Thread t
 *  - writes region t of its rank's file /threads/rank<r>.dat with
 *    benchfs_pwrite, through one fd the 4 threads share.  Regions are not
 *    multiples of the chunk size, so neighbouring threads write different
 *    bytes of the same chunk at once;
 *  - creates, writes and closes its own file /threads/rank<r>.thread<t>.
 * After the join the main thread closes the shared fd (publishing the size),
 * and after a barrier 4 new threads per rank verify everything: their
 * rank's files and those of rank r+1. */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define THREADS 4
#define REGION (1536 * 1024 + 1000)      /* bytes of the shared file per thread */
#define PRIVATE(t) (300000 + 1000 * (t)) /* bytes of thread t's own file */
#define PIECE 100000                     /* bytes per pwrite/pread */

/* The byte at `offset` of a file; `seed` tells the files apart. */
static unsigned char content(int seed, long long offset) {
  return (unsigned char)((offset * 13 + offset / 6007 + seed * 101) & 0xff);
}
static int shared_seed(int rank) { return rank * (THREADS + 1); }
static int private_seed(int rank, int t) { return rank * (THREADS + 1) + 1 + t; }

struct job {
  int rank, next, t; /* this rank, the rank whose files are also verified, thread index */
  int shared_fd;     /* the rank's shared file, open for writing (write phase) */
  long long errors;  /* the thread's result */
};

static void fail(struct job *j, const char *what, const char *path) {
  fprintf(stderr, "rank %d thread %d: %s %s: %s\n", j->rank, j->t, what, path, strerror(errno));
  ++j->errors;
}

/* Write phase: region t of the shared file, then the thread's own file. */
static void *writer(void *arg) {
  struct job *j = arg;
  unsigned char *buf = malloc(PIECE);
  char path[64];
  if (!buf) {
    ++j->errors;
    return NULL;
  }
  long long start = (long long)j->t * REGION;
  for (long long off = start; off < start + REGION; off += PIECE) {
    long long n = start + REGION - off < PIECE ? start + REGION - off : PIECE;
    for (long long b = 0; b < n; ++b) buf[b] = content(shared_seed(j->rank), off + b);
    /* pwrite takes its offset as an argument: threads sharing an fd do not
     * disturb each other's position. */
    if (benchfs_pwrite(j->shared_fd, buf, n, off) != n) {
      fail(j, "pwrite", "shared file");
      break;
    }
  }

  snprintf(path, sizeof path, "/threads/rank%d.thread%d", j->rank, j->t);
  int fd = benchfs_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  long long size = PRIVATE(j->t);
  if (fd < 0) {
    fail(j, "open", path);
  } else {
    for (long long off = 0; off < size; off += PIECE) {
      long long n = size - off < PIECE ? size - off : PIECE;
      for (long long b = 0; b < n; ++b) buf[b] = content(private_seed(j->rank, j->t), off + b);
      if (benchfs_write(fd, buf, n) != n) {
        fail(j, "write", path);
        break;
      }
    }
    if (benchfs_close(fd) != 0) fail(j, "close", path);
  }
  free(buf);
  return NULL;
}

/* Checks bytes [start, start + len) of path, a file of `size` bytes. */
static void check(struct job *j, const char *path, int seed, long long start, long long len,
                  long long size, unsigned char *buf) {
  int fd = benchfs_open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || benchfs_fstat(fd, &st) != 0) {
    fail(j, "open", path);
    if (fd >= 0) benchfs_close(fd);
    return;
  }
  if ((long long)st.st_size != size) {
    fprintf(stderr, "rank %d thread %d: %s has %lld bytes, expected %lld\n", j->rank, j->t, path,
            (long long)st.st_size, size);
    ++j->errors;
  }
  for (long long off = start; off < start + len; off += PIECE) {
    long long n = start + len - off < PIECE ? start + len - off : PIECE;
    if (benchfs_pread(fd, buf, n, off) != n) {
      fail(j, "pread", path);
      break;
    }
    for (long long b = 0; b < n; ++b)
      if (buf[b] != content(seed, off + b)) ++j->errors;
  }
  benchfs_close(fd);
}

/* Verify phase: region t of the shared files and the t-th own files of this
 * rank and of the next one. */
static void *verifier(void *arg) {
  struct job *j = arg;
  unsigned char *buf = malloc(PIECE);
  char path[64];
  if (!buf) {
    ++j->errors;
    return NULL;
  }
  int ranks[2] = {j->rank, j->next};
  for (int k = 0; k < (j->next == j->rank ? 1 : 2); ++k) {
    snprintf(path, sizeof path, "/threads/rank%d.dat", ranks[k]);
    check(j, path, shared_seed(ranks[k]), (long long)j->t * REGION, REGION,
          (long long)THREADS * REGION, buf);
    snprintf(path, sizeof path, "/threads/rank%d.thread%d", ranks[k], j->t);
    check(j, path, private_seed(ranks[k], j->t), 0, PRIVATE(j->t), PRIVATE(j->t), buf);
  }
  free(buf);
  return NULL;
}

/* Runs fn on THREADS threads and waits for them; the sum of their errors. */
static long long run_threads(void *(*fn)(void *), struct job *jobs) {
  pthread_t tid[THREADS];
  int started[THREADS];
  long long errors = 0;
  for (int t = 0; t < THREADS; ++t) {
    jobs[t].errors = 0;
    int rc = pthread_create(&tid[t], NULL, fn, &jobs[t]);
    started[t] = rc == 0;
    if (rc != 0) {
      fprintf(stderr, "rank %d: pthread_create: %s\n", jobs[t].rank, strerror(rc));
      ++errors;
    }
  }
  for (int t = 0; t < THREADS; ++t)
    if (started[t]) {
      pthread_join(tid[t], NULL);
      errors += jobs[t].errors;
    }
  return errors;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  long long errors = 0;
  if (rank == 0 && benchfs_mkdir("/threads", 0755) != 0) {
    perror("mkdir /threads");
    ++errors;
  }
  MPI_Barrier(MPI_COMM_WORLD);

  /* Write phase: one fd of the rank's file, shared by its threads. */
  char path[64];
  snprintf(path, sizeof path, "/threads/rank%d.dat", rank);
  struct job jobs[THREADS];
  for (int t = 0; t < THREADS; ++t) jobs[t] = (struct job){rank, (rank + 1) % size, t, -1, 0};
  double t0 = MPI_Wtime();
  int fd = benchfs_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) {
    perror(path);
    ++errors;
  } else {
    for (int t = 0; t < THREADS; ++t) jobs[t].shared_fd = fd;
    errors += run_threads(writer, jobs);
    /* Close after the join: it publishes the size (the end of the highest
     * byte any thread wrote through this fd). */
    if (benchfs_close(fd) != 0) {
      perror(path);
      ++errors;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD); /* every rank's files are closed */
  double t1 = MPI_Wtime();

  /* Verify phase: 4 threads again, reading this rank's files and rank r+1's. */
  errors += run_threads(verifier, jobs);
  MPI_Barrier(MPI_COMM_WORLD);
  double t2 = MPI_Wtime();

  /* Clean up: each rank its own files, then one rank the directory. */
  for (int t = 0; t <= THREADS; ++t) {
    if (t < THREADS)
      snprintf(path, sizeof path, "/threads/rank%d.thread%d", rank, t);
    else
      snprintf(path, sizeof path, "/threads/rank%d.dat", rank);
    if (benchfs_unlink(path) != 0) {
      perror(path);
      ++errors;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0 && benchfs_rmdir("/threads") != 0) {
    perror("rmdir /threads");
    ++errors;
  }

  long long all_errors = 0;
  MPI_Allreduce(&errors, &all_errors, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    long long priv = 0;
    for (int t = 0; t < THREADS; ++t) priv += PRIVATE(t);
    double mib = 1024.0 * 1024.0, per_rank = ((double)THREADS * REGION + priv) / mib;
    printf("%d ranks x %d threads: each thread wrote %d bytes of its rank's file\n", size, THREADS,
           REGION);
    printf("(pwrite through one shared fd) and a file of its own (%d to %d bytes)\n", PRIVATE(0),
           PRIVATE(THREADS - 1));
    printf("write:  %.3f s, %.1f MiB per rank, %.1f MiB/s in total\n", t1 - t0, per_rank,
           size * per_rank / (t1 - t0));
    printf("verify: %.3f s, %d threads per rank read their rank's files and rank r+1's\n", t2 - t1,
           THREADS);
    printf("%s\n",
           all_errors == 0 ? "verified: every byte read back correctly" : "VERIFICATION FAILED");
  }
  benchfs_finalize();
  MPI_Finalize();
  return all_errors == 0 ? 0 : 1;
}
