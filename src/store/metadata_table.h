// The metadata a server owns: one Attr per path whose hash maps here, and an
// index of those entries by parent directory (readdir and rmdir ask every
// server for the entries it holds under a directory).  Used only by the
// progress thread, so it needs no locks.
#pragma once

#include <map>
#include <string>
#include <unordered_map>

#include "common/attr.h"

namespace benchfs {

class MetadataTable {
 public:
  Attr* find(const std::string& path);
  // Inserts a new entry; the path must not exist.
  Attr& insert(const std::string& path, const Attr& attr);
  void erase(const std::string& path);
  // True if this server holds an entry whose parent is `dir`.
  bool has_children(const std::string& dir) const;
  size_t size() const { return entries_.size(); }

  struct DirEntry {
    uint32_t mode;
    uint64_t id;
  };
  // Calls fn(name, entry) for the entries held here under `dir` whose names
  // sort after `after` ("" = from the start), in name order, until fn
  // returns false.
  template <typename Fn>
  void list(const std::string& dir, const std::string& after, Fn fn) const {
    auto it = children_.find(dir);
    if (it == children_.end()) return;
    for (auto e = it->second.upper_bound(after); e != it->second.end(); ++e)
      if (!fn(e->first, e->second)) return;
  }

 private:
  std::unordered_map<std::string, Attr> entries_;
  // parent -> (name -> entry), for entries held here.
  std::unordered_map<std::string, std::map<std::string, DirEntry>> children_;
};

}  // namespace benchfs
