// The metadata a server owns: one Attr per path whose hash maps here, an
// index of those entries by parent directory (readdir and rmdir ask every
// server for the entries it holds under a directory), and the fences of
// directories being or having been removed.  Used only by the thread that
// serves requests, so it needs no locks.
#pragma once

#include <map>
#include <string>
#include <unordered_map>

#include "common/attr.h"

namespace benchfs {

class MetadataTable {
 public:
  Attr* find(const std::string& path);
  // Inserts a new entry; the path must not exist.  A symbolic link
  // (S_IFLNK) keeps its target here too.
  Attr& insert(const std::string& path, const Attr& attr, std::string link_target = {});
  void erase(const std::string& path);
  // The target of the symbolic link at path; empty for any other entry.
  const std::string& link_target(const std::string& path) const;
  // True if this server holds an entry whose parent is `dir`.
  bool has_children(const std::string& dir) const;
  size_t size() const { return entries_.size(); }

  // A create names its parent directory by id, and nothing here says
  // whether that directory still exists: its entry lives on another
  // server.  So rmdir (and a rename that moves or replaces a directory)
  // first fences the directory's id on every server, here atomically with
  // checking that this server holds no entry under it; a create under a
  // fenced id is refused.  fence() returns false (and fences nothing) if an
  // entry under `dir` is here.  Fences are counted (two rmdirs of one
  // directory may race; the one that fails lifts only its own) and, once
  // the directory is gone, kept: one per removed directory, for as long as
  // the job runs, since any client may still hold that id.
  bool fence(const std::string& dir, uint64_t dir_id);
  void unfence(uint64_t dir_id);
  bool fenced(uint64_t dir_id) const { return fences_.count(dir_id) != 0; }

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
  std::unordered_map<std::string, std::string> link_targets_;  // symbolic links only
  // parent -> (name -> entry), for entries held here.
  std::unordered_map<std::string, std::map<std::string, DirEntry>> children_;
  std::unordered_map<uint64_t, uint32_t> fences_;  // dir id -> fences placed
};

}  // namespace benchfs
