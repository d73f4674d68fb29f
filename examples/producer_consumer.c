/* producer_consumer: one phase of a job writes files, a later phase reads
 * them.  The first half of the ranks produce files of different sizes in
 * /exchange; after a barrier (the phase change) the other half list the
 * directory, open every file, check its size and verify its bytes.  With
 * one rank, rank 0 does both.
 *
 *   mpirun -np 4 ./producer_consumer [files_per_producer]
 *
 * This relies on BenchFS's close-to-open consistency:
 *  - a producer's bytes reach the servers before benchfs_write returns, but
 *    the file's *size* is sent to the file's metadata owner only when the
 *    producer calls benchfs_close (or benchfs_fsync);
 *  - a rank that opens or stats the file after that close sees every byte
 *    and the final size.
 * So: producers close their files (closing publishes them), the barrier
 * orders every close before every open, and consumers can trust fstat and
 * read until end of file.  Without that order a consumer could open a file
 * still being written and find it shorter than it will be. */
#include <benchfs/benchfs.h>
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PIECE 100000 /* bytes per write and read: an odd size, pieces straddle chunks */

/* File `index` of `producer` is this long: most sizes are not multiples of
 * the chunk size, one is exactly a chunk and one is empty. */
static long long file_size(int producer, int index, long long chunk) {
  switch (index % 5) {
    case 0:
      return 1000 + producer; /* less than a chunk */
    case 1:
      return chunk; /* exactly one chunk */
    case 2:
      return 2 * chunk + 4097LL * (producer + 1); /* spills into a third */
    case 3:
      return 3 * chunk + chunk / 2 + producer + 1; /* three and a half */
    default:
      return 0; /* empty */
  }
}

/* The byte at `offset` of that file: a consumer can recompute it. */
static unsigned char content(int producer, int index, long long offset) {
  return (unsigned char)((offset * 131 + offset / 8191 + producer * 17 + index * 5) & 0xff);
}

/* Writes /exchange/from<p>.file<i> piece by piece and closes it; 0 on success. */
static int produce(int producer, int index, unsigned char *buf, long long *bytes) {
  char path[64];
  snprintf(path, sizeof path, "/exchange/from%d.file%d", producer, index);
  int fd = benchfs_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  struct stat st;
  int rc = fd >= 0 && benchfs_fstat(fd, &st) == 0 ? 0 : -1;
  /* st_blksize is the chunk size (BENCHFS_CHUNK_SIZE). */
  long long size = rc == 0 ? file_size(producer, index, st.st_blksize) : 0;
  for (long long off = 0; rc == 0 && off < size; off += PIECE) {
    long long n = size - off < PIECE ? size - off : PIECE;
    for (long long b = 0; b < n; ++b) buf[b] = content(producer, index, off + b);
    if (benchfs_write(fd, buf, n) != n) rc = -1;
  }
  /* Closing publishes the size: from now on every rank that opens the file
   * sees all of it. */
  if (fd >= 0 && benchfs_close(fd) != 0) rc = -1;
  if (rc != 0)
    fprintf(stderr, "produce %s: %s\n", path, strerror(errno));
  else
    *bytes += size;
  return rc;
}

/* Reads /exchange/name to its end and checks its size and every byte; 0 if
 * right.  seen[] catches a file listed twice. */
