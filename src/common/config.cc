#include "common/config.h"

#include <cerrno>
#include <cstdlib>
#include <unistd.h>
#include <vector>

#include "build-config.h"  // autoconf: BENCHFS_DEFAULT_BACKEND
#include "common/path.h"
#include "common/size.h"

namespace benchfs {

std::optional<double> parse_seconds(std::string_view text) {
  std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno || end != s.c_str() + s.size() || !(v > 0) || v > 1e7) return std::nullopt;
  return v;
}

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return (v && *v) ? v : nullptr;
}

std::string bad(const char* name, const char* value, const char* expected) {
  return std::string("invalid ") + name + "='" + value + "': expected " + expected;
}

// A 0/1 variable: leaves *value alone when unset; false on anything else.
bool flag(const char* name, bool* value, std::string* error) {
  const char* v = env(name);
  if (!v) return true;
  std::string k(v);
  if (k != "0" && k != "1") {
    *error = bad(name, v, "0 or 1");
    return false;
  }
  *value = k == "1";
  return true;
}

// SRC:DST (DST optional with default_to) split at the last ':', both
// absolute.  nullopt when malformed.
std::optional<StagePaths> parse_stage_paths(const std::string& text, const char* default_to) {
  StagePaths paths{text, default_to ? default_to : ""};
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    paths.from = text.substr(0, colon);
    paths.to = text.substr(colon + 1);
  }
  if (paths.from.empty() || paths.from[0] != '/' || paths.to.empty() || paths.to[0] != '/')
    return std::nullopt;
  return paths;
}

}  // namespace

std::string backing_dir_from_environment() {
  if (const char* v = env("BENCHFS_DIR")) return v;
  if (const char* t = env("TMPDIR")) return t;
  return "/tmp";
}

bool load_config(Config* c, std::string* error) {
  c->backend = BENCHFS_DEFAULT_BACKEND;
  c->dir = backing_dir_from_environment();

  if (const char* v = env("BENCHFS_CHUNK_SIZE")) {
    auto s = parse_size(v);
    if (!s || *s < 4096 || *s > (1ULL << 30) || (*s & (*s - 1))) {
      *error = bad("BENCHFS_CHUNK_SIZE", v, "a power of two from 4k to 1g, e.g. 1m");
      return false;
    }
    c->chunk_size = *s;
  }
  if (const char* v = env("BENCHFS_BACKEND")) {
    std::string b(v);
    if (b != "uring" && b != "memory") {
      *error = bad("BENCHFS_BACKEND", v, "uring or memory");
      return false;
    }
    c->backend = b;
  }
  if (const char* v = env("BENCHFS_DIR"); v && v[0] != '/') {
    *error = bad("BENCHFS_DIR", v, "an absolute directory path");
    return false;
  }
  if (!flag("BENCHFS_KEEP", &c->keep, error)) return false;
  if (!flag("BENCHFS_URING_INLINE", &c->uring_inline, error)) return false;
  if (!flag("BENCHFS_STATS", &c->stats, error)) return false;
  if (!flag("BENCHFS_DIRECT", &c->direct_io, error)) return false;
  if (const char* v = env("BENCHFS_EAGER_THRESHOLD")) {
    auto s = parse_size(v);
    if (!s || *s > (64ULL << 20)) {
      *error = bad("BENCHFS_EAGER_THRESHOLD", v, "a size up to 64m, e.g. 8k");
      return false;
    }
    c->eager_threshold = *s;
  }
  if (const char* v = env("BENCHFS_WINDOW")) {
    auto s = parse_size(v);
    if (!s || *s < 1 || *s > 1024) {
      *error = bad("BENCHFS_WINDOW", v, "an integer from 1 to 1024");
      return false;
    }
    c->window = static_cast<unsigned>(*s);
  }
  if (const char* v = env("BENCHFS_RPC_TIMEOUT")) {
    auto s = parse_seconds(v);
    if (!s) {
      *error = bad("BENCHFS_RPC_TIMEOUT", v, "a positive number of seconds");
      return false;
    }
    c->rpc_timeout = *s;
  }
  if (const char* v = env("BENCHFS_LOG_LEVEL")) {
    static const std::vector<std::string> levels = {"trace", "debug", "info", "warn",
                                                    "error", "critical", "off"};
    bool ok = false;
    for (const auto& l : levels) ok = ok || l == v;
    if (!ok) {
      *error = bad("BENCHFS_LOG_LEVEL", v, "trace, debug, info, warn, error, critical or off");
      return false;
    }
    c->log_level = v;
  }
  if (const char* v = env("BENCHFS_SPIN_US")) {
    auto s = parse_size(v);
    if (!s || *s > 1000000) {
      *error = bad("BENCHFS_SPIN_US", v, "microseconds from 0 to 1000000");
      return false;
    }
    c->spin_us = static_cast<unsigned>(*s);
  }
  if (const char* v = env("BENCHFS_WATCH_US")) {
    auto s = parse_size(v);
    if (!s || *s > 1000000) {
      *error = bad("BENCHFS_WATCH_US", v, "microseconds from 0 to 1000000");
      return false;
    }
    c->watch_us = static_cast<unsigned>(*s);
  }
  c->memory_limit = 0;
  if (const char* v = env("BENCHFS_MEMORY_LIMIT")) {
    auto s = parse_size(v);
    if (!s || *s == 0) {
      *error = bad("BENCHFS_MEMORY_LIMIT", v, "a size such as 512m or 4g");
      return false;
    }
    c->memory_limit = *s;
  }
  c->mount = kDefaultMount;
  if (const char* v = env("BENCHFS_MOUNT")) {
    if (parse_mount(v, &c->mount) != 0) {
      *error = bad("BENCHFS_MOUNT", v, "an absolute path other than /, e.g. /benchfs");
      return false;
    }
  }
  if (const char* v = env("BENCHFS_STAGE_IN")) {
    c->stage_in = parse_stage_paths(v, "/");
    if (!c->stage_in) {
      *error = bad("BENCHFS_STAGE_IN", v, "SRC[:DST], absolute paths, e.g. /scratch/input:/in");
      return false;
    }
  }
  if (const char* v = env("BENCHFS_STAGE_OUT")) {
    c->stage_out = parse_stage_paths(v, nullptr);
    if (!c->stage_out) {
      *error = bad("BENCHFS_STAGE_OUT", v, "SRC:DST, absolute paths, e.g. /out:/scratch/results");
      return false;
    }
  }
  if (const char* v = env("BENCHFS_STAGE_ERRORS")) {
    std::string mode(v);
    if (mode != "fail" && mode != "warn") {
      *error = bad("BENCHFS_STAGE_ERRORS", v, "fail or warn");
      return false;
    }
    c->stage_errors_fail = mode == "fail";
  }
  return true;
}

}  // namespace benchfs
