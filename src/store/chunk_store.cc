#include "store/chunk_store.h"

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

}  // namespace benchfs
