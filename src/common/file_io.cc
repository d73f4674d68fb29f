#include "common/file_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace benchfs {

int64_t pwrite_full(int fd, const char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done > 0 ? static_cast<int64_t>(done) : -errno;
    if (n == 0) return done > 0 ? static_cast<int64_t>(done) : -EIO;
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(len);
}

int64_t pread_full(int fd, char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) {
      std::memset(buf + done, 0, len - done);  // past the end: a hole
      break;
    }
    done += static_cast<size_t>(n);
  }
  return static_cast<int64_t>(len);
}

}  // namespace benchfs
