// Helpers the files of namespace_test share (namespace_test.cc,
// namespace_scale_test.cc): making empty files and listing directories.
#pragma once

#include <cerrno>
#include <map>
#include <string>

#include "mpi_test.h"

namespace benchfs_test {

inline void create_empty(const std::string& path) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
}

// Name -> d_type of every entry of a directory except "." and "..".
inline std::map<std::string, unsigned char> list_dir(const std::string& path) {
  std::map<std::string, unsigned char> names;
  benchfs_dir* d = benchfs_opendir(path.c_str());
  REQUIRE(d != nullptr);
  int dots = 0;
  errno = 0;
  while (struct dirent* e = benchfs_readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") {
      ++dots;
      CHECK(e->d_type == DT_DIR);
      continue;
    }
    CHECK(names.count(n) == 0);  // every entry exactly once
    names[n] = e->d_type;
  }
  CHECK(errno == 0);
  CHECK(dots == 2);
  REQUIRE(benchfs_closedir(d) == 0);
  return names;
}

}  // namespace benchfs_test
