/* hello: start BenchFS, write a file, read it back on another rank, stop.
 *
 *   mpirun -np 4 ./hello
 *
 * Every rank writes "/hello.<rank>", then reads the file of the next rank
 * and checks it.  BenchFS lives only as long as this job. */
#include <benchfs/benchfs.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  /* Collective: every rank becomes a BenchFS server and client. */
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  char path[64], text[64];
  snprintf(path, sizeof path, "/hello.%d", rank);
  snprintf(text, sizeof text, "hello from rank %d of %d", rank, size);
  int fd = benchfs_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0 || benchfs_write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
    perror("write");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  /* Close-to-open: after close, every rank that opens the file sees it. */
  benchfs_close(fd);
  MPI_Barrier(MPI_COMM_WORLD);

  int next = (rank + 1) % size;
  char expect[64], got[64] = {0};
  snprintf(path, sizeof path, "/hello.%d", next);
  snprintf(expect, sizeof expect, "hello from rank %d of %d", next, size);
  fd = benchfs_open(path, O_RDONLY);
  ssize_t n = fd < 0 ? -1 : benchfs_read(fd, got, sizeof got - 1);
  benchfs_close(fd);
  int ok = n == (ssize_t)strlen(expect) && strcmp(got, expect) == 0;
  printf("rank %d read %s: \"%s\" %s\n", rank, path, got, ok ? "(verified)" : "(WRONG)");

  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  benchfs_finalize(); /* collective: the file system goes away here */
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
