// Gathering variable-length bytes from every rank (MPI_Allgather of the
// lengths, then MPI_Allgatherv): UCX worker addresses at start-up, the
// listings of a parallel tree walk.
#pragma once

#include <mpi.h>

#include <string>
#include <string_view>
#include <vector>

namespace benchfs {

// Every rank's `mine`, indexed by rank, on every rank.  Collective over comm.
std::vector<std::string> allgather_bytes(std::string_view mine, MPI_Comm comm);

}  // namespace benchfs
