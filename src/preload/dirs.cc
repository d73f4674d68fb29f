// Directory streams over BenchFS directories.  A DIR* of ours is a
// BenchfsDir, told apart from libc's by a registry of the ones we made.
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <cstring>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <unordered_set>

#include "benchfs/benchfs.h"
#include "preload/preload.h"
#include "preload/real.h"

namespace benchfs::preload {
namespace {

struct BenchfsDir {
  int fd = -1;  // what dirfd() gives: a BenchFS descriptor naming the directory
  std::string path;
  benchfs_dir* listing = nullptr;
  long position = 0;  // entries returned since the start (telldir)
};

std::mutex g_dirs_mutex;
std::unordered_set<BenchfsDir*>* g_dirs = new std::unordered_set<BenchfsDir*>;  // never freed
std::atomic<int> g_dir_count{0};

BenchfsDir* ours(DIR* d) {
  if (g_dir_count.load(std::memory_order_acquire) == 0 || !d) return nullptr;
  auto* b = reinterpret_cast<BenchfsDir*>(d);
  std::lock_guard<std::mutex> lock(g_dirs_mutex);
  return g_dirs->count(b) ? b : nullptr;
}

// A stream over the directory `path`, whose descriptor fd it owns.
DIR* make_dir(const std::string& path, int fd) {
  benchfs_dir* listing = call_benchfs([&] { return benchfs_opendir(path.c_str()); });
  if (!listing) return nullptr;
  auto* b = new BenchfsDir{fd, path, listing, 0};
  {
    std::lock_guard<std::mutex> lock(g_dirs_mutex);
    g_dirs->insert(b);
  }
  g_dir_count.fetch_add(1, std::memory_order_release);
  return reinterpret_cast<DIR*>(b);
}

// A directory descriptor for opendir's stream: no BenchFS file behind it
// (bfd -1), its calls go by path.
int reserve_dir_fd(const std::string& path) {
  auto d = std::make_shared<Description>();
  d->path = path;
  return fds().install(d, true);
}

int restart(BenchfsDir* b) {
  benchfs_dir* fresh = call_benchfs([&] { return benchfs_opendir(b->path.c_str()); });
  if (!fresh) return -1;
  benchfs_closedir(b->listing);
  b->listing = fresh;
  b->position = 0;
  return 0;
}

}  // namespace
}  // namespace benchfs::preload

using namespace benchfs::preload;

// The replacements of libc's (and MPI's) functions: exported, unlike the
// rest of the library (-fvisibility=hidden).
#pragma GCC visibility push(default)

extern "C" DIR* opendir(const char* path) {
  Target t = resolve(AT_FDCWD, path);
  switch (t.kind) {
    case Target::kLibc: return REAL(opendir)(path);
    case Target::kLibcPath: return REAL(opendir)(t.path.c_str());
    case Target::kError: return errno = t.error, nullptr;
    case Target::kBenchfs: break;
  }
  int fd = reserve_dir_fd(t.path);
  if (fd < 0) return nullptr;
  DIR* d = make_dir(t.path, fd);
  if (!d) {
    int err = errno;
    close_benchfs(fd);
    errno = err;
  }
  return d;
}

extern "C" DIR* fdopendir(int fd) {
  auto d = benchfs::preload::ours(fd);
  if (!d) return REAL(fdopendir)(fd);
  return make_dir(d->path, fd);  // ENOTDIR from BenchFS for a file
}

extern "C" struct dirent* readdir(DIR* dir) {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(readdir)(dir);
  if (forked_child()) {
    warn_not_running();
    return errno = ENODEV, nullptr;
  }
  struct dirent* e = benchfs_readdir(b->listing);  // at the end: NULL, errno unchanged
  if (e) ++b->position;
  return e;
}

static_assert(sizeof(struct dirent64) == sizeof(struct dirent));
extern "C" struct dirent64* readdir64(DIR* dir) {
  if (!ours(dir)) return REAL(readdir64)(dir);
  return reinterpret_cast<struct dirent64*>(readdir(dir));
}

