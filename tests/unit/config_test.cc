// Tests of src/common/config.h: duration parsing, BENCHFS_* variables (sizes:
// size_test.cc).
#include "common/config.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "build-config.h"

namespace benchfs {
namespace {

const char* const kVars[] = {
    "BENCHFS_CHUNK_SIZE",  "BENCHFS_BACKEND",     "BENCHFS_DIR",
    "BENCHFS_KEEP",        "BENCHFS_EAGER_THRESHOLD", "BENCHFS_WINDOW",
    "BENCHFS_RPC_TIMEOUT", "BENCHFS_LOG_LEVEL",   "BENCHFS_SPIN_US",
    "BENCHFS_STATS",       "BENCHFS_MEMORY_LIMIT", "BENCHFS_URING_INLINE",
    "BENCHFS_DIRECT",      "BENCHFS_WATCH_US",    "BENCHFS_MOUNT",
    "BENCHFS_STAGE_IN",    "BENCHFS_STAGE_OUT",   "BENCHFS_STAGE_ERRORS", "TMPDIR",
};

// Saves every variable load_config reads, clears them, and restores the
// original environment when the test ends (pass or fail).
class EnvGuard {
 public:
  EnvGuard() {
    for (const char* name : kVars) {
      const char* v = std::getenv(name);
      saved_.push_back(v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
  }
  ~EnvGuard() {
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i]) {
        ::setenv(kVars[i], saved_[i]->c_str(), 1);
      } else {
        ::unsetenv(kVars[i]);
      }
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

  void set(const char* name, const char* value) { REQUIRE(::setenv(name, value, 1) == 0); }

 private:
  std::vector<std::optional<std::string>> saved_;
};

// Runs load_config expecting failure; checks the message names var and value.
void expect_invalid(EnvGuard& env, const char* name, const char* value) {
  CAPTURE(name);
  CAPTURE(value);
  env.set(name, value);
  Config c;
  std::string error;
  CHECK_FALSE(load_config(&c, &error));
  CHECK(error.find(name) != std::string::npos);
  CHECK(error.find(value) != std::string::npos);
  ::unsetenv(name);
}

}  // namespace

TEST_CASE("parse_seconds") {
  CHECK(parse_seconds("2") == std::optional<double>(2.0));
  CHECK(parse_seconds("0.5") == std::optional<double>(0.5));
  CHECK(parse_seconds("30") == std::optional<double>(30.0));
  CHECK(parse_seconds("1e3") == std::optional<double>(1000.0));

  CHECK_FALSE(parse_seconds("").has_value());
  CHECK_FALSE(parse_seconds("0").has_value());
  CHECK_FALSE(parse_seconds("0.0").has_value());
  CHECK_FALSE(parse_seconds("-1").has_value());
  CHECK_FALSE(parse_seconds("abc").has_value());
  CHECK_FALSE(parse_seconds("2s").has_value());
  CHECK_FALSE(parse_seconds("2 ").has_value());
  CHECK_FALSE(parse_seconds("nan").has_value());
  CHECK_FALSE(parse_seconds("inf").has_value());
  CHECK_FALSE(parse_seconds("-inf").has_value());
  CHECK_FALSE(parse_seconds("1e400").has_value());
}

TEST_CASE("load_config: defaults with no BENCHFS_* variables") {
  EnvGuard env;
  Config c;
  std::string error;
  REQUIRE(load_config(&c, &error));
  CHECK(c.chunk_size == (1u << 20));
  CHECK(c.backend == BENCHFS_DEFAULT_BACKEND);
  CHECK(c.dir == "/tmp");
  CHECK(c.keep == false);
  CHECK(c.eager_threshold == (8u << 10));
  CHECK(c.window == 16u);
  CHECK(c.rpc_timeout == doctest::Approx(30.0));
  CHECK(c.log_level == "warn");
  CHECK(c.spin_us == 50u);
  CHECK(c.watch_us == 2000u);
  CHECK(c.direct_io == true);
}

TEST_CASE("load_config: TMPDIR is the default dir, BENCHFS_DIR overrides it") {
  EnvGuard env;
  env.set("TMPDIR", "/scratch/tmp");
  Config c;
  std::string error;
  REQUIRE(load_config(&c, &error));
  CHECK(c.dir == "/scratch/tmp");

  env.set("BENCHFS_DIR", "/data/benchfs");
  Config d;
  REQUIRE(load_config(&d, &error));
  CHECK(d.dir == "/data/benchfs");
}

TEST_CASE("load_config: stage settings") {
  EnvGuard env;
  Config c;
  std::string error;
  REQUIRE(load_config(&c, &error));
  CHECK_FALSE(c.stage_in.has_value());
  CHECK_FALSE(c.stage_out.has_value());
  CHECK(c.stage_errors_fail);

  env.set("BENCHFS_STAGE_IN", "/pfs/input");  // DST defaults to the root
  env.set("BENCHFS_STAGE_OUT", "/res:ults:/pfs/out");  // split at the last colon
  env.set("BENCHFS_STAGE_ERRORS", "warn");
  Config d;
  REQUIRE(load_config(&d, &error));
  REQUIRE(d.stage_in.has_value());
  CHECK(d.stage_in->from == "/pfs/input");
  CHECK(d.stage_in->to == "/");
  REQUIRE(d.stage_out.has_value());
  CHECK(d.stage_out->from == "/res:ults");
  CHECK(d.stage_out->to == "/pfs/out");
  CHECK_FALSE(d.stage_errors_fail);

  env.set("BENCHFS_STAGE_IN", "/pfs/input:/in");
  Config e;
  REQUIRE(load_config(&e, &error));
  CHECK(e.stage_in->to == "/in");
  ::unsetenv("BENCHFS_STAGE_IN");
  ::unsetenv("BENCHFS_STAGE_OUT");
  ::unsetenv("BENCHFS_STAGE_ERRORS");

  expect_invalid(env, "BENCHFS_STAGE_IN", "relative/input");
  expect_invalid(env, "BENCHFS_STAGE_IN", "/input:relative");
  expect_invalid(env, "BENCHFS_STAGE_IN", "/input:");
  expect_invalid(env, "BENCHFS_STAGE_OUT", "/results");  // DST is required
  expect_invalid(env, "BENCHFS_STAGE_OUT", ":/pfs/out");
  expect_invalid(env, "BENCHFS_STAGE_ERRORS", "ignore");
}

TEST_CASE("load_config: empty variables count as unset") {
  EnvGuard env;
  env.set("BENCHFS_CHUNK_SIZE", "");
  env.set("BENCHFS_BACKEND", "");
  env.set("BENCHFS_WINDOW", "");
  Config c;
  std::string error;
  REQUIRE(load_config(&c, &error));
  CHECK(c.chunk_size == (1u << 20));
  CHECK(c.backend == BENCHFS_DEFAULT_BACKEND);
  CHECK(c.window == 16u);
}

TEST_CASE("load_config: every variable is read") {
  EnvGuard env;
  env.set("BENCHFS_CHUNK_SIZE", "64k");
  env.set("BENCHFS_BACKEND", "memory");
  env.set("BENCHFS_DIR", "/var/tmp/x");
  env.set("BENCHFS_KEEP", "1");
  env.set("BENCHFS_EAGER_THRESHOLD", "16k");
  env.set("BENCHFS_WINDOW", "4");
  env.set("BENCHFS_RPC_TIMEOUT", "2.5");
  env.set("BENCHFS_LOG_LEVEL", "debug");
  env.set("BENCHFS_SPIN_US", "0");
  env.set("BENCHFS_WATCH_US", "0");
  env.set("BENCHFS_DIRECT", "0");
  Config c;
  std::string error;
  REQUIRE(load_config(&c, &error));
  CHECK(c.chunk_size == (64u << 10));
  CHECK(c.backend == "memory");
  CHECK(c.dir == "/var/tmp/x");
  CHECK(c.keep == true);
  CHECK(c.direct_io == false);
  CHECK(c.eager_threshold == (16u << 10));
  CHECK(c.window == 4u);
  CHECK(c.rpc_timeout == doctest::Approx(2.5));
  CHECK(c.log_level == "debug");
  CHECK(c.spin_us == 0u);
  CHECK(c.watch_us == 0u);
}

TEST_CASE("load_config: sizes take the shared parse_size syntax") {
  EnvGuard env;
  std::string error;
  env.set("BENCHFS_CHUNK_SIZE", "2MB");
  env.set("BENCHFS_EAGER_THRESHOLD", "4K");
  env.set("BENCHFS_MEMORY_LIMIT", "1Gb");
  Config c;
  REQUIRE(load_config(&c, &error));
  CHECK(c.chunk_size == (2ULL << 20));
  CHECK(c.eager_threshold == (4ULL << 10));
  CHECK(c.memory_limit == (1ULL << 30));
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "1 m");
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "1mib");
  expect_invalid(env, "BENCHFS_MEMORY_LIMIT", "20000000t");
}

