// Which path arguments are BenchFS's: those under the mount prefix
// (BENCHFS_MOUNT, default /benchfs), after relative paths are joined to the
// working directory or to the directory descriptor of an *at call.  The
// working directory may lie inside the mount: the kernel's does not move
// then (the mount is not a kernel directory), and relative paths resolve
// against the one kept here.
#pragma once

#include <string>

namespace benchfs::preload {

struct Target {
  enum Kind {
    kLibc,      // not ours: call libc with the arguments as given
    kLibcPath,  // not ours, but libc must get `path` (a relative path that
                // left a working directory inside the mount)
    kBenchfs,   // ours: `path` is normalised, mount prefix included
    kError,     // fail with `error` (e.g. ENOTDIR for a file's descriptor)
  };
  Kind kind = kLibc;
  std::string path;
  int error = 0;
};

// The mount prefix, normalised (read from BENCHFS_MOUNT once).
const std::string& mount();

// Where (dirfd, path) leads; dirfd is AT_FDCWD for calls without one.
Target resolve(int dirfd, const char* path);

// The working directory inside the mount, or "" when it is the kernel's.
std::string virtual_cwd();
void set_virtual_cwd(std::string path);

}  // namespace benchfs::preload
