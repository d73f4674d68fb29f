// The client's directory operations: creating under a parent (whose id
// it remembers), removing and renaming through fences (see
// MetadataTable::fence), and listing a directory page by page from every
// server.
#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

#include "client/calls.h"
#include "client/client.h"
#include "common/path.h"

namespace benchfs {

namespace {
constexpr size_t kMaxRememberedDirs = 4096;
}  // namespace

int Client::parent_dir_id(const std::string& path, bool look_up, uint64_t* id) {
  std::string parent = parent_path(path);
  if (parent == "/") {
    *id = 0;
    return 0;
  }
  if (!look_up) {
    std::lock_guard<std::mutex> lock(dir_ids_mutex_);
    auto it = dir_ids_.find(parent);
    if (it != dir_ids_.end()) {
      *id = it->second;
      return 0;
    }
  }
  Attr a;
  if (int err = lookup(parent, &a)) return err;
  // A link: the entry belongs under its target, at that path's owner.
  // ENOENT makes resolve() find the link and run the create again there.
  if (a.is_link()) return ENOENT;
  if (!a.is_dir()) return ENOTDIR;
  *id = a.id;
  std::lock_guard<std::mutex> lock(dir_ids_mutex_);
  // Bounded: a job's working set of directories is small, and forgetting
  // costs one lookup.
  if (dir_ids_.size() >= kMaxRememberedDirs) dir_ids_.clear();
  dir_ids_[parent] = a.id;
  return 0;
}

void Client::forget_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(dir_ids_mutex_);
  dir_ids_.erase(path);
}

int Client::mkdir(const std::string& path, mode_t mode) {
  if (path == "/") return EEXIST;
  return resolve(path, false, [&](const std::string& p, std::string*) {
    return create_in_parent(p, [&](uint64_t parent_id) {
      return call_metadata(new_entry(MkdirArgs{.path = p}, mode, parent_id));
    });
  });
}

int Client::fence_dir(const std::string& path, uint64_t id, bool* empty) {
  // Entries of a directory live on the servers that own their paths: ask all.
  std::vector<Call> calls;
  int err = call_every_server(FenceDirArgs{path, id}, &calls);
  std::vector<int> fenced;
  bool any = false;
  for (int r = 0; r < nranks_; ++r) {
    if (calls[r].status) continue;
    FenceDirReply reply;
    if (!decode(calls[r].reply_args, &reply)) {
      if (!err) err = EPROTO;
    } else if (reply.has_entries) {
      any = true;
    } else {
      fenced.push_back(r);
    }
  }
  *empty = !err && !any;
  if (!*empty && !fenced.empty()) unfence_dir(id, std::move(fenced));
  return err;
}

void Client::unfence_dir(uint64_t id, std::vector<int> servers) {
  if (servers.empty())
    for (int r = 0; r < nranks_; ++r) servers.push_back(r);
  std::vector<Call> calls;
  for (int r : servers) calls.push_back(call_to(r, UnfenceDirArgs{id}));
  // A server that cannot be reached keeps its fence: creates under the
  // directory there wait for it and then fail (ETIMEDOUT), as any request
  // to that server does.
  run(calls.data(), calls.size());
}

// Fence, then remove: a create that reaches a server before the fence is
// an entry the fence finds (ENOTEMPTY); one after it is refused, and its
// client waits for the outcome.  So a directory is never removed with an
// entry under it, whatever runs at the same time.
int Client::rmdir(const std::string& path) {
  if (path == "/") return EBUSY;
  return resolve(path, false, [&](const std::string& p, std::string*) { return rmdir_entry(p); });
}

// A link is not a directory: ENOTDIR, as Linux.
int Client::rmdir_entry(const std::string& path) {
  for (;;) {
    Attr a;
    if (int err = lookup(path, &a)) return err;
    if (!a.is_dir()) return ENOTDIR;
    bool empty = false;
    if (int err = fence_dir(path, a.id, &empty)) return err;
    if (!empty) return ENOTEMPTY;
    int err = call_metadata(RmdirArgs{path, a.id});
    // ESTALE: another directory took the name since the stat (the one
    // fenced is gone): remove that one.  ENOENT, ENOTDIR: the one fenced
    // is gone.  Anything else: it stays, unfenced.
    if (err == ESTALE) continue;
    if (err == 0 || err == ENOENT || err == ENOTDIR) forget_dir(path);
    else unfence_dir(a.id);
    return err;
  }
}

// Neither last component is followed: a link is moved, or replaced, itself.
int Client::rename(const std::string& from, const std::string& to) {
  std::string f = from, t = to;
  for (int links = 0;;) {
    int err = rename_entry(f, t);
    if (err != ENOENT) return err;
    // Missing: the source, or the target's parent; either may lie behind
    // a link.
    Attr a;
    bool source_missing = lookup(f, &a) == ENOENT;
    std::string next;
    if (int e = through_link(source_missing ? f : t, &next)) return e;
    (source_missing ? f : t) = std::move(next);
    if (++links > kMaxSymlinks) return ELOOP;
  }
}

