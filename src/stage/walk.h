// Walking a tree in parallel: every rank lists a share of the directories
// of one level, and all ranks learn every entry.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "stage/problems.h"
#include "stage/tree.h"

namespace benchfs::stage {

struct Listing {
  std::vector<Entry> directories;  // below the root, each after its parent
  std::vector<Entry> files;
  std::vector<Entry> others;  // symbolic links, devices, FIFOs, sockets: not copied
};

// Every rank's bytes, concatenated in rank order, on every rank.
// Collective over comm.
std::string allgather(const std::string& mine, MPI_Comm comm);

// Lists everything below root (a directory), level by level: the
// directories of a level are dealt round-robin to the ranks, each lists its
// share (a few directories at once), and one MPI_Allgatherv per level
// gives every rank the same
// Listing, in the same order.  A directory that cannot be listed is
// reported and its subtree left out.  Collective over comm.
Listing walk(Tree& tree, const std::string& root, MPI_Comm comm, Problems& problems);

}  // namespace benchfs::stage