// readdir_r is deprecated, but programs still call it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
extern "C" int readdir_r(DIR* dir, struct dirent* entry, struct dirent** result) {
  if (!ours(dir)) return REAL(readdir_r)(dir, entry, result);
  int saved = errno;
  errno = 0;
  struct dirent* e = readdir(dir);
  int err = errno;
  errno = saved;
  if (!e) {
    *result = nullptr;
    return err;
  }
  std::memcpy(entry, e, sizeof *entry);
  *result = entry;
  return 0;
}

extern "C" int readdir64_r(DIR* dir, struct dirent64* entry, struct dirent64** result) {
  if (!ours(dir)) return REAL(readdir64_r)(dir, entry, result);
  return readdir_r(dir, reinterpret_cast<struct dirent*>(entry),
                   reinterpret_cast<struct dirent**>(result));
}

#pragma GCC diagnostic pop

extern "C" int closedir(DIR* dir) {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(closedir)(dir);
  {
    std::lock_guard<std::mutex> lock(g_dirs_mutex);
    g_dirs->erase(b);
  }
  g_dir_count.fetch_sub(1, std::memory_order_release);
  benchfs_closedir(b->listing);
  int r = close_benchfs(b->fd);
  delete b;
  return r;
}

extern "C" int dirfd(DIR* dir) noexcept {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(dirfd)(dir);
  return b->fd;
}

extern "C" void rewinddir(DIR* dir) noexcept {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(rewinddir)(dir);
  restart(b);
}

extern "C" long telldir(DIR* dir) noexcept {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(telldir)(dir);
  return b->position;
}

extern "C" void seekdir(DIR* dir, long pos) noexcept {
  BenchfsDir* b = ours(dir);
  if (!b) return REAL(seekdir)(dir, pos);
  // A listing is read forward only: start again and skip pos entries.
  if (restart(b) != 0) return;
  while (b->position < pos && readdir(dir)) {
  }
}

namespace {

template <typename Entry>
int scan(const char* path, Entry*** list, int (*filter)(const Entry*),
         int (*compar)(const Entry**, const Entry**)) {
  DIR* d = opendir(path);
  if (!d) return -1;
  Entry** out = nullptr;
  size_t n = 0, cap = 0;
  int err = 0;
  for (;;) {
    errno = 0;
    auto* e = reinterpret_cast<Entry*>(readdir(d));
    if (!e) {
      err = errno;
      break;
    }
    if (filter && !filter(e)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      auto* grown = static_cast<Entry**>(realloc(out, cap * sizeof *out));
      if (!grown) {
        err = ENOMEM;
        break;
      }
      out = grown;
    }
    auto* copy = static_cast<Entry*>(malloc(sizeof *e));
    if (!copy) {
      err = ENOMEM;
      break;
    }
    std::memcpy(copy, e, sizeof *e);
    out[n++] = copy;
  }
  closedir(d);
  if (err) {
    for (size_t i = 0; i < n; ++i) free(out[i]);
    free(out);
    errno = err;
    return -1;
  }
  if (compar && n > 1)
    qsort(out, n, sizeof *out, reinterpret_cast<int (*)(const void*, const void*)>(compar));
  *list = out;
  return static_cast<int>(n);
}

}  // namespace

extern "C" int scandir(const char* path, struct dirent*** list, int (*filter)(const struct dirent*),
                       int (*compar)(const struct dirent**, const struct dirent**)) {
  // glibc's scandir opens the directory inside libc, past our opendir.
  Target t = resolve(AT_FDCWD, path);
  if (t.kind != Target::kBenchfs) {
    if (t.kind == Target::kError) return fail(t.error);
    return REAL(scandir)(t.kind == Target::kLibcPath ? t.path.c_str() : path, list, filter, compar);
  }
  return scan(t.path.c_str(), list, filter, compar);
}

extern "C" int scandir64(const char* path, struct dirent64*** list,
                         int (*filter)(const struct dirent64*),
                         int (*compar)(const struct dirent64**, const struct dirent64**)) {
  Target t = resolve(AT_FDCWD, path);
  if (t.kind != Target::kBenchfs) {
    if (t.kind == Target::kError) return fail(t.error);
    return REAL(scandir64)(t.kind == Target::kLibcPath ? t.path.c_str() : path, list, filter,
                           compar);
  }
  return scan(t.path.c_str(), list, filter, compar);
}

#pragma GCC visibility pop
