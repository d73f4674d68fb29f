// Every tunable of BenchFS, read from the environment in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace benchfs {

// Parses a duration in seconds: "2", "0.5".  nullopt if not a positive number.
std::optional<double> parse_seconds(std::string_view text);

// A copy between a directory outside and one inside BenchFS.
struct StagePaths {
  std::string from;
  std::string to;
};

struct Config {
  uint64_t chunk_size = 1 << 20;        // BENCHFS_CHUNK_SIZE
  std::string backend;                  // BENCHFS_BACKEND: "uring" or "memory"
  std::string dir;                      // BENCHFS_DIR: parent of per-rank backing dirs
  bool keep = false;                    // BENCHFS_KEEP: keep backing dirs at finalize
  uint64_t eager_threshold = 8 << 10;   // BENCHFS_EAGER_THRESHOLD: larger payloads go rendezvous
  unsigned window = 16;                 // BENCHFS_WINDOW: chunk requests in flight per call
  double rpc_timeout = 30.0;            // BENCHFS_RPC_TIMEOUT: seconds before ETIMEDOUT
  std::string log_level = "warn";       // BENCHFS_LOG_LEVEL
  unsigned spin_us = 50;                // BENCHFS_SPIN_US: a driving thread polls an idle worker this long before sleeping
  unsigned watch_us = 2000;             // BENCHFS_WATCH_US: while the application calls, the progress thread checks this often (0: always armed)
  bool stats = false;                   // BENCHFS_STATS: print statistics at finalize
  bool uring_inline = true;             // BENCHFS_URING_INLINE: plain pread/pwrite on tmpfs
  bool direct_io = true;                // BENCHFS_DIRECT: same-host clients copy into peers' tmpfs backing files
  std::string mount = "/benchfs";       // BENCHFS_MOUNT: paths under it are BenchFS paths without it
  uint64_t memory_limit = 0;            // BENCHFS_MEMORY_LIMIT: memory backend cap per rank (0: none, same-host direct I/O)
  std::optional<StagePaths> stage_in;   // BENCHFS_STAGE_IN=SRC[:DST]: outside SRC into BenchFS DST (default /) at init
  std::optional<StagePaths> stage_out;  // BENCHFS_STAGE_OUT=SRC:DST: BenchFS SRC to outside DST at finalize
  bool stage_errors_fail = true;        // BENCHFS_STAGE_ERRORS: "fail" (init/finalize return -1) or "warn"
};

// Where backing directories go unless BENCHFS_DIR says otherwise: TMPDIR,
// else /tmp.  The value of BENCHFS_DIR as given (benchfs-clean's default
// too; load_config checks it).
std::string backing_dir_from_environment();

// Reads every BENCHFS_* variable over the defaults.  On an invalid value
// returns false and sets *error to a message naming the variable and value.
bool load_config(Config* config, std::string* error);

}  // namespace benchfs
