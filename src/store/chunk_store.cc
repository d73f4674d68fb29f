#include "store/chunk_store.h"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace benchfs {

int store_file_error(int err) {
  if (err != EMFILE && err != ENFILE) return err;
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true))
    log().warn("chunk store full: no descriptor for another file ({}); each file with bytes on "
               "a server holds one, raise the hard RLIMIT_NOFILE (ulimit -Hn) for more",
               std::strerror(err));
  return ENOSPC;
}

int name_backing_file(int file, int* fd, uint64_t* dev, uint64_t* ino) {
  struct stat st;
  if (::fstat(file, &st) != 0) return errno;
  *fd = file;
  *dev = static_cast<uint64_t>(st.st_dev);
  *ino = static_cast<uint64_t>(st.st_ino);
  return 0;
}

}  // namespace benchfs
