// Helpers the files of namespace_test share (namespace_test.cc,
// namespace_scale_test.cc): making empty files (list_dir is in mpi_test.h).
#pragma once

#include <string>

#include "mpi_test.h"

namespace benchfs_test {

inline void create_empty(const std::string& path) {
  int fd = benchfs_open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(benchfs_close(fd) == 0);
}

}  // namespace benchfs_test