TEST_CASE("load_config: boundary values are accepted") {
  EnvGuard env;
  std::string error;
  SUBCASE("smallest chunk size") {
    env.set("BENCHFS_CHUNK_SIZE", "4096");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.chunk_size == 4096u);
  }
  SUBCASE("largest chunk size") {
    env.set("BENCHFS_CHUNK_SIZE", "1g");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.chunk_size == (1ULL << 30));
  }
  SUBCASE("keep 0") {
    env.set("BENCHFS_KEEP", "0");
    Config c;
    c.keep = true;
    REQUIRE(load_config(&c, &error));
    CHECK(c.keep == false);
  }
  SUBCASE("uring backend") {
    env.set("BENCHFS_BACKEND", "uring");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.backend == "uring");
  }
  SUBCASE("eager threshold 0 and 64m") {
    env.set("BENCHFS_EAGER_THRESHOLD", "0");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.eager_threshold == 0u);
    env.set("BENCHFS_EAGER_THRESHOLD", "64m");
    Config d;
    REQUIRE(load_config(&d, &error));
    CHECK(d.eager_threshold == (64ULL << 20));
  }
  SUBCASE("window 1 and 1024") {
    env.set("BENCHFS_WINDOW", "1");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.window == 1u);
    env.set("BENCHFS_WINDOW", "1024");
    Config d;
    REQUIRE(load_config(&d, &error));
    CHECK(d.window == 1024u);
  }
  SUBCASE("spin 1000000") {
    env.set("BENCHFS_SPIN_US", "1000000");
    Config c;
    REQUIRE(load_config(&c, &error));
    CHECK(c.spin_us == 1000000u);
  }
  SUBCASE("every log level") {
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
      CAPTURE(level);
      env.set("BENCHFS_LOG_LEVEL", level);
      Config c;
      REQUIRE(load_config(&c, &error));
      CHECK(c.log_level == level);
    }
  }
}

