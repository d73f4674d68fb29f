// The job directories in BENCHFS_DIR: who owns one, and removing those of
// jobs that no longer run (at benchfs_init and by benchfs-clean).
//
// A job's backing data lives in DIR/benchfs-<tag>/rank<N>/.  Beside it,
// DIR/benchfs-<tag>.lock is the job's claim: every rank of the job on this
// host holds a shared flock on it from before the directory exists until
// after the directory is gone.  The kernel drops the lock when the last of
// those processes ends, however it ends (SIGKILL, MPI_Abort, a node-local
// crash), so "nobody holds the lock" is exactly "the job is gone" -- no
// guessing from process ids, which another job may have reused.  The lock
// sits beside the directory, not in it, so that it exists before the
// directory does: a directory without its lock file is never a live job's.
// A directory holding a file named "keep" (BENCHFS_KEEP=1) is left alone.
// Backing directories must be on a host-local file system (flock on a
// shared one does not see the other hosts' jobs).
//
// BENCHFS_DIR is often /tmp, shared with everything else: the sweep only
// ever removes a directory named exactly as a job directory
// (benchfs-<pid>-<hex>), holding nothing but rank<N> directories and the
// keep marker, whose lock file exists and is held by no one.  Anything
// else -- other files named benchfs-*, a directory without a lock file
// (BenchFS before the locks, or not BenchFS at all) -- is never touched.
//
// No MPI, no logging: benchfs-clean compiles this file in on its own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace benchfs {

// DIR/benchfs-<tag>: the directory holding every rank's backing directory.
std::string job_directory(const std::string& dir, const std::string& job_tag);

// A new job tag, "<pid>-<hex time in ns>", unique on this host (made by
// rank 0 and sent to the others).
std::string new_job_tag();

// True for "benchfs-<tag>" with a tag as new_job_tag makes them.
bool is_job_directory_name(const std::string& name);

// The name of the file in a job directory that keeps it from the sweep.
inline constexpr const char* kKeepMarker = "keep";

// A job's shared lock on DIR/benchfs-<tag>.lock, held while it lives.
class JobLock {
 public:
  JobLock() = default;
  JobLock(const JobLock&) = delete;
  JobLock& operator=(const JobLock&) = delete;
  ~JobLock();

  // Creates DIR if needed and takes the lock; 0 or an errno.
  int acquire(const std::string& dir, const std::string& job_tag);
  // Removes the lock file if the job directory is gone (this was the job's
  // last rank here), then drops the lock.
  void release();

 private:
  std::string lock_path_;
  std::string job_dir_;
  int fd_ = -1;
};

struct SweptDirectory {
  std::string path;
  uint64_t bytes = 0;  // space its files held
  bool kept = false;   // left in place: it holds a keep marker
  int error = 0;       // removing it failed with this errno
};

// Removes from DIR every job directory (and lock file) whose job no longer
// runs and that holds no keep marker, under the rules above; returns what
// it removed, kept, or failed to remove.  A DIR that does not exist has
// nothing to sweep.
std::vector<SweptDirectory> sweep_job_directories(const std::string& dir);

}  // namespace benchfs
