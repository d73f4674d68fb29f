/* posix_shared_file: shared_file.c with POSIX calls only, for the preload
 * library.  N ranks write one file together (N-1), each rank its own
 * interleaved records at computed offsets, then every rank reads the whole
 * file and verifies it.  This is IOR's "hard" pattern.
 *
 *   mpirun -np 4 -x LD_PRELOAD=$prefix/lib/libbenchfs-preload.so ./posix_shared_file [record_bytes] [records_per_rank]
 *
 * The file is /benchfs/shared.dat, or the path in POSIX_SHARED_FILE (which
 * may as well name a file on another file system: the program does not
 * know BenchFS). */
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The byte at a file offset: the test can recompute it anywhere. */
static char expected(long long offset) { return (char)((offset * 7 + offset / 4093) & 0xff); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long long record = argc > 1 ? atoll(argv[1]) : 47008;
  long long count = argc > 2 ? atoll(argv[2]) : 100;
  const char *path = getenv("POSIX_SHARED_FILE");
  if (!path || !*path) path = "/benchfs/shared.dat";

  /* Every rank opens the same file; O_CREAT from all ranks at once is safe. */
  int fd = open(path, O_CREAT | O_WRONLY, 0644);
  if (fd < 0) {
    perror(path);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  char *buf = malloc(record);
  double t0 = MPI_Wtime();
  for (long long i = 0; i < count; ++i) {
    long long offset = (i * size + rank) * record; /* record i of this rank */
    for (long long b = 0; b < record; ++b) buf[b] = expected(offset + b);
    if (pwrite(fd, buf, record, offset) != record) {
      perror("pwrite");
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  close(fd); /* publishes this rank's part of the file size */
  MPI_Barrier(MPI_COMM_WORLD);
  double t1 = MPI_Wtime();

  /* Every rank reads the whole file back and checks every byte. */
  long long total = record * count * size, bad = 0;
  struct stat st;
  if (stat(path, &st) != 0) st.st_size = -1;
  fd = open(path, O_RDONLY);
  for (long long off = 0; off < total; off += record) {
    if (pread(fd, buf, record, off) != record) ++bad;
    for (long long b = 0; b < record; ++b)
      if (buf[b] != expected(off + b)) ++bad;
  }
  close(fd);
  MPI_Barrier(MPI_COMM_WORLD);
  double t2 = MPI_Wtime();

  long long all_bad = 0;
  MPI_Allreduce(&bad, &all_bad, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("shared file %s: %d ranks x %lld records of %lld bytes = %lld bytes, size %lld\n", path,
           size, count, record, total, (long long)st.st_size);
    double mib = 1024.0 * 1024.0;
    printf("write: %.3f s, %.1f MiB/s\n", t1 - t0, total / mib / (t1 - t0));
    printf("read:  %.3f s, %.1f MiB/s (every rank reads the whole file)\n", t2 - t1,
           (double)total * size / mib / (t2 - t1));
    printf("%s\n", all_bad == 0 && st.st_size == total ? "verified: every byte read back correctly"
                                                        : "VERIFICATION FAILED");
    unlink(path);
  }
  free(buf);
  MPI_Finalize();
  return all_bad == 0 && st.st_size == total ? 0 : 1;
}
