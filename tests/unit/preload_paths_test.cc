// Which paths the preload library sends to BenchFS (src/preload/paths.h),
// and its descriptor table (src/preload/fd_table.h): pure logic, no BenchFS.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "preload/fd_table.h"
#include "preload/paths.h"

namespace benchfs::preload {
namespace {

Target at(int dirfd, const char* path) { return resolve(dirfd, path); }
Target cwd(const char* path) { return resolve(AT_FDCWD, path); }

// A BenchFS descriptor naming `path`, as opendir makes one.
int dir_fd(const std::string& path) {
  auto d = std::make_shared<Description>();
  d->path = path;
  return fds().install(d, true);
}

void release(int fd) {
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    fds().detach(fd, &last);
  }
  ::close(fd);
}

}  // namespace

TEST_CASE("preload resolve: absolute paths under the mount and elsewhere") {
  REQUIRE(mount() == "/benchfs");  // BENCHFS_MOUNT is not set in the unit tests
  CHECK(cwd("/benchfs/a/b").kind == Target::kBenchfs);
  CHECK(cwd("/benchfs/a/b").path == "/benchfs/a/b");
  CHECK(cwd("/benchfs").path == "/benchfs");
  CHECK(cwd("/benchfs/").path == "/benchfs");
  CHECK(cwd("//benchfs//a/./b/").kind == Target::kLibc);  // not the prefix as a string: libc's
  CHECK(cwd("/benchfs//a/./b/").path == "/benchfs/a/b");
  CHECK(cwd("/benchfsx").kind == Target::kLibc);
  CHECK(cwd("/tmp/x").kind == Target::kLibc);
  CHECK(cwd("/tmp/../benchfs/x").kind == Target::kBenchfs);
  CHECK(cwd("/tmp/../benchfs/x").path == "/benchfs/x");
  CHECK(cwd("/tmp/..x/benchfs").kind == Target::kLibc);
  // Leaving the mount by "..": the kernel gets the normalised path.
  Target out = cwd("/benchfs/../etc/hosts");
  CHECK(out.kind == Target::kLibcPath);
  CHECK(out.path == "/etc/hosts");
  CHECK(cwd(nullptr).kind == Target::kLibc);
  std::string huge = "/benchfs/" + std::string(PATH_MAX, 'a');
  CHECK(cwd(huge.c_str()).kind == Target::kError);
  CHECK(cwd(huge.c_str()).error == ENAMETOOLONG);
}

TEST_CASE("preload resolve: relative paths and a working directory in the mount") {
  CHECK(cwd("rel").kind == Target::kLibc);  // the kernel's working directory
  set_virtual_cwd("/benchfs/d");
  CHECK(virtual_cwd() == "/benchfs/d");
  CHECK(cwd("x").path == "/benchfs/d/x");
  CHECK(cwd("./x/../y").path == "/benchfs/d/y");
  CHECK(cwd("..").path == "/benchfs");
  Target up = cwd("../../tmp/f");
  CHECK(up.kind == Target::kLibcPath);
  CHECK(up.path == "/tmp/f");
  CHECK(cwd("").kind == Target::kError);
  CHECK(cwd("").error == ENOENT);
  CHECK(cwd("/tmp/abs").kind == Target::kLibc);  // absolute: the working directory does not matter
  set_virtual_cwd("");
  CHECK(cwd("x").kind == Target::kLibc);
}

TEST_CASE("preload resolve: *at calls on BenchFS and kernel directory descriptors") {
  int d = dir_fd("/benchfs/dir");
  REQUIRE(d >= 0);
  CHECK(fds().holds(d));
  CHECK(at(d, "f").kind == Target::kBenchfs);
  CHECK(at(d, "f").path == "/benchfs/dir/f");
  CHECK(at(d, "../g").path == "/benchfs/g");
  CHECK(at(d, "/tmp/x").kind == Target::kLibc);
  CHECK(at(d, "").kind == Target::kError);
  int k = ::open("/", O_RDONLY | O_DIRECTORY);
  REQUIRE(k >= 0);
  CHECK_FALSE(fds().holds(k));
  CHECK(at(k, "tmp").kind == Target::kLibc);
  ::close(k);
  release(d);
  CHECK_FALSE(fds().holds(d));
}

TEST_CASE("preload descriptor table: numbers are the kernel's, shared by dups, last close known") {
  int a = dir_fd("/benchfs/x");
  int b = dir_fd("/benchfs/y");
  REQUIRE(a >= 0);
  REQUIRE(b >= 0);
  CHECK(a != b);
  // The number is reserved in the kernel: open() cannot be handed it.
  int k = ::open("/dev/null", O_RDONLY);
  CHECK(k != a);
  CHECK(k != b);
  CHECK((::fcntl(a, F_GETFD) & FD_CLOEXEC) != 0);
  // A dup shares the description; the last detach says so.
  int c;
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    c = ::fcntl(a, F_DUPFD, 0);
    REQUIRE(c >= 0);
    fds().attach(c, fds().find(a));
  }
  CHECK(fds().get(c) == fds().get(a));
  bool last = true;
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    CHECK(fds().detach(a, &last) != nullptr);
  }
  CHECK_FALSE(last);
  {
    std::lock_guard<std::mutex> lock(fds().mutex());
    CHECK(fds().detach(c, &last)->path == "/benchfs/x");
    CHECK(last);
    CHECK(fds().detach(c, &last) == nullptr);  // twice: not ours any more
  }
  ::close(a);
  ::close(c);
  ::close(k);
  release(b);
  CHECK_FALSE(fds().holds(-1));
  CHECK_FALSE(fds().holds(kMaxFds));
}

}  // namespace benchfs::preload
