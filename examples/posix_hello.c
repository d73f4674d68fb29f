/* posix_hello: hello.c with POSIX calls only, for the preload library:
 * BenchFS starts in MPI_Init, and files under /benchfs are its.
 *
 *   mpirun -np 4 -x LD_PRELOAD=$prefix/lib/libbenchfs-preload.so ./posix_hello
 *
 * Every rank writes "/benchfs/hello.<rank>" with stdio, then reads the file
 * of the next rank and checks it.  No BenchFS header, no BenchFS call. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv); /* the preload starts BenchFS here */
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  char path[64];
  snprintf(path, sizeof path, "/benchfs/hello.%d", rank);
  FILE *f = fopen(path, "w");
  if (!f || fprintf(f, "hello from rank %d of %d", rank, size) < 0 || fclose(f) != 0) {
    perror(path);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  /* Close-to-open: after fclose, every rank that opens the file sees it. */
  MPI_Barrier(MPI_COMM_WORLD);

  int next = (rank + 1) % size;
  char expect[64], got[64] = {0};
  snprintf(path, sizeof path, "/benchfs/hello.%d", next);
  snprintf(expect, sizeof expect, "hello from rank %d of %d", next, size);
  f = fopen(path, "r");
  if (f) {
    if (!fgets(got, sizeof got, f)) got[0] = '\0';
    fclose(f);
  }
  int ok = strcmp(got, expect) == 0;
  printf("rank %d read %s: \"%s\" %s\n", rank, path, got, ok ? "(verified)" : "(WRONG)");
  MPI_Barrier(MPI_COMM_WORLD);
  snprintf(path, sizeof path, "/benchfs/hello.%d", rank);
  unlink(path);

  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Finalize(); /* ... and stops it here */
  return all_ok ? 0 : 1;
}
