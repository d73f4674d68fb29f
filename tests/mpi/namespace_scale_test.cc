// Directories at scale across ranks: an mdtest-like load of files in
// private and shared directories, a directory of 100,000 entries listed page
// by page, and a deep tree made by several ranks at once, walked and removed.
// Part of the namespace_test program (namespace_test.cc).
#include <sys/stat.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "mpi_test.h"
#include "namespace_helpers.h"

using namespace benchfs_test;

TEST_CASE("mdtest-like load: 5,000 files per rank in private and shared directories") {
  start("uring");
  const int n = 5000;
  std::string mine = "/md.rank" + std::to_string(rank());
  if (rank() == 0) REQUIRE(benchfs_mkdir("/md.shared", 0777) == 0);
  REQUIRE(benchfs_mkdir(mine.c_str(), 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = 0; i < n; ++i) {
    create_empty(mine + "/f." + std::to_string(i));
    create_empty("/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i));
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st;
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    if (benchfs_stat((mine + "/f." + std::to_string(i)).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      ++bad;
    std::string s = "/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i);
    if (benchfs_stat(s.c_str(), &st) != 0 || st.st_size != 0) ++bad;
  }
  CHECK(bad == 0);
  // Every rank lists every directory: counts and names exact.
  auto shared = list_dir("/md.shared");
  CHECK(shared.size() == static_cast<size_t>(n) * size());
  for (int r = 0; r < size(); ++r) {
    auto priv = list_dir("/md.rank" + std::to_string(r));
    CHECK(priv.size() == static_cast<size_t>(n));
    for (int i : {0, n / 2, n - 1}) {
      CHECK(priv.count("f." + std::to_string(i)) == 1);
      CHECK(shared.count("f." + std::to_string(r) + "." + std::to_string(i)) == 1);
    }
    for (auto& [name, type] : priv) CHECK(type == DT_REG);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  for (int i = 0; i < n; ++i) {
    REQUIRE(benchfs_unlink((mine + "/f." + std::to_string(i)).c_str()) == 0);
    REQUIRE(benchfs_unlink(
                ("/md.shared/f." + std::to_string(rank()) + "." + std::to_string(i)).c_str()) == 0);
  }
  REQUIRE(benchfs_rmdir(mine.c_str()) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    CHECK(list_dir("/md.shared").empty());
    REQUIRE(benchfs_rmdir("/md.shared") == 0);
    CHECK(list_dir("/").empty());
    CHECK(stored_bytes(scratch_dir()) <= empty_arenas_bytes());
  }
  stop();
}

TEST_CASE("a directory of 100,000 entries is listed page by page") {
  start("memory");
  if (rank() == 0) REQUIRE(benchfs_mkdir("/big", 0777) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  const int total = 100000;
  for (int i = rank(); i < total; i += size()) create_empty("/big/entry-with-a-longish-name." + std::to_string(i));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == size() - 1) {
    auto names = list_dir("/big");
    CHECK(names.size() == static_cast<size_t>(total));
    CHECK(names.count("entry-with-a-longish-name.99999") == 1);
  }
  stop();
}

TEST_CASE("a deep tree made by several ranks at once is walked and removed bottom-up") {
  start("memory");
  const int depth = 8, fanout = 3;
  // Rank 0 makes the top; the subtrees under it are made by all ranks.
  if (rank() == 0) REQUIRE(benchfs_mkdir("/tree", 0755) == 0);
  MPI_Barrier(MPI_COMM_WORLD);
  std::function<void(const std::string&, int)> make = [&](const std::string& dir, int level) {
    if (level == depth) return;
    for (int i = 0; i < fanout; ++i) {
      std::string child = dir + "/d" + std::to_string(i);
      REQUIRE(benchfs_mkdir(child.c_str(), 0755) == 0);
      make(child, level + 1);
    }
    create_empty(dir + "/leaf");
  };
  for (int i = 0; i < fanout; ++i) {
    if (i % size() != rank()) continue;
    std::string top = "/tree/d" + std::to_string(i);
    REQUIRE(benchfs_mkdir(top.c_str(), 0755) == 0);
    make(top, 1);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  // Another rank walks the whole tree with readdir.
  size_t dirs = 0, files = 0;
  std::vector<std::string> order;  // directories in pre-order
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    order.push_back(dir);
    for (auto& [name, type] : list_dir(dir)) {
      if (type == DT_DIR) {
        ++dirs;
        walk(dir + "/" + name);
      } else {
        ++files;
      }
    }
  };
  if (rank() == size() - 1) {
    walk("/tree");
    size_t expect_dirs = 0, level_count = 1;
    for (int l = 1; l <= depth; ++l) expect_dirs += (level_count *= fanout);
    CHECK(dirs == expect_dirs);                   // 3 + 9 + ... + 3^8
    CHECK(files == expect_dirs - level_count);    // a leaf in every non-bottom dir
    // Removed bottom-up by the walker.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
      auto entries = list_dir(*it);
      if (!entries.empty()) {
        CHECK(benchfs_rmdir(it->c_str()) == -1);
        CHECK(errno == ENOTEMPTY);
      }
      for (auto& [name, type] : entries) {
        CHECK(type == DT_REG);  // subdirectories are gone already
        REQUIRE(benchfs_unlink((*it + "/" + name).c_str()) == 0);
      }
      REQUIRE(benchfs_rmdir(it->c_str()) == 0);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  struct stat st;
  CHECK(benchfs_stat("/tree", &st) == -1);
  stop();
}
