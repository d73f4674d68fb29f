// Collective parallel copy of a directory tree between the outside and
// BenchFS: what benchfs_stage_in and benchfs_stage_out (and the
// BENCHFS_STAGE_IN / BENCHFS_STAGE_OUT settings) run.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include "stage/tree.h"

namespace benchfs::stage {

struct Request {
  const char* stage = "stage";  // "stage-in" or "stage-out", for messages
  Tree* from = nullptr;
  std::string from_root;  // a directory: its contents are copied
  Tree* to = nullptr;
  std::string to_root;    // made (with its parents) if missing
  uint64_t chunk_size = 1 << 20;  // files above max(chunk_size, 1 MiB) are cut into pieces
  bool errors_are_warnings = false;  // log problems at warn level (they count all the same)
  MPI_Comm comm = MPI_COMM_NULL;
};

// The job-wide outcome, the same on every rank.
struct Summary {
  uint64_t files = 0;        // copied completely
  uint64_t directories = 0;  // created below to_root
  uint64_t bytes = 0;        // of the files copied
  uint64_t skipped = 0;      // neither regular files nor directories
  uint64_t problems = 0;     // files or directories not copied (each was logged)
  int first_errno = 0;       // of the lowest rank that had a problem
  double seconds = 0;
};

// Copies the contents of from_root into to_root on all ranks of comm at
// once, keeping structure, regular files' bytes, permission bits and
// modification times; reports and skips everything else.  Every problem is
// logged where it happens and the copy goes on with the rest.  Rank 0 logs
// progress at info level and one summary line.  Collective.
Summary copy_tree(const Request& request);

}  // namespace benchfs::stage