TEST_CASE("load_config: invalid values fail with a message naming variable and value") {
  EnvGuard env;
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "banana");
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "2048");       // below 4k
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "2g");         // above 1g
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "5000");       // not a power of two
  expect_invalid(env, "BENCHFS_CHUNK_SIZE", "0");
  expect_invalid(env, "BENCHFS_BACKEND", "disk");
  expect_invalid(env, "BENCHFS_BACKEND", "Memory");
  expect_invalid(env, "BENCHFS_DIR", "relative/dir");
  expect_invalid(env, "BENCHFS_KEEP", "yes");
  expect_invalid(env, "BENCHFS_KEEP", "2");
  expect_invalid(env, "BENCHFS_EAGER_THRESHOLD", "65m");
  expect_invalid(env, "BENCHFS_EAGER_THRESHOLD", "lots");
  expect_invalid(env, "BENCHFS_WINDOW", "0");
  expect_invalid(env, "BENCHFS_WINDOW", "1025");
  expect_invalid(env, "BENCHFS_WINDOW", "-3");
  expect_invalid(env, "BENCHFS_RPC_TIMEOUT", "0");
  expect_invalid(env, "BENCHFS_RPC_TIMEOUT", "-5");
  expect_invalid(env, "BENCHFS_RPC_TIMEOUT", "soon");
  expect_invalid(env, "BENCHFS_LOG_LEVEL", "verbose");
  expect_invalid(env, "BENCHFS_LOG_LEVEL", "WARN");
  expect_invalid(env, "BENCHFS_SPIN_US", "1000001");
  expect_invalid(env, "BENCHFS_SPIN_US", "fast");
  expect_invalid(env, "BENCHFS_WATCH_US", "1000001");
  expect_invalid(env, "BENCHFS_WATCH_US", "-1");
  expect_invalid(env, "BENCHFS_STATS", "yes");
  expect_invalid(env, "BENCHFS_URING_INLINE", "on");
  expect_invalid(env, "BENCHFS_DIRECT", "true");
  expect_invalid(env, "BENCHFS_MEMORY_LIMIT", "0");
  expect_invalid(env, "BENCHFS_MEMORY_LIMIT", "plenty");
  expect_invalid(env, "BENCHFS_MOUNT", "/");
  expect_invalid(env, "BENCHFS_MOUNT", "scratch");
}

TEST_CASE("load_config: the mount prefix") {
  EnvGuard env;
  Config c;
  std::string err;
  REQUIRE(load_config(&c, &err));
  CHECK(c.mount == "/benchfs");
  env.set("BENCHFS_MOUNT", "/scratch//bfs/");
  REQUIRE(load_config(&c, &err));
  CHECK(c.mount == "/scratch/bfs");
}

TEST_CASE("load_config: statistics switch and memory cap") {
  EnvGuard env;
  Config c;
  std::string err;
  REQUIRE(load_config(&c, &err));
  CHECK_FALSE(c.stats);
  CHECK(c.memory_limit == 0);  // none by default: the machine's RAM bounds it
  ::setenv("BENCHFS_STATS", "1", 1);
  ::setenv("BENCHFS_MEMORY_LIMIT", "512m", 1);
  REQUIRE(load_config(&c, &err));
  CHECK(c.stats);
  CHECK(c.memory_limit == 512ULL << 20);
}

TEST_CASE("load_config: one bad variable among good ones still fails") {
  EnvGuard env;
  env.set("BENCHFS_CHUNK_SIZE", "1m");
  env.set("BENCHFS_BACKEND", "memory");
  env.set("BENCHFS_SPIN_US", "nope");
  Config c;
  std::string error;
  CHECK_FALSE(load_config(&c, &error));
  CHECK(error.find("BENCHFS_SPIN_US") != std::string::npos);
  CHECK(error.find("nope") != std::string::npos);
}

TEST_CASE("EnvGuard restores the environment it found") {
  const char* name = "BENCHFS_WINDOW";
  const char* before = std::getenv(name);
  std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
  REQUIRE(::setenv(name, "77", 1) == 0);
  {
    EnvGuard env;
    CHECK(std::getenv(name) == nullptr);
    env.set(name, "3");
  }
  const char* after = std::getenv(name);
  REQUIRE(after != nullptr);
  CHECK(std::string(after) == "77");
  if (saved) {
    ::setenv(name, saved->c_str(), 1);
  } else {
    ::unsetenv(name);
  }
}

}  // namespace benchfs
