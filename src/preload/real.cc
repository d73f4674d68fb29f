#include "preload/real.h"

#include <cerrno>

namespace benchfs::preload {
namespace {

int enosys_stub() {
  errno = ENOSYS;
  return -1;
}

}  // namespace

void* next_symbol(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  return fn ? fn : reinterpret_cast<void*>(&enosys_stub);
}

}  // namespace benchfs::preload
