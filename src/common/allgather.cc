#include "common/allgather.h"

namespace benchfs {

std::vector<std::string> allgather_bytes(std::string_view mine, MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  int my_len = static_cast<int>(mine.size());
  std::vector<int> lens(size), offsets(size);
  MPI_Allgather(&my_len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += lens[r];
  }
  std::string all(static_cast<size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), my_len, MPI_BYTE, all.data(), lens.data(), offsets.data(),
                 MPI_BYTE, comm);
  std::vector<std::string> each(size);
  for (int r = 0; r < size; ++r) each[r] = all.substr(offsets[r], lens[r]);
  return each;
}

}  // namespace benchfs