static int consume(const char *name, int producers, int files, char *seen, unsigned char *buf,
                   long long *bytes) {
  int producer, index, end = 0;
  char path[320];
  snprintf(path, sizeof path, "/exchange/%s", name);
  if (sscanf(name, "from%d.file%d%n", &producer, &index, &end) != 2 || name[end] != '\0' ||
      producer < 0 || producer >= producers || index < 0 || index >= files ||
      seen[producer * files + index]++) {
    fprintf(stderr, "unexpected entry %s\n", path);
    return -1;
  }
  int fd = benchfs_open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || benchfs_fstat(fd, &st) != 0) {
    fprintf(stderr, "open %s: %s\n", path, strerror(errno));
    if (fd >= 0) benchfs_close(fd);
    return -1;
  }
  long long expect = file_size(producer, index, st.st_blksize), off = 0, bad = 0;
  ssize_t n;
  /* A read is short only at end of file; 0 means the end. */
  while ((n = benchfs_read(fd, buf, PIECE)) > 0) {
    for (ssize_t b = 0; b < n; ++b)
      if (buf[b] != content(producer, index, off + b)) ++bad;
    off += n;
  }
  if (n < 0) fprintf(stderr, "read %s: %s\n", path, strerror(errno));
  benchfs_close(fd);
  if (n < 0 || bad || off != expect || (long long)st.st_size != expect) {
    fprintf(stderr, "%s: size %lld, read %lld bytes (%lld wrong), expected %lld\n", path,
            (long long)st.st_size, off, bad, expect);
    return -1;
  }
  *bytes += off;
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int files = argc > 1 ? atoi(argv[1]) : 5;
  if (files < 1) files = 1;
  if (benchfs_init(MPI_COMM_WORLD) != 0) {
    perror("benchfs_init");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  int producers = size > 1 ? size / 2 : 1;
  int is_producer = rank < producers, is_consumer = size == 1 || rank >= producers;
  unsigned char *buf = malloc(PIECE);
  int ok = buf != NULL;

  if (rank == 0 && benchfs_mkdir("/exchange", 0755) != 0) {
    perror("mkdir /exchange");
    ok = 0;
  }
  MPI_Barrier(MPI_COMM_WORLD); /* the directory exists before anyone fills it */

  /* Phase 1: produce. */
  long long produced = 0, all_produced = 0;
  for (int i = 0; ok && is_producer && i < files; ++i)
    if (produce(rank, i, buf, &produced) != 0) ok = 0;
  MPI_Reduce(&produced, &all_produced, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0)
    printf("phase 1: %s %d produced %d files in /exchange, %lld bytes\n",
           producers > 1 ? "ranks 0 to" : "rank", producers - 1, producers * files, all_produced);

  /* The phase change.  Every producer has closed its files before any
   * consumer passes this barrier: close-to-open makes them all visible. */
  MPI_Barrier(MPI_COMM_WORLD);

  /* Phase 2: consume whatever the directory holds. */
  if (ok && is_consumer) {
    char *seen = calloc((size_t)producers * files, 1);
    long long consumed = 0;
    int count = 0;
    benchfs_dir *d = benchfs_opendir("/exchange");
    struct dirent *e;
    if (!d || !seen) {
      perror("opendir /exchange");
      ok = 0;
    }
    /* readdir's order is unspecified (it goes server by server). */
    while (d && seen && (e = benchfs_readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if (e->d_type != DT_REG) {
        fprintf(stderr, "/exchange/%s is not a file\n", e->d_name);
        ok = 0;
      } else if (consume(e->d_name, producers, files, seen, buf, &consumed) != 0) {
        ok = 0;
      }
      ++count;
    }
    if (d) benchfs_closedir(d);
    if (count != producers * files) {
      fprintf(stderr, "rank %d: /exchange lists %d files, expected %d\n", rank, count,
              producers * files);
      ok = 0;
    }
    printf("phase 2: rank %d listed /exchange, read %d files, %lld bytes: %s\n", rank, count,
           consumed, ok ? "every size and byte verified" : "WRONG");
    free(seen);
  }
  MPI_Barrier(MPI_COMM_WORLD); /* every consumer is done */

  /* Clean up: producers remove their files, then one rank the directory. */
  char path[64];
  for (int i = 0; is_producer && i < files; ++i) {
    snprintf(path, sizeof path, "/exchange/from%d.file%d", rank, i);
    if (benchfs_unlink(path) != 0 && ok) {
      perror(path);
      ok = 0;
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0 && benchfs_rmdir("/exchange") != 0) {
    perror("rmdir /exchange");
    ok = 0;
  }

  int all_ok = 0;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0)
    printf("%s\n", all_ok ? "verified, /exchange removed" : "PRODUCER/CONSUMER FAILED");
  free(buf);
  benchfs_finalize();
  MPI_Finalize();
  return all_ok ? 0 : 1;
}
