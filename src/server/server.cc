#include "server/server.h"

#include <fcntl.h>
#include <limits.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"
#include "common/path.h"
#include "common/placement.h"
#include "common/striping.h"

namespace benchfs {

Server::Server(int rank, int nranks, uint64_t chunk_size, std::unique_ptr<ChunkStore> store)
    : rank_(rank), nranks_(nranks), chunk_size_(chunk_size), store_(std::move(store)) {}

void Server::create_root() {
  if (metadata_owner("/", nranks_) != rank_) return;
  Attr root;
  root.id = new_file_id();
  root.mode = S_IFDIR | 0777;
  root.nlink = 2;
  root.atime_ns = root.mtime_ns = root.ctime_ns = now_ns();
  table_.insert("/", root);
}

void Server::reply(ServerOp* op, int status) {
  op->status = status;
  finish_(op);
}

// --- Checks of what a request may ask ----------------------------------------

int Server::admit(const MsgHeader& h, size_t payload_len) const {
  // A request carries status 0; decode_message marks a malformed one EPROTO.
  if (h.status != 0) return EPROTO;
  if (h.opcode == 0 || h.opcode >= static_cast<uint16_t>(Opcode::kCount)) return EPROTO;
  // Only a write carries a payload, and at most one chunk of it.
  uint64_t max = static_cast<Opcode>(h.opcode) == Opcode::kWrite ? chunk_size_ : 0;
  return payload_len > max ? EMSGSIZE : 0;
}

// Clients send normalised paths (one spelling per file, so an entry made under
// another spelling could never be found again) to the path's metadata owner
// (an entry elsewhere would be unreachable and never reclaimed).  `owned` is
// false for requests sent to every server.
int Server::check_path_request(const std::string& path, bool owned) const {
  // No client sends an empty path (the API refuses it): a malformed request.
  if (path.empty() || path.find('\0') != std::string::npos) return EINVAL;
  std::string normalized;
  if (int err = normalize_path(path, &normalized)) return err;
  if (normalized != path) return EINVAL;
  if (owned && metadata_owner(path, nranks_) != rank_) return EPROTO;
  return 0;
}

// A link's target is any string symlink(2) takes: 1 to PATH_MAX - 1 bytes
// without a NUL; the client resolves it.
int Server::check_link_target(const std::string& target) const {
  if (target.empty() || target.find('\0') != std::string::npos) return EINVAL;
  return target.size() >= PATH_MAX ? ENAMETOOLONG : 0;
}

// A client splits I/O at chunk boundaries and sends each piece to the
// chunk's owner, so one data request covers 1 to chunk_size bytes of one
// chunk that lives here.  This bounds what one request makes the server
// allocate (a read reply buffer) and keeps data off servers that unlink
// and truncate never ask.
int Server::check_chunk_range(uint64_t id, uint64_t offset, uint64_t len) const {
  if (len == 0 || len > chunk_size_ - offset % chunk_size_) return EINVAL;
  if (offset > kMaxFileSize - len) return EINVAL;
  if (chunk_owner(id, offset / chunk_size_, nranks_) != rank_) return EPROTO;
  return 0;
}

template <Opcode kOp>
void Server::serve(ServerOp* op,
                   void (Server::*handler)(ServerOp*, const typename Rpc<kOp>::Args&)) {
  typename Rpc<kOp>::Args args;
  if (!decode(op->args, &args)) return reply(op, EPROTO);
  (this->*handler)(op, args);
}

void Server::handle(ServerOp* op) {
  if (int err = admit(op->header, op->in_len)) return reply(op, err);
  Opcode code = op->opcode();
  ++served_[static_cast<size_t>(code)];
  switch (code) {
    case Opcode::kOpen: return serve<Opcode::kOpen>(op, &Server::handle_open);
    case Opcode::kStat: return serve<Opcode::kStat>(op, &Server::handle_stat);
    case Opcode::kUnlink: return serve<Opcode::kUnlink>(op, &Server::handle_unlink);
    case Opcode::kCloseUpdate: return serve<Opcode::kCloseUpdate>(op, &Server::handle_close_update);
    case Opcode::kMkdir: return serve<Opcode::kMkdir>(op, &Server::handle_mkdir);
    case Opcode::kRmdir: return serve<Opcode::kRmdir>(op, &Server::handle_rmdir);
    case Opcode::kFenceDir: return serve<Opcode::kFenceDir>(op, &Server::handle_fence_dir);
    case Opcode::kUnfenceDir: return serve<Opcode::kUnfenceDir>(op, &Server::handle_unfence_dir);
    case Opcode::kTruncate: return serve<Opcode::kTruncate>(op, &Server::handle_truncate);
    case Opcode::kChmod: return serve<Opcode::kChmod>(op, &Server::handle_chmod);
    case Opcode::kReadDir: return serve<Opcode::kReadDir>(op, &Server::handle_readdir);
    case Opcode::kStatfs: return serve<Opcode::kStatfs>(op, &Server::handle_statfs);
    case Opcode::kRenameInsert:
      return serve<Opcode::kRenameInsert>(op, &Server::handle_rename_insert);
    case Opcode::kRenameRemove:
      return serve<Opcode::kRenameRemove>(op, &Server::handle_rename_remove);
    case Opcode::kWrite: return serve<Opcode::kWrite>(op, &Server::handle_write);
    case Opcode::kRead: return serve<Opcode::kRead>(op, &Server::handle_read);
    case Opcode::kTruncateData:
      return serve<Opcode::kTruncateData>(op, &Server::handle_truncate_data);
    case Opcode::kRemoveData: return serve<Opcode::kRemoveData>(op, &Server::handle_remove_data);
    case Opcode::kFsyncData: return serve<Opcode::kFsyncData>(op, &Server::handle_fsync_data);
    case Opcode::kOpenData: return serve<Opcode::kOpenData>(op, &Server::handle_open_data);
    case Opcode::kAppend: return serve<Opcode::kAppend>(op, &Server::handle_append);
    case Opcode::kUtimens: return serve<Opcode::kUtimens>(op, &Server::handle_utimens);
    case Opcode::kSymlink: return serve<Opcode::kSymlink>(op, &Server::handle_symlink);
    case Opcode::kWriters: return serve<Opcode::kWriters>(op, &Server::handle_writers);
    case Opcode::kCount: break;
  }
  reply(op, EPROTO);
}

// --- Metadata -------------------------------------------------------------

void Server::handle_open(ServerOp* op, const OpenArgs& args) {
  const std::string& path = args.path;
  uint32_t flags = args.flags;
  if (int err = check_path_request(path, true)) return reply(op, err);
  if ((flags & O_CREAT) && table_.fenced(args.parent_id)) return reply(op, ESTALE);
  int accmode = static_cast<int>(flags) & O_ACCMODE;
  OpenReply r;
  Attr* a = table_.find(path);
  if (a) {
    if ((flags & O_CREAT) && (flags & O_EXCL)) return reply(op, EEXIST);
    if (a->is_link()) return reply(op, ELOOP);  // the client follows it
    if (a->is_dir() && accmode != O_RDONLY) return reply(op, EISDIR);
    if ((flags & O_TRUNC) && a->is_reg() && accmode != O_RDONLY && a->size > 0) {
      // The emptied file gets new storage (a new id); the caller reclaims
      // the old id's chunks.  Ranks opening after this one write to the new
      // id, so that reclaim can never erase their data (IOR opens a shared
      // file with O_TRUNC from every rank at once).
      r.truncated_from = a->size;
      r.old_id = a->id;
      Attr fresh = *a;
      fresh.id = new_file_id();
      live_files_.insert(fresh.id);
      fresh.size = 0;
      fresh.mtime_ns = fresh.ctime_ns = now_ns();
      table_.erase(path);
      a = &table_.insert(path, fresh);
    }
  } else {
    if (!(flags & O_CREAT)) return reply(op, ENOENT);
    Attr n;
    n.id = new_file_id();
    live_files_.insert(n.id);
    n.mode = S_IFREG | (args.mode & 07777);
    n.uid = args.uid;
    n.gid = args.gid;
    n.nlink = 1;
    n.atime_ns = n.mtime_ns = n.ctime_ns = now_ns();
    a = &table_.insert(path, n);
  }
  r.attr = *a;
  reply(op, r);
}

uint8_t Server::forget_writers(uint64_t id) {
  live_files_.erase(id);
  return writers_.erase(id) > 0 ? 1 : 0;
}

int Server::count_writer(uint64_t id, bool add) {
  if (add) {
    // A descriptor opened before the file was removed: refused, so that
    // none of its bytes is stored.
    if (!live_files_.count(id)) return ESTALE;
    ++writers_[id];
    return 0;
  }
  auto it = writers_.find(id);
  if (it != writers_.end() && --it->second == 0) writers_.erase(it);
  return 0;
}

bool Server::stale(uint64_t id) const { return !stale_ids_.empty() && stale_ids_.count(id) != 0; }

void Server::handle_stat(ServerOp* op, const StatArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  reply(op, StatReply{*a, table_.link_target(args.path)});
}

void Server::handle_unlink(ServerOp* op, const UnlinkArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  if (a->is_dir()) return reply(op, EISDIR);
  // A symbolic link has no data (its size is its target's length).
  bool has_data = a->is_reg();
  UnlinkReply r{a->id, has_data ? a->size : 0, 0, 0};
  table_.erase(args.path);
  // Chunk 0 (and every chunk) of a file this server made lives here: drop
  // them now, one request less for the caller, and its writers' count.
  if (!has_data) {
    r.removed_here = 1;  // a link: nothing stored anywhere
    return reply(op, r);
  }
  if (chunk_owner(r.id, 0, nranks_) != rank_) return reply(op, r);
  r.open_for_writing = forget_writers(r.id);
  store_->remove(r.id, [this, op, r](int64_t result) mutable {
    r.removed_here = result == 0 ? 1 : 0;
    reply(op, r);
  });
}

void Server::handle_close_update(ServerOp* op, const CloseUpdateArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (args.written_end > kMaxFileSize) return reply(op, EINVAL);
  Attr* a = table_.find(args.path);
  // The file was unlinked or replaced while open: nothing to update.
  if (!a || a->id != args.id) return reply(op, ESTALE);
  if (args.closing > 1) return reply(op, EPROTO);
  if (args.closing && chunk_owner(args.id, 0, nranks_) == rank_) count_writer(args.id, false);
  if (args.written_end > a->size) a->size = args.written_end;
  if (args.wrote) a->mtime_ns = a->ctime_ns = now_ns();
  reply(op, 0);
}

void Server::handle_append(ServerOp* op, const AppendArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (args.len == 0 || args.len > kMaxFileSize || args.written_end > kMaxFileSize)
    return reply(op, EINVAL);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  if (a->id != args.id) return reply(op, ESTALE);
  if (!a->is_reg()) return reply(op, EISDIR);
  uint64_t end = std::max(a->size, args.written_end);
  if (end > kMaxFileSize - args.len) return reply(op, EFBIG);
  a->size = end + args.len;
  a->mtime_ns = a->ctime_ns = now_ns();
  reply(op, AppendReply{end});
}

void Server::handle_mkdir(ServerOp* op, const MkdirArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (table_.fenced(args.parent_id)) return reply(op, ESTALE);
  if (table_.find(args.path)) return reply(op, EEXIST);
  Attr n;
  n.id = new_file_id();
  n.mode = S_IFDIR | (args.mode & 07777);
  n.uid = args.uid;
  n.gid = args.gid;
  n.nlink = 2;
  n.atime_ns = n.mtime_ns = n.ctime_ns = now_ns();
  table_.insert(args.path, n);
  reply(op, 0);
}

void Server::handle_symlink(ServerOp* op, const SymlinkArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (int err = check_link_target(args.target)) return reply(op, err);
  if (table_.fenced(args.parent_id)) return reply(op, ESTALE);
  if (table_.find(args.path)) return reply(op, EEXIST);
  Attr n;
  n.id = new_file_id();
  n.mode = S_IFLNK | 0777;  // as Linux: a link's bits are never used
  n.uid = args.uid;
  n.gid = args.gid;
  n.nlink = 1;
  n.size = args.target.size();
  n.atime_ns = n.mtime_ns = n.ctime_ns = now_ns();
  table_.insert(args.path, n, args.target);
  reply(op, 0);
}

void Server::handle_rmdir(ServerOp* op, const RmdirArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (args.path == "/") return reply(op, EBUSY);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  if (!a->is_dir()) return reply(op, ENOTDIR);
  // Another directory took the name since the client fenced the one it
  // found: that one is not fenced, and not the caller's to remove.
  if (a->id != args.id) return reply(op, ESTALE);
  if (table_.has_children(args.path)) return reply(op, ENOTEMPTY);
  table_.erase(args.path);
  reply(op, 0);
}

void Server::handle_fence_dir(ServerOp* op, const FenceDirArgs& args) {
  if (int err = check_path_request(args.path, false)) return reply(op, err);
  bool fenced = table_.fence(args.path, args.id);
  reply(op, FenceDirReply{static_cast<uint8_t>(fenced ? 0 : 1)});
}

void Server::handle_unfence_dir(ServerOp* op, const UnfenceDirArgs& args) {
  table_.unfence(args.id);
  reply(op, 0);
}

void Server::handle_truncate(ServerOp* op, const TruncateArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (args.size > kMaxFileSize) return reply(op, EINVAL);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  if (a->is_dir()) return reply(op, EISDIR);
  if (a->is_link()) return reply(op, ELOOP);
  TruncateReply r{a->id, a->size};
  a->size = args.size;
  a->mtime_ns = a->ctime_ns = now_ns();
  reply(op, r);
}

void Server::handle_chmod(ServerOp* op, const ChmodArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  if (a->is_link()) return reply(op, ELOOP);  // chmod follows links; their bits are 0777
  a->mode = (a->mode & S_IFMT) | (args.mode & 07777);
  a->ctime_ns = now_ns();
  reply(op, 0);
}

void Server::handle_utimens(ServerOp* op, const UtimensArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  for (int64_t t : {args.atime_ns, args.mtime_ns})
    if (t < 0 && t != UtimensArgs::kTimeNow && t != UtimensArgs::kTimeOmit) return reply(op, EINVAL);
  Attr* a = table_.find(args.path);
  if (!a) return reply(op, ENOENT);
  int64_t now = now_ns();
  auto set = [now](int64_t t, int64_t* field) {
    if (t != UtimensArgs::kTimeOmit) *field = t == UtimensArgs::kTimeNow ? now : t;
  };
  set(args.atime_ns, &a->atime_ns);
  set(args.mtime_ns, &a->mtime_ns);
  a->ctime_ns = now;
  reply(op, 0);
}

void Server::handle_readdir(ServerOp* op, const ReadDirArgs& args) {
  if (int err = check_path_request(args.path, false)) return reply(op, err);
  if (args.max_bytes < kMinReadDirBytes || args.max_bytes > kMaxReadDirBytes)
    return reply(op, EINVAL);
  // A page of this server's entries under `path`, in name order, that fits
  // in max_bytes; the client asks again after the last name it got.
  std::string page;
  bool more = false;
  table_.list(args.path, args.after,
              [&](const std::string& name, const MetadataTable::DirEntry& e) {
                std::string entry = encode(ReadDirEntry{e.mode, e.id, name});
                if (page.size() + entry.size() > args.max_bytes) {
                  more = true;
                  return false;
                }
                page += entry;
                return true;
              });
  op->storage.assign(page.begin(), page.end());
  op->out_data = op->storage.data();
  op->out_len = op->storage.size();
  reply(op, ReadDirReply{static_cast<uint8_t>(more ? 1 : 0)});
}

void Server::handle_statfs(ServerOp* op, const StatfsArgs&) {
  StatfsReply r;
  if (int err = store_->capacity(&r.capacity, &r.free)) return reply(op, err);
  r.entries = table_.size();
  StoragePool pool = store_->storage_pool();
  r.pool = pool.key;
  r.shared_usage = pool.shared_usage ? 1 : 0;
  reply(op, r);
}

void Server::handle_rename_insert(ServerOp* op, const RenameInsertArgs& args) {
  const std::string& path = args.path;
  if (int err = check_path_request(path, true)) return reply(op, err);
  if (path == "/") return reply(op, EBUSY);
  if (table_.fenced(args.parent_id)) return reply(op, ESTALE);
  Attr moved = args.attr;
  // Only files, directories and links exist, a size must fit off_t, and
  // a link (only a link) has a valid target of its size.
  if (!(moved.is_dir() || moved.is_reg() || moved.is_link()) || moved.size > kMaxFileSize)
    return reply(op, EINVAL);
  if (moved.is_link() != !args.link_target.empty()) return reply(op, EINVAL);
  if (moved.is_link()) {
    if (int err = check_link_target(args.link_target)) return reply(op, err);
    if (moved.size != args.link_target.size()) return reply(op, EINVAL);
  }
  RenameInsertReply r;
  if (Attr* old = table_.find(path)) {
    // The client checked emptiness of a directory target before; types
    // must still match here, where it counts.
    if (old->is_dir() && !moved.is_dir()) return reply(op, EISDIR);
    if (!old->is_dir() && moved.is_dir()) return reply(op, ENOTDIR);
    // Already there: two ranks renamed the same file at once.  (Not for a
    // directory, which the first insert gave a new id.)
    if (old->id == moved.id) return reply(op, r);
    if (old->is_dir() && table_.has_children(path)) return reply(op, ENOTEMPTY);
    // A replaced link has no data to reclaim.
    r = RenameInsertReply{1, old->id, old->is_reg() ? old->size : 0,
                          static_cast<uint8_t>(old->is_dir() ? 1 : 0)};
    table_.erase(path);
  }
  // A moved directory's old id is fenced (clients may still hold it for
  // the old path): it gets a new one.
  if (moved.is_dir()) moved.id = new_file_id();
  moved.ctime_ns = now_ns();
  table_.insert(path, moved, args.link_target);
  reply(op, r);
}

void Server::handle_rename_remove(ServerOp* op, const RenameRemoveArgs& args) {
  if (int err = check_path_request(args.path, true)) return reply(op, err);
  if (args.path == "/") return reply(op, EBUSY);  // the root's id is easy to guess
  Attr* a = table_.find(args.path);
  if (!a || a->id != args.id) return reply(op, ENOENT);
  table_.erase(args.path);
  reply(op, 0);
}

// --- Data -----------------------------------------------------------------

void Server::handle_write(ServerOp* op, const WriteArgs& args) {
  if (int err = check_chunk_range(args.id, args.offset, op->in_len)) return reply(op, err);
  if (stale(args.id)) return reply(op, ESTALE);
  if (args.new_writer > 1 || (args.new_writer && chunk_owner(args.id, 0, nranks_) != rank_))
    return reply(op, EPROTO);
  if (args.new_writer)
    if (int err = count_writer(args.id, true)) return reply(op, err);
  store_->write(args.id, args.offset, op->in_data, op->in_len, [this, op](int64_t r) {
    if (r < 0) return reply(op, static_cast<int>(-r));
    reply(op, WriteReply{static_cast<uint64_t>(r)});
  });
}

void Server::handle_read(ServerOp* op, const ReadArgs& args) {
  uint64_t len = args.length;
  if (int err = check_chunk_range(args.id, args.offset, len)) return reply(op, err);
  if (stale(args.id)) return reply(op, ESTALE);
  char* buf = op->reply_buffer(len);
  store_->read(args.id, args.offset, buf, len, [this, op, buf, len](int64_t r) {
    if (r < 0) return reply(op, static_cast<int>(-r));
    op->out_data = buf;
    op->out_len = len;
    reply(op, 0);
  });
}

void Server::handle_truncate_data(ServerOp* op, const TruncateDataArgs& args) {
  if (args.size > kMaxFileSize) return reply(op, EINVAL);
  if (stale(args.id)) return reply(op, ESTALE);
  // A file with nothing left here is dropped by the store, so a later
  // unlink (which asks only the servers holding chunks of the then-current
  // size) leaves nothing behind.
  store_->truncate(args.id, args.size,
                   [this, op](int64_t r) { reply(op, r < 0 ? static_cast<int>(-r) : 0); });
}

void Server::handle_remove_data(ServerOp* op, const RemoveDataArgs& args) {
  if (args.stale > 1) return reply(op, EPROTO);
  // Kept for the rest of the job, one per file removed while open for
  // writing: a descriptor may write to the id at any time until it closes,
  // and no message says when that is.
  if (args.stale) stale_ids_.insert(args.id);
  RemoveDataReply r{chunk_owner(args.id, 0, nranks_) == rank_ ? forget_writers(args.id)
                                                              : uint8_t{0}};
  store_->remove(args.id, [this, op, r](int64_t result) {
    if (result < 0) return reply(op, static_cast<int>(-result));
    reply(op, r);
  });
}

void Server::handle_writers(ServerOp* op, const WritersArgs& args) {
  if (args.add > 1) return reply(op, EPROTO);
  if (chunk_owner(args.id, 0, nranks_) != rank_) return reply(op, EPROTO);
  if (stale(args.id)) return reply(op, ESTALE);
  reply(op, count_writer(args.id, args.add != 0));
}

void Server::handle_fsync_data(ServerOp* op, const FsyncDataArgs& args) {
  if (stale(args.id)) return reply(op, ESTALE);
  store_->fsync(args.id, [this, op](int64_t r) { reply(op, r < 0 ? static_cast<int>(-r) : 0); });
}

void Server::handle_open_data(ServerOp* op, const OpenDataArgs& args) {
  if (args.create > 1) return reply(op, EPROTO);
  if (args.offset > kMaxFileSize) return reply(op, EINVAL);
  if (chunk_owner(args.id, args.offset / chunk_size_, nranks_) != rank_) return reply(op, EPROTO);
  if (stale(args.id)) return reply(op, ESTALE);
  DirectExtent e;
  if (int err = store_->direct_extent(args.id, args.offset, args.create != 0, &e))
    return reply(op, err);
  reply(op, OpenDataReply{static_cast<uint32_t>(e.fd), e.dev, e.ino, e.local_start, e.address,
                          e.length});
}

}  // namespace benchfs
