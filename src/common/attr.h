// The metadata record of a file or directory, as stored by its owner and
// carried in replies.
#pragma once

#include <sys/stat.h>

#include <cstdint>

namespace benchfs {

struct Attr {
  uint64_t id = 0;     // file id: decides chunk placement, survives rename
  uint32_t mode = 0;   // type (S_IFREG/S_IFDIR/S_IFLNK) and permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint64_t size = 0;   // a symbolic link's: the length of its target
  int64_t atime_ns = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool is_dir() const { return S_ISDIR(mode); }
  bool is_reg() const { return S_ISREG(mode); }
  bool is_link() const { return S_ISLNK(mode); }
};

// Nanoseconds since the epoch, from CLOCK_REALTIME.
int64_t now_ns();

// Fills a struct stat from an Attr (st_blksize is the chunk size).
void attr_to_stat(const Attr& attr, uint64_t chunk_size, struct stat* st);

}  // namespace benchfs
