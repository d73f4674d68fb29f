// benchfs-clean [DIR]: removes from DIR the backing directories of BenchFS
// jobs that no longer run, and says what it removed.  For job epilogues
// (after a job killed or aborted); benchfs_init does the same sweep on the
// first rank of each host.  DIR defaults to what benchfs_init uses:
// BENCHFS_DIR, else TMPDIR, else /tmp.  Never touches a running job's
// directory, nor one kept with BENCHFS_KEEP=1 (see
// src/store/job_directories.h).  Exit status 1 if something could not be
// removed, 2 on bad usage.
#include <cstdio>
#include <cstring>
#include <string>

#include "common/config.h"
#include "store/job_directories.h"

int main(int argc, char** argv) {
  if (argc > 2 || (argc == 2 && (std::strcmp(argv[1], "-h") == 0 ||
                                 std::strcmp(argv[1], "--help") == 0 || argv[1][0] != '/'))) {
    std::fprintf(argc == 2 && argv[1][0] == '-' ? stdout : stderr,
                 "usage: %s [DIR]\n"
                 "Removes the backing directories of BenchFS jobs that no longer run from DIR\n"
                 "(an absolute path; default: BENCHFS_DIR, else TMPDIR, else /tmp).\n",
                 argv[0]);
    return argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)
               ? 0
               : 2;
  }
  const std::string dir = argc == 2 ? argv[1] : benchfs::backing_dir_from_environment();
  int status = 0;
  size_t removed = 0;
  for (const benchfs::SweptDirectory& s : benchfs::sweep_job_directories(dir)) {
    if (s.kept) {
      std::printf("kept %s (it holds '%s')\n", s.path.c_str(), benchfs::kKeepMarker);
    } else if (s.error) {
      std::fprintf(stderr, "benchfs-clean: cannot remove %s: %s\n", s.path.c_str(),
                   std::strerror(s.error));
      status = 1;
    } else {
      std::printf("removed %s (%llu bytes)\n", s.path.c_str(),
                  static_cast<unsigned long long>(s.bytes));
      ++removed;
    }
  }
  if (removed == 0 && status == 0) std::printf("nothing to remove in %s\n", dir.c_str());
  return status;
}
