// What went wrong during one stage, as this rank saw it: every problem is
// logged with its path and errno as it happens, then counted so that the
// stage can report the job-wide outcome.  Threads of a rank may report at
// once.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

namespace benchfs::stage {

class Problems {
 public:
  // `stage` names the stage in messages ("stage-in"); as_warnings logs at
  // warn instead of error level (BENCHFS_STAGE_ERRORS=warn).
  Problems(std::string stage, bool as_warnings) : stage_(std::move(stage)), as_warnings_(as_warnings) {}

  // Logs "<stage>: <path>: <what>: <strerror> (<errno name>)", e.g.
  // "stage-out: /scratch/out/a: write: No space left on device (ENOSPC)".
  void report(const std::string& path, int err, const char* what);

  size_t count() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return count_;
  }
  int first_errno() const {
    std::lock_guard<std::mutex> guard(mutex_);
    return first_errno_;
  }
  const std::string& stage() const { return stage_; }

 private:
  // A tree that fails everywhere would log a line per file: past this many
  // a rank only counts.
  static constexpr size_t kMaxLogged = 100;
  mutable std::mutex mutex_;
  std::string stage_;
  bool as_warnings_;
  size_t count_ = 0;
  int first_errno_ = 0;
};

}  // namespace benchfs::stage
