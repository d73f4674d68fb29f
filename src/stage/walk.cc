#include "stage/walk.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>

#include "common/allgather.h"

namespace benchfs::stage {

namespace {

// Threads of a rank listing its directories of a level: listing BenchFS
// is a stat request per entry, which mostly waits.
constexpr unsigned kListers = 4;

// An entry on the wire: kind, mode, size, mtime, path length, path.
struct Packed {
  uint8_t kind;
  uint32_t mode;
  uint64_t size;
  int64_t mtime_sec;
  int64_t mtime_nsec;
  uint32_t path_len;
} __attribute__((packed));

void pack(const Entry& e, std::string* out) {
  Packed p{static_cast<uint8_t>(e.kind), static_cast<uint32_t>(e.mode), e.size,
           static_cast<int64_t>(e.mtime.tv_sec), static_cast<int64_t>(e.mtime.tv_nsec),
           static_cast<uint32_t>(e.path.size())};
  out->append(reinterpret_cast<const char*>(&p), sizeof p);
  out->append(e.path);
}

std::vector<Entry> unpack(const std::string& bytes) {
  std::vector<Entry> entries;
  size_t at = 0;
  while (at + sizeof(Packed) <= bytes.size()) {
    Packed p;
    std::memcpy(&p, bytes.data() + at, sizeof p);
    at += sizeof p;
    Entry e;
    e.kind = static_cast<Kind>(p.kind);
    e.mode = static_cast<mode_t>(p.mode);
    e.size = p.size;
    e.mtime.tv_sec = static_cast<time_t>(p.mtime_sec);
    e.mtime.tv_nsec = static_cast<long>(p.mtime_nsec);
    e.path.assign(bytes, at, p.path_len);
    at += p.path_len;
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string join(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

}  // namespace

std::string allgather(const std::string& mine, MPI_Comm comm) {
  std::string all;
  for (const std::string& piece : allgather_bytes(mine, comm)) all += piece;
  return all;
}

Listing walk(Tree& tree, const std::string& root, MPI_Comm comm, Problems& problems) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  Listing listing;
  std::vector<std::string> level = {""};
  while (!level.empty()) {
    std::vector<size_t> share;  // this rank's directories of the level
    for (size_t i = static_cast<size_t>(rank); i < level.size(); i += static_cast<size_t>(size))
      share.push_back(i);
    std::vector<std::vector<Entry>> listed(share.size());
    std::atomic<size_t> next{0};
    auto list = [&] {
      for (size_t k; (k = next++) < share.size();) {
        const std::string dir = root + "/" + level[share[k]];
        if (int err = tree.list(dir, &listed[k])) {
          problems.report(dir, -err, "list");
          listed[k].clear();
        }
      }
    };
    std::vector<std::thread> listers;
    for (unsigned t = 1; t < kListers && t < share.size(); ++t) listers.emplace_back(list);
    list();
    for (auto& t : listers) t.join();
    std::string mine;
    for (size_t k = 0; k < share.size(); ++k) {
      for (Entry& e : listed[k]) {
        e.path = join(level[share[k]], e.path);
        pack(e, &mine);
      }
    }
    level.clear();
    for (Entry& e : unpack(allgather(mine, comm))) {
      if (e.kind == Kind::kDirectory) {
        level.push_back(e.path);
        listing.directories.push_back(std::move(e));
      } else if (e.kind == Kind::kFile) {
        listing.files.push_back(std::move(e));
      } else {
        listing.others.push_back(std::move(e));
      }
    }
  }
  return listing;
}

}  // namespace benchfs::stage
