#include "common/attr.h"

#include <cstring>
#include <ctime>

namespace benchfs {

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

namespace {
timespec to_timespec(int64_t ns) {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000LL);
  ts.tv_nsec = static_cast<long>(ns % 1000000000LL);
  return ts;
}
}  // namespace

void attr_to_stat(const Attr& a, uint64_t chunk_size, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_dev = 0xBE4C;
  st->st_ino = a.id;
  st->st_mode = a.mode;
  st->st_nlink = a.nlink;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_size = static_cast<off_t>(a.size);
  st->st_blksize = static_cast<blksize_t>(chunk_size);
  // A link's size is its target's length, which takes no data blocks.
  st->st_blocks = a.is_link() ? 0 : static_cast<blkcnt_t>((a.size + 511) / 512);
  st->st_atim = to_timespec(a.atime_ns);
  st->st_mtim = to_timespec(a.mtime_ns);
  st->st_ctim = to_timespec(a.ctime_ns);
}

}  // namespace benchfs
