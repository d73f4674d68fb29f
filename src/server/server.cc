#include "server/server.h"

#include <fcntl.h>

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

// A path request's arguments must decode exactly (else EPROTO).  Clients
// send normalised paths (one spelling per file, so an entry made under
// another spelling could never be found again) to the path's metadata owner
// (an entry elsewhere would be unreachable and never reclaimed).  `owned` is
// false for requests sent to every server.
int Server::check_path_request(const Decoder& d, const std::string& path, bool owned) const {
  if (!d.done()) return EPROTO;
  // No client sends an empty path (the API refuses it): a malformed request.
  if (path.empty() || path.find('\0') != std::string::npos) return EINVAL;
  std::string normalized;
  if (int err = normalize_path(path, &normalized)) return err;
  if (normalized != path) return EINVAL;
  if (owned && metadata_owner(path, nranks_) != rank_) return EPROTO;
  return 0;
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

void Server::handle(ServerOp* op) {
  if (int err = admit(op->header, op->in_len)) return reply(op, err);
  Decoder d(op->args);
  Opcode code = op->opcode();
  ++served_[static_cast<size_t>(code)];
  switch (code) {
    case Opcode::kOpen: return handle_open(op, d);
    case Opcode::kStat: return handle_stat(op, d);
    case Opcode::kUnlink: return handle_unlink(op, d);
    case Opcode::kCloseUpdate: return handle_close_update(op, d);
    case Opcode::kMkdir: return handle_mkdir(op, d);
    case Opcode::kRmdir: return handle_rmdir(op, d);
    case Opcode::kFenceDir: return handle_fence_dir(op, d);
    case Opcode::kUnfenceDir: return handle_unfence_dir(op, d);
    case Opcode::kTruncate: return handle_truncate(op, d);
    case Opcode::kChmod: return handle_chmod(op, d);
    case Opcode::kReadDir: return handle_readdir(op, d);
    case Opcode::kStatfs: return handle_statfs(op, d);
    case Opcode::kRenameInsert: return handle_rename_insert(op, d);
    case Opcode::kRenameRemove: return handle_rename_remove(op, d);
    case Opcode::kWrite: return handle_write(op, d);
    case Opcode::kRead: return handle_read(op, d);
    case Opcode::kTruncateData: return handle_truncate_data(op, d);
    case Opcode::kRemoveData: return handle_remove_data(op, d);
    case Opcode::kFsyncData: return handle_fsync_data(op, d);
    case Opcode::kOpenData: return handle_open_data(op, d);
    case Opcode::kCount: break;
  }
  reply(op, EPROTO);
}

// --- Metadata -------------------------------------------------------------

void Server::handle_open(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint32_t flags = d.u32(), mode = d.u32(), uid = d.u32(), gid = d.u32();
  uint64_t parent_id = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if ((flags & O_CREAT) && table_.fenced(parent_id)) return reply(op, ESTALE);
  int accmode = static_cast<int>(flags) & O_ACCMODE;
  uint64_t truncated_from = 0, old_id = 0;
  Attr* a = table_.find(path);
  if (a) {
    if ((flags & O_CREAT) && (flags & O_EXCL)) return reply(op, EEXIST);
    if (a->is_dir() && accmode != O_RDONLY) return reply(op, EISDIR);
    if ((flags & O_TRUNC) && a->is_reg() && accmode != O_RDONLY && a->size > 0) {
      // The emptied file gets new storage (a new id); the caller reclaims
      // the old id's chunks.  Ranks opening after this one write to the new
      // id, so that reclaim can never erase their data (IOR opens a shared
      // file with O_TRUNC from every rank at once).
      truncated_from = a->size;
      old_id = a->id;
      Attr fresh = *a;
      fresh.id = new_file_id();
      fresh.size = 0;
      fresh.mtime_ns = fresh.ctime_ns = now_ns();
      table_.erase(path);
      a = &table_.insert(path, fresh);
    }
  } else {
    if (!(flags & O_CREAT)) return reply(op, ENOENT);
    Attr n;
    n.id = new_file_id();
    n.mode = S_IFREG | (mode & 07777);
    n.uid = uid;
    n.gid = gid;
    n.nlink = 1;
    n.atime_ns = n.mtime_ns = n.ctime_ns = now_ns();
    a = &table_.insert(path, n);
  }
  Encoder e;
  encode_attr(e, *a);
  e.u64(truncated_from).u64(old_id);
  op->reply_args = e.take();
  reply(op, 0);
}

void Server::handle_stat(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  Attr* a = table_.find(path);
  if (!a) return reply(op, ENOENT);
  Encoder e;
  encode_attr(e, *a);
  op->reply_args = e.take();
  reply(op, 0);
}

void Server::handle_unlink(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  Attr* a = table_.find(path);
  if (!a) return reply(op, ENOENT);
  if (a->is_dir()) return reply(op, EISDIR);
  Encoder e;
  e.u64(a->id).u64(a->size);
  op->reply_args = e.take();
  table_.erase(path);
  reply(op, 0);
}

void Server::handle_close_update(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint64_t id = d.u64(), written_end = d.u64();
  uint8_t wrote = d.u8();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (written_end > kMaxFileSize) return reply(op, EINVAL);
  Attr* a = table_.find(path);
  // The file was unlinked or replaced while open: nothing to update.
  if (!a || a->id != id) return reply(op, ESTALE);
  if (written_end > a->size) a->size = written_end;
  if (wrote) a->mtime_ns = a->ctime_ns = now_ns();
  reply(op, 0);
}

void Server::handle_mkdir(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint32_t mode = d.u32(), uid = d.u32(), gid = d.u32();
  uint64_t parent_id = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (table_.fenced(parent_id)) return reply(op, ESTALE);
  if (table_.find(path)) return reply(op, EEXIST);
  Attr n;
  n.id = new_file_id();
  n.mode = S_IFDIR | (mode & 07777);
  n.uid = uid;
  n.gid = gid;
  n.nlink = 2;
  n.atime_ns = n.mtime_ns = n.ctime_ns = now_ns();
  table_.insert(path, n);
  reply(op, 0);
}

void Server::handle_rmdir(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint64_t id = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (path == "/") return reply(op, EBUSY);
  Attr* a = table_.find(path);
  if (!a) return reply(op, ENOENT);
  if (!a->is_dir()) return reply(op, ENOTDIR);
  // Another directory took the name since the client fenced the one it
  // found: that one is not fenced, and not the caller's to remove.
  if (a->id != id) return reply(op, ESTALE);
  if (table_.has_children(path)) return reply(op, ENOTEMPTY);
  table_.erase(path);
  reply(op, 0);
}

void Server::handle_fence_dir(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint64_t id = d.u64();
  if (int err = check_path_request(d, path, false)) return reply(op, err);
  op->reply_args = Encoder().u8(table_.fence(path, id) ? 0 : 1).take();
  reply(op, 0);
}

void Server::handle_unfence_dir(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  table_.unfence(id);
  reply(op, 0);
}

void Server::handle_truncate(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint64_t size = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (size > kMaxFileSize) return reply(op, EINVAL);
  Attr* a = table_.find(path);
  if (!a) return reply(op, ENOENT);
  if (a->is_dir()) return reply(op, EISDIR);
  op->reply_args = Encoder().u64(a->id).u64(a->size).take();
  a->size = size;
  a->mtime_ns = a->ctime_ns = now_ns();
  reply(op, 0);
}

void Server::handle_chmod(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint32_t mode = d.u32();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  Attr* a = table_.find(path);
  if (!a) return reply(op, ENOENT);
  a->mode = (a->mode & S_IFMT) | (mode & 07777);
  a->ctime_ns = now_ns();
  reply(op, 0);
}

void Server::handle_readdir(ServerOp* op, Decoder& d) {
  std::string path = d.str(), after = d.str();
  uint64_t max_bytes = d.u64();
  if (int err = check_path_request(d, path, false)) return reply(op, err);
  if (max_bytes < kMinReadDirBytes || max_bytes > kMaxReadDirBytes) return reply(op, EINVAL);
  // A page of this server's entries under `path`, in name order, that fits
  // in max_bytes; the client asks again after the last name it got.
  Encoder page;
  bool more = false;
  table_.list(path, after, [&](const std::string& name, const MetadataTable::DirEntry& e) {
    if (page.bytes().size() + 4 + 8 + 4 + name.size() > max_bytes) {
      more = true;
      return false;
    }
    page.u32(e.mode).u64(e.id).str(name);
    return true;
  });
  op->storage.assign(page.bytes().begin(), page.bytes().end());
  op->out_data = op->storage.data();
  op->out_len = op->storage.size();
  op->reply_args = Encoder().u8(more ? 1 : 0).take();
  reply(op, 0);
}

void Server::handle_statfs(ServerOp* op, Decoder& d) {
  if (!d.done()) return reply(op, EPROTO);
  uint64_t total = 0, free = 0;
  if (int err = store_->capacity(&total, &free)) return reply(op, err);
  op->reply_args = Encoder().u64(total).u64(free).u64(table_.size()).take();
  reply(op, 0);
}

void Server::handle_rename_insert(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  Attr moved = decode_attr(d);
  uint64_t parent_id = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (path == "/") return reply(op, EBUSY);
  if (table_.fenced(parent_id)) return reply(op, ESTALE);
  // Only files and directories exist, and a size must fit off_t.
  if (!(moved.is_dir() || moved.is_reg()) || moved.size > kMaxFileSize) return reply(op, EINVAL);
  Encoder e;
  if (Attr* old = table_.find(path)) {
    // The client checked emptiness of a directory target before; types
    // must still match here, where it counts.
    if (old->is_dir() && !moved.is_dir()) return reply(op, EISDIR);
    if (!old->is_dir() && moved.is_dir()) return reply(op, ENOTDIR);
    // Already there: two ranks renamed the same file at once.  (Not for a
    // directory, which the first insert gave a new id.)
    if (old->id == moved.id) {
      op->reply_args = e.u8(0).u64(0).u64(0).u8(0).take();
      return reply(op, 0);
    }
    if (old->is_dir() && table_.has_children(path)) return reply(op, ENOTEMPTY);
    e.u8(1).u64(old->id).u64(old->size).u8(old->is_dir() ? 1 : 0);
    table_.erase(path);
  } else {
    e.u8(0).u64(0).u64(0).u8(0);
  }
  // A moved directory's old id is fenced (clients may still hold it for
  // the old path): it gets a new one.
  if (moved.is_dir()) moved.id = new_file_id();
  moved.ctime_ns = now_ns();
  table_.insert(path, moved);
  op->reply_args = e.take();
  reply(op, 0);
}

void Server::handle_rename_remove(ServerOp* op, Decoder& d) {
  std::string path = d.str();
  uint64_t id = d.u64();
  if (int err = check_path_request(d, path, true)) return reply(op, err);
  if (path == "/") return reply(op, EBUSY);  // the root's id is easy to guess
  Attr* a = table_.find(path);
  if (!a || a->id != id) return reply(op, ENOENT);
  table_.erase(path);
  reply(op, 0);
}

// --- Data -----------------------------------------------------------------

void Server::handle_write(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64(), offset = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  if (int err = check_chunk_range(id, offset, op->in_len)) return reply(op, err);
  store_->write(id, offset, op->in_data, op->in_len, [this, op](int64_t r) {
    if (r < 0) return reply(op, static_cast<int>(-r));
    op->reply_args = Encoder().u64(static_cast<uint64_t>(r)).take();
    reply(op, 0);
  });
}

void Server::handle_read(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64(), offset = d.u64(), len = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  if (int err = check_chunk_range(id, offset, len)) return reply(op, err);
  char* buf = op->reply_buffer(len);
  store_->read(id, offset, buf, len, [this, op, buf, len](int64_t r) {
    if (r < 0) return reply(op, static_cast<int>(-r));
    op->out_data = buf;
    op->out_len = len;
    reply(op, 0);
  });
}

void Server::handle_truncate_data(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64(), size = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  if (size > kMaxFileSize) return reply(op, EINVAL);
  auto done = [this, op](int64_t r) { reply(op, r < 0 ? static_cast<int>(-r) : 0); };
  // When none of this rank's chunks lies below the new size, drop the file
  // here entirely, so a later unlink (which asks only the servers holding
  // chunks of the then-current size) leaves nothing behind.
  if (first_chunk_on(id, rank_, nranks_) >= chunk_count(size, chunk_size_))
    return store_->remove(id, done);
  store_->truncate(id, size, done);
}

void Server::handle_remove_data(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  store_->remove(id, [this, op](int64_t r) { reply(op, r < 0 ? static_cast<int>(-r) : 0); });
}

void Server::handle_fsync_data(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64();
  if (!d.done()) return reply(op, EPROTO);
  store_->fsync(id, [this, op](int64_t r) { reply(op, r < 0 ? static_cast<int>(-r) : 0); });
}

void Server::handle_open_data(ServerOp* op, Decoder& d) {
  uint64_t id = d.u64();
  uint8_t create = d.u8();
  if (!d.done() || create > 1) return reply(op, EPROTO);
  int fd = -1;
  uint64_t dev = 0, ino = 0;
  if (int err = store_->backing_file(id, create != 0, &fd, &dev, &ino)) return reply(op, err);
  op->reply_args = Encoder().u32(static_cast<uint32_t>(fd)).u64(dev).u64(ino).take();
  reply(op, 0);
}

}  // namespace benchfs
