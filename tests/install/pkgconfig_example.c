/* Built by `make installcheck` with `mpicc $(pkg-config --cflags --libs benchfs)`
 * against the installed library, and run under mpirun. */
#include <benchfs/benchfs.h>
#include <fcntl.h>
#include <stdio.h>
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (benchfs_init(MPI_COMM_WORLD) != 0) return 1;
  int fd = benchfs_open("/installed", O_CREAT | O_RDWR, 0644);
  char back[5] = {0};
  int ok = benchfs_pwrite(fd, "ok!!", 4, 0) == 4 && benchfs_pread(fd, back, 4, 0) == 4;
  printf("installed BenchFS on rank %d: %s\n", benchfs_rank(), ok ? back : "FAILED");
  benchfs_close(fd);
  benchfs_finalize();
  MPI_Finalize();
  return !ok;
}
