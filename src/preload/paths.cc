#include "preload/paths.h"

#include <fcntl.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common/path.h"
#include "preload/fd_table.h"

namespace benchfs::preload {
namespace {

std::mutex g_cwd_mutex;
std::string g_cwd;                       // under g_cwd_mutex
std::atomic<bool> g_cwd_in_mount{false};  // g_cwd is not empty

// Contains ".." as a component: such an absolute path may lead into the
// mount from outside ("/tmp/../benchfs/x").
bool has_dotdot(const char* p) {
  for (const char* s = std::strstr(p, ".."); s; s = std::strstr(s + 1, ".."))
    if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/')) return true;
  return false;
}

Target classify(const std::string& joined, bool rewrite_outside) {
  Target t;
  std::string norm;
  if (int err = normalize_path(joined, &norm)) {
    t.kind = Target::kError;
    t.error = err;
    return t;
  }
  if (under_mount(norm, mount())) {
    t.kind = Target::kBenchfs;
    t.path = std::move(norm);
  } else if (rewrite_outside) {
    t.kind = Target::kLibcPath;
    t.path = std::move(norm);
  }
  return t;
}

std::string join(const std::string& dir, const char* rel) {
  std::string s = dir;
  s += '/';
  s += rel;
  return s;
}

}  // namespace

const std::string& mount() {
  static const std::string* m = [] {
    auto* s = new std::string(kDefaultMount);
    const char* v = std::getenv("BENCHFS_MOUNT");
    if (v && *v && parse_mount(v, s) != 0) {
      std::fprintf(stderr, "benchfs-preload: invalid BENCHFS_MOUNT='%s' (an absolute path other "
                   "than /): using %s\n", v, kDefaultMount);
      *s = kDefaultMount;
    }
    return s;
  }();
  return *m;
}

Target resolve(int dirfd, const char* path) {
  if (!path) return {};  // libc reports EFAULT
  if (path[0] == '/') {
    const std::string& m = mount();
    if (std::strncmp(path, m.data(), m.size()) == 0 &&
        (path[m.size()] == '/' || path[m.size()] == '\0'))
      return classify(path, true);
    if (has_dotdot(path)) return classify(path, false);
    return {};
  }
  if (dirfd == AT_FDCWD) {
    if (!g_cwd_in_mount.load(std::memory_order_acquire)) return {};
    std::string cwd = virtual_cwd();
    if (cwd.empty()) return {};
    if (!*path) return {Target::kError, {}, ENOENT};
    return classify(join(cwd, path), true);
  }
  if (!fds().holds(dirfd)) return {};
  auto d = fds().get(dirfd);
  if (!d) return {};
  if (!*path) return {Target::kError, {}, ENOENT};  // AT_EMPTY_PATH is the caller's
  return classify(join(d->path, path), true);
}

std::string virtual_cwd() {
  std::lock_guard<std::mutex> lock(g_cwd_mutex);
  return g_cwd;
}

void set_virtual_cwd(std::string path) {
  std::lock_guard<std::mutex> lock(g_cwd_mutex);
  g_cwd = std::move(path);
  g_cwd_in_mount.store(!g_cwd.empty(), std::memory_order_release);
}

}  // namespace benchfs::preload
