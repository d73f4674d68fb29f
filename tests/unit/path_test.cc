// Tests of src/common/path.h.
#include "common/path.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>

namespace benchfs {
namespace {

// normalize_path expecting success; returns the result.
std::string norm(std::string_view in) {
  std::string out = "<untouched>";
  int rc = normalize_path(in, &out);
  CAPTURE(in);
  CHECK(rc == 0);
  return out;
}

int norm_err(std::string_view in) {
  std::string out;
  return normalize_path(in, &out);
}

}  // namespace

TEST_CASE("normalize_path: already normal paths are unchanged") {
  CHECK(norm("/") == "/");
  CHECK(norm("/a") == "/a");
  CHECK(norm("/a/b/c") == "/a/b/c");
  CHECK(norm("/out/file.0") == "/out/file.0");
  CHECK(norm("/...") == "/...");
  CHECK(norm("/.hidden") == "/.hidden");
  CHECK(norm("/a..b") == "/a..b");
}

TEST_CASE("normalize_path: repeated and trailing slashes collapse") {
  CHECK(norm("//a///b/") == "/a/b");
  CHECK(norm("//") == "/");
  CHECK(norm("///") == "/");
  CHECK(norm("/a/") == "/a");
  CHECK(norm("/a//") == "/a");
}

TEST_CASE("normalize_path: dot components are dropped") {
  CHECK(norm("/a/./b") == "/a/b");
  CHECK(norm("/.") == "/");
  CHECK(norm("/./.") == "/");
  CHECK(norm("/a/.") == "/a");
  CHECK(norm("/./a/./") == "/a");
}

TEST_CASE("normalize_path: dot-dot resolves to the parent") {
  CHECK(norm("/a/../b") == "/b");
  CHECK(norm("/..") == "/");
  CHECK(norm("/../..") == "/");
  CHECK(norm("/../a") == "/a");
  CHECK(norm("/a/b/..") == "/a");
  CHECK(norm("/a/b/../..") == "/");
  CHECK(norm("/a/b/../../..") == "/");
  CHECK(norm("/a/../../b/c/../d") == "/b/d");
  CHECK(norm("/a/b/../c/./d/") == "/a/c/d");
}

TEST_CASE("normalize_path: an empty path is ENOENT, a relative one EINVAL") {
  CHECK(norm_err("") == ENOENT);
  CHECK(norm_err("a") == EINVAL);
  CHECK(norm_err("a/b") == EINVAL);
  CHECK(norm_err("./a") == EINVAL);
  CHECK(norm_err("../a") == EINVAL);
  CHECK(norm_err(".") == EINVAL);
  CHECK(norm_err(" /a") == EINVAL);
}

TEST_CASE("normalize_path: component length limit NAME_MAX") {
  std::string ok_name(NAME_MAX, 'x');
  std::string long_name(NAME_MAX + 1, 'x');
  CHECK(norm("/" + ok_name) == "/" + ok_name);
  CHECK(norm("/dir/" + ok_name + "/") == "/dir/" + ok_name);
  CHECK(norm_err("/" + long_name) == ENAMETOOLONG);
  CHECK(norm_err("/dir/" + long_name + "/f") == ENAMETOOLONG);
  // Even a component that a later ".." would remove is checked.
  CHECK(norm_err("/" + long_name + "/..") == ENAMETOOLONG);
}

TEST_CASE("normalize_path: path length limit PATH_MAX") {
  // Build an absolute path of exactly `len` bytes from components of 100.
  auto make = [](size_t len) {
    std::string p;
    while (p.size() < len) {
      p += '/';
      size_t n = std::min<size_t>(100, len - p.size());
      if (n == 0) {  // a trailing slash would be fine too, but keep it a name
        p.back() = 'y';
        break;
      }
      p.append(n, 'z');
    }
    REQUIRE(p.size() == len);
    REQUIRE(p[0] == '/');
    return p;
  };
  std::string just_fits = make(PATH_MAX - 1);
  CHECK(norm(just_fits) == just_fits);
  CHECK(norm_err(make(PATH_MAX)) == ENAMETOOLONG);
  CHECK(norm_err(make(PATH_MAX + 500)) == ENAMETOOLONG);
  // Only slashes, but too many of them: the raw length counts.
  CHECK(norm_err(std::string(PATH_MAX, '/')) == ENAMETOOLONG);
}

TEST_CASE("normalize_path: result is always normal (idempotent)") {
  const char* inputs[] = {"//a///b/", "/a/./b", "/a/../b", "/..", "/", "/x/y/../../z/./w//"};
  for (const char* in : inputs) {
    CAPTURE(in);
    std::string once = norm(in);
    CHECK(norm(once) == once);
    CHECK(once[0] == '/');
    CHECK(once.find("//") == std::string::npos);
    if (once != "/") CHECK(once.back() != '/');
  }
}

TEST_CASE("parent_path") {
  CHECK(parent_path("/a/b") == "/a");
  CHECK(parent_path("/a/b/c") == "/a/b");
  CHECK(parent_path("/a") == "/");
  CHECK(parent_path("/") == "/");
}

TEST_CASE("base_name") {
  CHECK(base_name("/a/b") == "b");
  CHECK(base_name("/a") == "a");
  CHECK(base_name("/a/file.txt") == "file.txt");
  CHECK(base_name("/") == "");
}

TEST_CASE("parent_path and base_name recompose the path") {
  for (const char* p : {"/a", "/a/b", "/x/y/z", "/out/file.999"}) {
    CAPTURE(p);
    std::string parent = parent_path(p);
    std::string joined = (parent == "/" ? "" : parent) + "/" + base_name(p);
    CHECK(joined == p);
  }
}

TEST_CASE("parse_mount and under_mount: the mount prefix") {
  std::string m;
  CHECK(parse_mount("/benchfs/", &m) == 0);
  CHECK(m == "/benchfs");
  CHECK(parse_mount("//scratch//bfs/.", &m) == 0);
  CHECK(m == "/scratch/bfs");
  CHECK(parse_mount("/", &m) == EINVAL);
  CHECK(parse_mount("/..", &m) == EINVAL);
  CHECK(parse_mount("rel", &m) == EINVAL);
  CHECK(parse_mount("", &m) != 0);
  std::string in;
  CHECK(under_mount("/benchfs", "/benchfs", &in));
  CHECK(in == "/");
  CHECK(under_mount("/benchfs/a/b", "/benchfs", &in));
  CHECK(in == "/a/b");
  CHECK_FALSE(under_mount("/benchfsx", "/benchfs"));
  CHECK_FALSE(under_mount("/bench", "/benchfs"));
  CHECK_FALSE(under_mount("/tmp/benchfs", "/benchfs"));
  CHECK(under_mount("/scratch/bfs/x", "/scratch/bfs", &in));
  CHECK(in == "/x");
}

TEST_CASE("follow_link: a link's target replaces it, the rest of the path follows") {
  auto follow = [](const std::string& path, const std::string& link, const std::string& target) {
    std::string out;
    int err = follow_link(path, link, target, &out);
    return err ? "errno " + std::to_string(err) : out;
  };
  // Absolute targets are BenchFS paths; relative ones start at the link's directory.
  CHECK(follow("/a/l/x/y", "/a/l", "/t") == "/t/x/y");
  CHECK(follow("/a/l/x", "/a/l", "t/u") == "/a/t/u/x");
  CHECK(follow("/a/l", "/a/l", "t") == "/a/t");
  CHECK(follow("/l", "/l", "t") == "/t");
  // Normalised, ".." lexically; never above "/".
  CHECK(follow("/a/l/x", "/a/l", "../b//./c/") == "/b/c/x");
  CHECK(follow("/a/l", "/a/l", "../../../..") == "/");
  CHECK(follow("/a/l/x", "/a/l", "/etc") == "/etc/x");
  // Too long once joined, as Linux.
  std::string long_target;  // 4020 bytes: the target fits, the path it makes does not
  for (int i = 0; i < 20; ++i) long_target += "/" + std::string(200, 'y');
  CHECK(follow("/a/l/" + std::string(200, 'x'), "/a/l", long_target) ==
        "errno " + std::to_string(ENAMETOOLONG));
  // The link must be the path or one of its ancestors, by whole components.
  CHECK(follow("/a/lx", "/a/l", "t") == "errno " + std::to_string(EINVAL));
  CHECK(follow("/a", "/a/l", "t") == "errno " + std::to_string(EINVAL));
  CHECK(follow("/a", "/", "t") == "errno " + std::to_string(EINVAL));
  CHECK(follow("/a", "/a", "") == "errno " + std::to_string(EINVAL));
}

}  // namespace benchfs