int Client::rename_entry(const std::string& from, const std::string& to) {
  if (from == "/" || to == "/") return EBUSY;
  Attr src;
  std::string src_target;
  if (int err = lookup(from, &src, &src_target)) return err;
  if (from == to) return 0;
  // A directory cannot move into its own subtree; below a file, the
  // parent check gives ENOTDIR.
  if (src.is_dir() && to.compare(0, from.size() + 1, from + "/") == 0) return EINVAL;
  // The new name's parent first, before anything is fenced (the insert
  // below finds it remembered).
  uint64_t to_parent = 0;
  if (int err = parent_dir_id(to, false, &to_parent)) return err;
  // A directory that moves, or is replaced, is fenced as for rmdir: clients
  // may hold its id for its old path.  Fences on directories that stay are
  // lifted on every way out.
  uint64_t fenced[2];
  size_t nfenced = 0;
  auto fail = [&](int err) {
    while (nfenced > 0) unfence_dir(fenced[--nfenced]);
    return err;
  };
  bool empty = true;
  if (src.is_dir()) {
    // The entries under a directory live on the owners of their paths; a
    // rename would move all of them.  Not supported: EXDEV, so tools such
    // as mv fall back to copy and delete.
    if (int err = fence_dir(from, src.id, &empty)) return err;
    if (!empty) return EXDEV;
    fenced[nfenced++] = src.id;
  }
  Attr dst;
  int err = lookup(to, &dst);
  if (err == 0) {
    if (dst.is_dir() && !src.is_dir()) return fail(EISDIR);
    if (!dst.is_dir() && src.is_dir()) return fail(ENOTDIR);
    if (dst.is_dir()) {
      if (int e = fence_dir(to, dst.id, &empty)) return fail(e);
      if (!empty) return fail(ENOTEMPTY);
      fenced[nfenced++] = dst.id;
    }
  } else if (err != ENOENT) {
    return fail(err);
  }
  // Insert under the new name (replacing a target) at its owner, then drop
  // the old name at its owner.  The file id, and with it the data, stays
  // (a directory gets a new id there).
  RenameInsertReply inserted;
  err = create_in_parent(to, [&](uint64_t parent_id) {
    return call_metadata(RenameInsertArgs{to, src, parent_id, src_target}, &inserted);
  });
  if (err) return fail(err);
  if (src.is_dir()) {
    forget_dir(from);
    forget_dir(to);
  }
  // ENOENT: another rank renamed or removed the old name meanwhile; the
  // file is under the new name either way.
  if (int e2 = call_metadata(RenameRemoveArgs{from, src.id}); e2 && e2 != ENOENT) return e2;
  if (inserted.replaced && !inserted.old_was_dir)
    return remove_data(inserted.old_id, inserted.old_size);
  return 0;
}

int Client::opendir(const std::string& path, DirListing* listing) {
  Attr a;
  std::string p;
  int err = resolve(path, true, [&](const std::string& q, std::string* target) {
    p = q;
    if (int e = lookup(q, &a, target)) return e;
    return a.is_link() ? ELOOP : 0;
  });
  if (err) return err;
  if (!a.is_dir()) return ENOTDIR;
  Attr parent = a;
  if (p != "/" && lookup(parent_path(p), &parent) != 0) parent = a;
  listing->path = p;
  listing->id = a.id;
  listing->parent_id = parent.id;
  return 0;
}

int Client::readdir(DirListing& l, DirListing::Entry* entry) {
  if (l.stage < 2) {
    *entry = DirListing::Entry{S_IFDIR, l.stage == 0 ? l.id : l.parent_id,
                               l.stage == 0 ? "." : ".."};
    ++l.stage;
    return 0;
  }
  constexpr uint64_t kPageBytes = 64 << 10;
  while (l.next == l.page.size()) {
    if (l.server >= nranks_) return ENOENT;
    if (!l.server_more) {
      ++l.server;
      l.after.clear();
      l.server_more = true;
      continue;
    }
    std::vector<char> buf(kPageBytes);
    Call c = call_to(l.server, ReadDirArgs{l.path, l.after, kPageBytes});
    c.recv_buf = buf.data();
    c.recv_cap = buf.size();
    run_one(c);
    ReadDirReply reply;
    if (int err = reply_of(c, &reply)) return err;
    l.server_more = reply.more != 0;
    l.page.clear();
    l.next = 0;
    // The payload: entries back to back.
    Decoder d(std::string_view(buf.data(), c.recv_len));
    while (!d.done()) {
      ReadDirEntry e;
      read_field(d, e);
      if (!d.ok()) return EPROTO;
      l.page.push_back(std::move(e));
    }
    if (!l.page.empty()) l.after = l.page.back().name;
    else l.server_more = false;
  }
  *entry = std::move(l.page[l.next++]);
  return 0;
}

}  // namespace benchfs
