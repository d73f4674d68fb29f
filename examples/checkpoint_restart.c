/* checkpoint_restart: file-per-process checkpoints, and a restart that
 * loads another rank's checkpoint.
 *
 *   mpirun -np 4 ./checkpoint_restart [MiB_per_rank]
 *
 * Every rank computes its state (an array of doubles, 4 MiB by default) and
 * writes it with a small header to /ckpt/step<k>/rank<r>: open, write, fsync,
 * close.  After the second step the first checkpoint is removed (unlink every
 * file, then rmdir).  Then the job "restarts with its ranks shifted": rank r
 * resumes the work of rank r+1, so it checks the size of /ckpt/step2/rank<r+1>
 * with stat, loads it and verifies every value.
 *
 * BenchFS lives only as long as the job: a real job would copy its last
 * checkpoint to a persistent file system before it ends (stage-out). */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAGIC 0x31544b4353464242ULL /* "BBFSCKT1" */

/* What a checkpoint file starts with: enough to check it is the right one. */
struct header {
  uint64_t magic;
  int32_t rank, step; /* who wrote it, after which step */
  uint64_t count;     /* number of doubles that follow */
};

/* The state of `rank` after `step`: a "simulation" the restart can recompute
 * to check what it loaded.  Exact in double precision. */
static double state_value(int rank, int step, uint64_t i) {
  return rank * 1e6 + step * 1e3 + (double)i / 8.0;
}

/* Writes this rank's checkpoint of `step`; 0 on success. */
static int checkpoint(int rank, int step, const double *state, uint64_t count) {
  char path[64];
  snprintf(path, sizeof path, "/ckpt/step%d/rank%d", step, rank);
  struct header h = {MAGIC, rank, step, count};
  size_t bytes = count * sizeof *state;
  int rc = -1, fd = benchfs_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  /* fsync: the servers holding the chunks flush them to their backing files
   * (uring backend), and the size is published (close would publish it too). */
  if (fd >= 0 && benchfs_write(fd, &h, sizeof h) == (ssize_t)sizeof h &&
      benchfs_write(fd, state, bytes) == (ssize_t)bytes && benchfs_fsync(fd) == 0)
    rc = 0;
  if (fd >= 0 && benchfs_close(fd) != 0) rc = -1;
  if (rc != 0) fprintf(stderr, "rank %d: checkpoint %s: %s\n", rank, path, strerror(errno));
  return rc;
}

/* Loads the checkpoint `from` wrote after `step` into state and checks it;
 * 0 if every value is right. */
static int restart(int rank, int from, int step, double *state, uint64_t count) {
  char path[64];
  snprintf(path, sizeof path, "/ckpt/step%d/rank%d", step, from);
  /* The writer closed it before the barrier: stat sees the whole size. */
  struct stat st;
  long long expect_size = (long long)(sizeof(struct header) + count * sizeof *state);
  if (benchfs_stat(path, &st) != 0) {
    fprintf(stderr, "rank %d: stat %s: %s\n", rank, path, strerror(errno));
    return -1;
  }
  if ((long long)st.st_size != expect_size) {
    fprintf(stderr, "rank %d: %s has %lld bytes, expected %lld\n", rank, path,
            (long long)st.st_size, expect_size);
    return -1;
  }
  struct header h;
  size_t bytes = count * sizeof *state;
  int rc = -1, fd = benchfs_open(path, O_RDONLY);
  /* A read is short only at end of file: one read per part is enough. */
  if (fd >= 0 && benchfs_read(fd, &h, sizeof h) == (ssize_t)sizeof h &&
      benchfs_read(fd, state, bytes) == (ssize_t)bytes)
    rc = 0;
  else
    fprintf(stderr, "rank %d: read %s: %s\n", rank, path, strerror(errno));
  if (fd >= 0) benchfs_close(fd);
  if (rc != 0) return -1;
  if (h.magic != MAGIC || h.rank != from || h.step != step || h.count != count) {
    fprintf(stderr, "rank %d: %s: wrong header (rank %d, step %d, %llu values)\n", rank, path,
            (int)h.rank, (int)h.step, (unsigned long long)h.count);
    return -1;
  }
  uint64_t bad = 0;
  for (uint64_t i = 0; i < count; ++i)
    if (state[i] != state_value(from, step, i)) ++bad;
  printf("rank %d restarted from %s: step %d, %llu values, %lld bytes %s\n", rank, path,
         (int)h.step, (unsigned long long)count, (long long)st.st_size,
         bad ? "(WRONG)" : "(verified)");
  return bad ? -1 : 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  double mib = argc > 1 ? atof(argv[1]) : 4.0;
  uint64_t count = (uint64_t)(mib * 1024 * 1024) / sizeof(double);
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  double *state = malloc((count ? count : 1) * sizeof *state);
  int ok = state != NULL;

  /* One rank makes the directories, before anyone creates files in them. */
  if (rank == 0 && benchfs_mkdir("/ckpt", 0755) != 0) {
    perror("mkdir /ckpt");
    ok = 0;
  }
  for (int step = 1; step <= 2; ++step) {
    for (uint64_t i = 0; ok && i < count; ++i)
      state[i] = state_value(rank, step, i); /* "compute" */
    char dir[64];
    snprintf(dir, sizeof dir, "/ckpt/step%d", step);
    if (rank == 0 && benchfs_mkdir(dir, 0755) != 0) {
      perror(dir);
      ok = 0;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (!ok || checkpoint(rank, step, state, count) != 0) ok = 0;
    /* A step's checkpoint is complete once every rank has closed its file. */
    MPI_Barrier(MPI_COMM_WORLD);
    double t = MPI_Wtime() - t0;
    if (rank == 0)
      printf("step %d: %d ranks wrote %s/rank<r>, %.1f MiB each, in %.3f s (%.1f MiB/s)\n", step,
             size, dir, count * sizeof(double) / 1048576.0, t,
             size * (count * sizeof(double) / 1048576.0) / t);
  }

  /* Step 2 is complete on every rank, so step 1 can go: each rank unlinks
   * its own file (which frees its chunks on every server); once all have
   * (barrier), the directory is empty and one rank removes it. */
  char path[64];
  snprintf(path, sizeof path, "/ckpt/step1/rank%d", rank);
  if (benchfs_unlink(path) != 0) {
    perror(path);
    ok = 0;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    struct stat st;
    if (benchfs_rmdir("/ckpt/step1") != 0) {
      perror("rmdir /ckpt/step1");
      ok = 0;
    } else if (benchfs_stat("/ckpt/step1", &st) == 0 || errno != ENOENT) {
      fprintf(stderr, "/ckpt/step1 still exists after rmdir\n");
      ok = 0;
    } else {
      printf("removed the older checkpoint: %d x unlink, rmdir /ckpt/step1\n", size);
    }
  }

  /* The job "restarts": the state in memory is gone, and the ranks come back
   * shifted, so rank r resumes the work of rank r+1 from the file that rank
   * wrote, possibly on another node. */
  MPI_Barrier(MPI_COMM_WORLD);
  if (ok) memset(state, 0, count * sizeof *state);
  if (!ok || restart(rank, (rank + 1) % size, 2, state, count) != 0) ok = 0;

  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0)
    printf("%s\n", all_ok ? "restart verified: every rank loaded rank r+1's checkpoint of step 2"
                          : "CHECKPOINT/RESTART FAILED");
  free(state);
  benchfs_finalize(); /* collective: /ckpt/step2 goes away with the file system */
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
