// The next definition of a function the preload library replaces: libc's
// (or whichever library comes after us), found once with dlsym(RTLD_NEXT).
#pragma once

#include <dlfcn.h>

namespace benchfs::preload {

// dlsym(RTLD_NEXT, name), or a function that fails with ENOSYS when there is
// none (a libc without that symbol): never a null call.
void* next_symbol(const char* name);

}  // namespace benchfs::preload

// REAL(open)(path, flags, mode): libc's open.  The lookup runs once per
// function (a function-local static), so the cost per call is a load.
#define REAL(name)                                                                        \
  ([]() {                                                                                 \
    static auto fn = reinterpret_cast<decltype(&::name)>(::benchfs::preload::next_symbol(#name)); \
    return fn;                                                                            \
  }())
