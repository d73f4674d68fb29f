// What the parts of the preload library share: how a call is handed to
// BenchFS, and the state of BenchFS in this process.
#pragma once

#include <cerrno>
#include <cstdio>
#include <memory>
#include <type_traits>

#include "preload/fd_table.h"
#include "preload/paths.h"

namespace benchfs::preload {

// Whether this process is a fork() child of one that ran BenchFS: the
// child has a copy of the client's state but none of its threads, so
// BenchFS calls there fail (ENODEV) and closing a descriptor only releases
// its number.
bool forked_child();

// Says once per process, on stderr, why calls under the mount fail.
void warn_not_running();

inline int fail(int err) {
  errno = err;
  return -1;
}

// Runs fn (a benchfs_* call returning -1 and errno on failure) on behalf of
// the application: ENODEV in a forked child, and a one-time warning when
// BenchFS is not running.
// Failure is -1, or NULL for a call returning a pointer.
template <typename Fn>
auto call_benchfs(Fn fn) -> decltype(fn()) {
  using R = decltype(fn());
  R failed;
  if constexpr (std::is_pointer_v<R>)
    failed = nullptr;
  else
    failed = static_cast<R>(-1);
  if (forked_child()) {
    warn_not_running();
    errno = ENODEV;
    return failed;
  }
  R r = fn();
  if (r == failed && errno == ENODEV) warn_not_running();
  return r;
}

// A call with a path: libc's function for paths not ours (with the path a
// working directory in the mount made of a relative one), bfs(path) for
// ours.
template <typename Libc, typename Bfs>
int on_path(int dirfd, const char* path, Libc libc, Bfs bfs) {
  Target t = resolve(dirfd, path);
  switch (t.kind) {
    case Target::kLibc: return libc(path);
    case Target::kLibcPath: return libc(t.path.c_str());
    case Target::kError: return fail(t.error);
    case Target::kBenchfs: break;
  }
  return call_benchfs([&] { return bfs(t.path); });
}

// The description behind a BenchFS descriptor, or null (not ours).
inline std::shared_ptr<Description> ours(int fd) { return fds().holds(fd) ? fds().get(fd) : nullptr; }

// Opens path (a kBenchfs target) in BenchFS and reserves a descriptor
// number for it.  -1 and errno on failure.
int open_benchfs(const std::string& path, int flags, mode_t mode);

// Closes a BenchFS descriptor: releases the number, and closes the BenchFS
// file at its last link.  The result of that close (e.g. EIO) is returned.
int close_benchfs(int fd);

// Stdio streams over BenchFS descriptors (stdio.cc).
FILE* stream_for(int fd, const char* mode, bool owns_fd);
// Before fd 0, 1 or 2 changes: what stdin/stdout/stderr buffered goes out
// to the file it was written for.
void flush_std_stream(int fd);
// After fd 0, 1 or 2 became (or stopped being) a BenchFS descriptor:
// points stdin/stdout/stderr at a stream over it (or back at libc's).
void std_stream_changed(int fd);
// Flushes every stream over a BenchFS descriptor (before BenchFS stops).
void flush_streams();

}  // namespace benchfs::preload
