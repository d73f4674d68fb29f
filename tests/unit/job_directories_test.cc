// Tests of src/store/job_directories.h: what the sweep of BENCHFS_DIR
// removes (a dead job's directory and lock) and everything it must leave
// alone (a live job's, a kept one's, and whatever is not a BenchFS job
// directory: BENCHFS_DIR is often /tmp).
#include "store/job_directories.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

namespace benchfs {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/job-directories-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

void touch(const std::string& path, size_t bytes = 0) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  if (bytes) REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes)) == 0);
  if (bytes) REQUIRE(::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) == 0);
  ::close(fd);
}

// A job directory as a uring store leaves it: rank0/ with an arena file.
void make_job_directory(const std::string& dir) {
  REQUIRE(fs::create_directories(dir + "/rank0"));
  touch(dir + "/rank0/large-0", 1 << 20);
}

}  // namespace

TEST_CASE("job directory names: only what new_job_tag makes") {
  CHECK(is_job_directory_name("benchfs-" + new_job_tag()));
  CHECK(is_job_directory_name("benchfs-123-18ee8a2a2cddafee"));
  CHECK_FALSE(is_job_directory_name("benchfs-test-XkQ2a1"));
  CHECK_FALSE(is_job_directory_name("benchfs-ior-test-1234"));
  CHECK_FALSE(is_job_directory_name("benchfs-123-"));
  CHECK_FALSE(is_job_directory_name("benchfs--abc"));
  CHECK_FALSE(is_job_directory_name("benchfs-123-abcx"));
  CHECK_FALSE(is_job_directory_name("benchfs-123-ABC"));
  CHECK_FALSE(is_job_directory_name("other-123-abc"));
  CHECK(job_directory("/d", "1-a") == "/d/benchfs-1-a");
}

TEST_CASE("the sweep removes a dead job's directory and lock, and nothing else") {
  TempDir tmp;
  const std::string& d = tmp.path;
  // A dead job: its lock file exists, nobody holds it.
  make_job_directory(d + "/benchfs-100-a1");
  touch(d + "/benchfs-100-a1.lock");
  // A live job: this process holds its lock.
  JobLock live;
  REQUIRE(live.acquire(d, "200-b2") == 0);
  make_job_directory(d + "/benchfs-200-b2");
  // A dead job kept with BENCHFS_KEEP=1.
  make_job_directory(d + "/benchfs-300-c3");
  touch(d + "/benchfs-300-c3/" + kKeepMarker);
  touch(d + "/benchfs-300-c3.lock");
  // A job-named directory without a lock (BenchFS before the locks, or not
  // BenchFS): its owner is unknown.
  make_job_directory(d + "/benchfs-400-d4");
  // Job-named, lock unheld, but holding something BenchFS never makes.
  make_job_directory(d + "/benchfs-500-e5");
  touch(d + "/benchfs-500-e5/precious");
  touch(d + "/benchfs-500-e5.lock");
  // Things that merely start with "benchfs-".
  REQUIRE(fs::create_directories(d + "/benchfs-test-XkQ2a1/rank0"));
  touch(d + "/benchfs-data.lock");
  // A lock whose directory is gone.
  touch(d + "/benchfs-600-f6.lock");

  auto swept = sweep_job_directories(d);
  std::set<std::string> removed, kept;
  for (const SweptDirectory& s : swept) {
    CHECK(s.error == 0);
    (s.kept ? kept : removed).insert(s.path);
    if (s.path == d + "/benchfs-100-a1") CHECK(s.bytes >= (1u << 20));
  }
  CHECK(removed == std::set<std::string>{d + "/benchfs-100-a1", d + "/benchfs-600-f6.lock"});
  CHECK(kept == std::set<std::string>{d + "/benchfs-300-c3"});
  CHECK_FALSE(fs::exists(d + "/benchfs-100-a1"));
  CHECK_FALSE(fs::exists(d + "/benchfs-100-a1.lock"));
  CHECK_FALSE(fs::exists(d + "/benchfs-600-f6.lock"));
  for (const char* left : {"/benchfs-200-b2/rank0/large-0", "/benchfs-200-b2.lock",
                           "/benchfs-300-c3/rank0/large-0", "/benchfs-300-c3.lock",
                           "/benchfs-400-d4/rank0/large-0", "/benchfs-500-e5/precious",
                           "/benchfs-500-e5.lock", "/benchfs-test-XkQ2a1/rank0",
                           "/benchfs-data.lock"}) {
    CAPTURE(left);
    CHECK(fs::exists(d + left));
  }

  // The live job ends: its directory goes (the store removes it), then
  // release removes the lock; a sweep then finds nothing of it.
  fs::remove_all(d + "/benchfs-200-b2");
  live.release();
  CHECK_FALSE(fs::exists(d + "/benchfs-200-b2.lock"));
}

TEST_CASE("a lock released while its directory stays (BENCHFS_KEEP=1) stays too") {
  TempDir tmp;
  JobLock lock;
  REQUIRE(lock.acquire(tmp.path + "/made/by/acquire", "7-7") == 0);
  make_job_directory(tmp.path + "/made/by/acquire/benchfs-7-7");
  lock.release();
  CHECK(fs::exists(tmp.path + "/made/by/acquire/benchfs-7-7.lock"));
}

}  // namespace benchfs
