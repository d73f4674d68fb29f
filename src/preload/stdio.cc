// Stdio streams on BenchFS files: fopen and fdopen make a stream whose
// reads, writes, seeks and close go through our descriptor calls
// (fopencookie), so fprintf, fgets, fread, fwrite, fseek, fflush and fclose
// work unchanged.  When fd 0, 1 or 2 becomes a BenchFS descriptor (dup2 onto
// stdout, freopen of stdout), stdin/stdout/stderr are pointed at such a
// stream: libc writes them inside libc, past any interposed write.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "preload/preload.h"
#include "preload/real.h"

namespace benchfs::preload {
namespace {

struct Cookie {
  int fd;
  bool owns_fd;  // fclose closes fd (fopen, fdopen); not for a std stream
};

ssize_t cookie_read(void* c, char* buf, size_t n) { return read(static_cast<Cookie*>(c)->fd, buf, n); }

ssize_t cookie_write(void* c, const char* buf, size_t n) {
  ssize_t r = write(static_cast<Cookie*>(c)->fd, buf, n);
  return r < 0 ? 0 : r;  // fopencookie: 0 on error, never negative
}

int cookie_seek(void* c, off64_t* offset, int whence) {
  off64_t r = lseek64(static_cast<Cookie*>(c)->fd, *offset, whence);
  if (r < 0) return -1;
  *offset = r;
  return 0;
}

int cookie_close(void* c) {
  auto* cookie = static_cast<Cookie*>(c);
  int r = cookie->owns_fd ? close(cookie->fd) : 0;
  delete cookie;
  return r;
}

// fopen's mode as open flags; -1 for a mode fopen rejects.
int open_flags(const char* mode) {
  int flags;
  switch (mode[0]) {
    case 'r': flags = 0; break;
    case 'w': flags = O_CREAT | O_TRUNC; break;
    case 'a': flags = O_CREAT | O_APPEND; break;
    default: return -1;
  }
  bool plus = false;
  for (const char* m = mode + 1; *m && *m != ','; ++m) {
    if (*m == '+') plus = true;
    else if (*m == 'x') flags |= O_EXCL;
    else if (*m == 'e') flags |= O_CLOEXEC;
  }
  if (plus) return flags | O_RDWR;
  return flags | (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
}

std::mutex g_std_mutex;
FILE* g_libc_std[3];  // libc's stdin/stdout/stderr while ours replace them
FILE* g_ours_std[3];

FILE** std_variable(int fd) { return fd == 0 ? &stdin : fd == 1 ? &stdout : &stderr; }

}  // namespace

FILE* stream_for(int fd, const char* mode, bool owns_fd) {
  auto* cookie = new Cookie{fd, owns_fd};
  cookie_io_functions_t io = {cookie_read, cookie_write, cookie_seek, cookie_close};
  FILE* f = fopencookie(cookie, mode, io);
  if (!f) {
    delete cookie;
    return nullptr;
  }
  // fileno() gives the descriptor (a cookie stream has none by itself), so
  // fileno-then-fsync and the like work.  glibc marks a cookie stream open
  // by a _fileno other than -1 and never makes system calls on it.
  f->_fileno = fd;
  return f;
}

void flush_std_stream(int fd) {
  if (fd >= 0 && fd <= 2) fflush(*std_variable(fd));
}

void std_stream_changed(int fd) {
  std::lock_guard<std::mutex> lock(g_std_mutex);
  FILE** var = std_variable(fd);
  if (g_ours_std[fd]) {
    fclose(g_ours_std[fd]);  // does not close fd (owns_fd false)
    g_ours_std[fd] = nullptr;
    *var = g_libc_std[fd];
  }
  if (!fds().holds(fd)) return;
  FILE* f = stream_for(fd, fd == 0 ? "r" : "w", false);
  if (!f) return;
  if (fd == 2) setvbuf(f, nullptr, _IONBF, 0);
  g_libc_std[fd] = *var;
  g_ours_std[fd] = f;
  *var = f;
}

void flush_streams() { fflush(nullptr); }

}  // namespace benchfs::preload

using namespace benchfs::preload;

// The replacements of libc's (and MPI's) functions: exported, unlike the
// rest of the library (-fvisibility=hidden).
#pragma GCC visibility push(default)

namespace {

FILE* open_stream(const char* path, const char* mode, FILE* (*libc)(const char*, const char*)) {
  Target t = resolve(AT_FDCWD, path);
  switch (t.kind) {
    case Target::kLibc: return libc(path, mode);
    case Target::kLibcPath: return libc(t.path.c_str(), mode);
    case Target::kError: return errno = t.error, nullptr;
    case Target::kBenchfs: break;
  }
  int flags = mode ? open_flags(mode) : -1;
  if (flags < 0) return errno = EINVAL, nullptr;
  int fd = open_benchfs(t.path, flags, 0666);
  if (fd < 0) return nullptr;
  FILE* f = stream_for(fd, mode, true);
  if (!f) {
    int err = errno;
    close_benchfs(fd);
    errno = err;
  }
  return f;
}

}  // namespace

extern "C" FILE* fopen(const char* path, const char* mode) { return open_stream(path, mode, REAL(fopen)); }
extern "C" FILE* fopen64(const char* path, const char* mode) {
  return open_stream(path, mode, REAL(fopen64));
}

extern "C" FILE* fdopen(int fd, const char* mode) noexcept {
  if (!fds().holds(fd)) return REAL(fdopen)(fd, mode);
  if (!mode || open_flags(mode) < 0) return errno = EINVAL, nullptr;
  return stream_for(fd, mode, true);
}

namespace {

FILE* reopen(const char* path, const char* mode, FILE* stream,
             FILE* (*libc)(const char*, const char*, FILE*)) {
  Target t = path ? resolve(AT_FDCWD, path) : Target{};
  if (t.kind == Target::kError) return errno = t.error, nullptr;
  int std_fd = stream == stdin ? 0 : stream == stdout ? 1 : stream == stderr ? 2 : -1;
  if (t.kind != Target::kBenchfs) {
    if (std_fd >= 0 && fds().holds(std_fd)) {
      // A std stream over BenchFS back to a kernel file: libc's stream,
      // reopened onto the path, takes the number over again.
      close(std_fd);  // points the std variable back at libc's stream
      return libc(t.kind == Target::kLibcPath ? t.path.c_str() : path, mode, *std_variable(std_fd));
    }
    return libc(t.kind == Target::kLibcPath ? t.path.c_str() : path, mode, stream);
  }
  int flags = mode ? open_flags(mode) : -1;
  if (flags < 0) return errno = EINVAL, nullptr;
  fflush(stream);
  int fd = open_benchfs(t.path, flags, 0666);
  if (fd < 0) return nullptr;
  if (std_fd >= 0) {
    // Onto the std stream's own number: stdin/stdout/stderr follow it.
    int r = dup2(fd, std_fd);
    int err = errno;
    close(fd);
    if (r < 0) return errno = err, nullptr;
    return *std_variable(std_fd);
  }
  // Another stream: closed, and a new one returned (a caller that keeps
  // using the old pointer instead of freopen's result is not served).
  fclose(stream);
  FILE* f = stream_for(fd, mode, true);
  if (!f) close(fd);
  return f;
}

}  // namespace

extern "C" FILE* freopen(const char* path, const char* mode, FILE* stream) {
  return reopen(path, mode, stream, REAL(freopen));
}
extern "C" FILE* freopen64(const char* path, const char* mode, FILE* stream) {
  return reopen(path, mode, stream, REAL(freopen64));
}

#pragma GCC visibility pop
