#include "client/client.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "common/file_io.h"
#include "common/path.h"
#include "common/placement.h"
#include "common/striping.h"

namespace benchfs {

namespace {
// Raises v to at least x (sizes only grow while several threads write).
void raise_to(std::atomic<uint64_t>& v, uint64_t x) {
  uint64_t prev = v.load();
  while (prev < x && !v.compare_exchange_weak(prev, x)) {
  }
}
}  // namespace

namespace {
constexpr size_t kMaxRememberedDirs = 4096;

}  // namespace

Client::Client(Runtime& runtime, const Config& config, mode_t umask)
    : runtime_(runtime), config_(config), rank_(runtime.rank()), nranks_(runtime.size()),
      umask_(umask),
      // Peers are asked only if this rank's own store could answer: a job's
      // ranks share BENCHFS_BACKEND and BENCHFS_DIR, so otherwise every
      // open file would cost a refused request per server.
      direct_io_(runtime, config.direct_io && runtime.offers_backing_files()) {}

int Client::metadata_owner_of(const std::string& path) const {
  return metadata_owner(path, nranks_);
}

int Client::run(Call* calls, size_t n) {
  runtime_.execute(calls, n, config_.window);
  for (size_t i = 0; i < n; ++i)
    if (calls[i].status) return calls[i].status;
  return 0;
}

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
  if (int err = stat(parent, &a)) return err;
  if (!a.is_dir()) return ENOTDIR;
  *id = a.id;
  std::lock_guard<std::mutex> lock(dir_ids_mutex_);
  // Bounded: a job's working set of directories is small, and forgetting
  // costs one lookup.
  if (dir_ids_.size() >= kMaxRememberedDirs) dir_ids_.clear();
  dir_ids_[parent] = a.id;
  return 0;
}

Encoder& Client::encode_new_entry(Encoder& e, mode_t mode, uint64_t parent_id) const {
  return e.u32(static_cast<uint32_t>(mode & ~umask_ & 07777))
      .u32(static_cast<uint32_t>(geteuid()))
      .u32(static_cast<uint32_t>(getegid()))
      .u64(parent_id);
}

void Client::forget_dir(const std::string& path) {
  std::lock_guard<std::mutex> lock(dir_ids_mutex_);
  dir_ids_.erase(path);
}

// ESTALE from the server: the parent's id is fenced.  Either that directory
// is gone or was replaced (the id remembered is stale: look the parent up
// again), or an rmdir or rename of it is under way, which ends with it gone
// or with the fence lifted: wait, and look again.  A fence that outlives
// rpc_timeout belongs to a rank that failed mid-way: ETIMEDOUT.
template <typename Send>
int Client::create_in_parent(const std::string& path, Send&& send) {
  // The deadline is set at the first wait: a create that is not refused
  // (nearly every one) reads no clock here.
  std::chrono::steady_clock::time_point deadline;
  for (int attempt = 0;; ++attempt) {
    uint64_t parent_id = 0;
    if (int err = parent_dir_id(path, attempt > 0, &parent_id)) return err;
    int err = send(parent_id);
    if (err != ESTALE) return err;
    forget_dir(parent_path(path));
    if (attempt == 0) continue;
    auto now = std::chrono::steady_clock::now();
    if (attempt == 1)
      deadline = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(config_.rpc_timeout));
    else if (now > deadline)
      return ETIMEDOUT;
    std::this_thread::sleep_for(std::chrono::microseconds(10 << std::min(attempt, 10)));
  }
}

int Client::stat(const std::string& path, Attr* attr) {
  Call c;
  c.target = metadata_owner_of(path);
  c.op = Opcode::kStat;
  c.args = Encoder().str(path).take();
  if (int err = run_one(c)) return err;
  Decoder d(c.reply_args);
  *attr = decode_attr(d);
  return d.done() ? 0 : EPROTO;
}

int Client::for_chunk_range(uint64_t file_id, uint64_t first, uint64_t last, Opcode op,
                            uint64_t arg, bool with_arg) {
  if (last < first) return 0;
  // Consecutive chunks sit on consecutive servers: N chunks cover them all.
  uint64_t servers = std::min<uint64_t>(last - first + 1, static_cast<uint64_t>(nranks_));
  std::vector<Call> calls(servers);
  for (uint64_t k = 0; k < servers; ++k) {
    calls[k].target = chunk_owner(file_id, first + k, nranks_);
    calls[k].op = op;
    Encoder e;
    e.u64(file_id);
    if (with_arg) e.u64(arg);
    calls[k].args = e.take();
  }
  return run(calls.data(), calls.size());
}

int Client::for_each_chunk_server(uint64_t file_id, uint64_t size, Opcode op, uint64_t arg,
                                  bool with_arg) {
  uint64_t chunks = chunk_count(size, config_.chunk_size);
  if (chunks == 0) return 0;
  return for_chunk_range(file_id, 0, chunks - 1, op, arg, with_arg);
}

int Client::open(const std::string& path, int flags, mode_t mode, OpenFile* file) {
  if ((flags & O_CREAT) && path == "/") return EISDIR;
  // O_DIRECTORY must not truncate a regular file it then refuses: the
  // owner never sees O_TRUNC, the type is checked on the reply.
  int sent_flags = (flags & O_DIRECTORY) ? flags & ~O_TRUNC : flags;
  Call c;
  auto send = [&](uint64_t parent_id) {
    c = Call{};
    c.target = metadata_owner_of(path);
    c.op = Opcode::kOpen;
    Encoder e;
    e.str(path).u32(static_cast<uint32_t>(sent_flags));
    c.args = encode_new_entry(e, mode, parent_id).take();
    return run_one(c);
  };
  // Only a create needs its parent: a plain open sends no parent id.
  int err = (flags & O_CREAT) ? create_in_parent(path, send) : send(0);
  if (err) return err;
  Decoder d(c.reply_args);
  Attr a = decode_attr(d);
  uint64_t truncated_from = d.u64(), old_id = d.u64();
  if (!d.done()) return EPROTO;
  if (truncated_from > 0) {
    // O_TRUNC: the file has a new id; the old id's chunks go everywhere.
    if (int err = for_each_chunk_server(old_id, truncated_from, Opcode::kRemoveData, 0, false))
      return err;
  }
  if ((flags & O_DIRECTORY) && !a.is_dir()) return ENOTDIR;
  // As Linux: O_CREAT or O_TRUNC (which asks for write access) on an
  // existing directory is EISDIR, even read-only.
  if (a.is_dir() && (flags & (O_CREAT | O_TRUNC))) return EISDIR;
  file->path = path;
  file->id = a.id;
  file->flags = flags;
  file->is_dir = a.is_dir();
  file->known_size = a.size;
  return 0;
}

int Client::report_written(OpenFile& f) {
  if (!f.wrote.load()) return 0;
  Call c;
  c.target = metadata_owner_of(f.path);
  c.op = Opcode::kCloseUpdate;
  c.args = Encoder().str(f.path).u64(f.id).u64(f.written_end.load()).u8(1).take();
  int err = run_one(c);
  if (err == ESTALE) return 0;  // unlinked or replaced while open: nothing to record
  return err;
}

int Client::close(OpenFile& f) { return report_written(f); }

int Client::fsync(OpenFile& f) {
  uint64_t size = 0;
  if (int err = file_size(f, &size)) return err;
  if (int err = for_each_chunk_server(f.id, size, Opcode::kFsyncData, 0, false)) return err;
  return report_written(f);
}

int Client::file_size(OpenFile& f, uint64_t* size) {
  Attr a;
  int err = stat(f.path, &a);
  if (err) return err;
  uint64_t s = std::max(a.size, f.written_end.load());
  raise_to(f.known_size, s);
  *size = s;
  return 0;
}

int Client::fstat(OpenFile& f, Attr* attr) {
  int err = stat(f.path, attr);
  if (err) return err;
  attr->size = std::max(attr->size, f.written_end.load());
  return 0;
}

// Between ranks of one host whose servers keep backing files on tmpfs or
// ramfs, a client copies chunk bytes into and out of the server's file
// itself: one memory copy, as a write to tmpfs makes, where a request costs
// two (the server copies the payload out of the client, then into the file)
// and has the client wait for the server's thread.  The server still owns
// the file: it creates it (kOpenData), truncates, fsyncs and removes it.
// This process holds a duplicate of the server's descriptor (pidfd_getfd,
// allowed where cross-memory attach is, see Transport::direct) for as long
// as the file is open here.  A backing file the server has since removed
// (unlink, or a truncate that dropped all its chunks there) has no links
// left, or, a memory file (which never has links), is sealed: it is
// dropped and the current one asked for, so a write ordered after the
// removal lands in the file the server keeps.
int Client::pwrite(OpenFile& f, const void* buf, size_t len, uint64_t offset, size_t* done) {
  *done = 0;
  if (len == 0) return 0;
  const char* data = static_cast<const char*>(buf);
  auto pieces = split_into_chunks(offset, len, config_.chunk_size);
  // Per piece: bytes stored or -errno (direct), or the index of its call.
  std::vector<int64_t> direct(pieces.size(), 0);
  std::vector<size_t> call_of(pieces.size(), SIZE_MAX);
  std::vector<Call> calls;
  calls.reserve(pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    const ChunkPiece& p = pieces[i];
    int owner = chunk_owner(f.id, p.index, nranks_);
    if (auto file = direct_io_.file(f.direct, f.id, owner, true)) {
      direct[i] = pwrite_full(file->fd, data + p.buffer_offset, p.length, p.file_offset);
      runtime_.count_direct(direct[i] > 0 ? static_cast<uint64_t>(direct[i]) : 0);
      continue;
    }
    call_of[i] = calls.size();
    Call& c = calls.emplace_back();
    c.target = owner;
    c.op = Opcode::kWrite;
    c.args = Encoder().u64(f.id).u64(p.file_offset).take();
    c.send_data = data + p.buffer_offset;
    c.send_len = p.length;
  }
  run(calls.data(), calls.size());
  // Servers fail independently (one full, the others not): the caller gets
  // the prefix that is stored, a short count, as a full local disk gives.
  // The size covers every stored byte, also past the prefix, so that unlink
  // and truncate, which ask the servers holding chunks below the size,
  // reclaim them.
  int first_err = 0;
  uint64_t stored_end = 0;
  bool prefix_whole = true;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const ChunkPiece& p = pieces[i];
    uint64_t stored = 0;
    int err = 0;
    if (call_of[i] == SIZE_MAX) {
      if (direct[i] < 0) err = static_cast<int>(-direct[i]);
      else stored = static_cast<uint64_t>(direct[i]);
    } else if ((err = calls[call_of[i]].status) == 0) {
      Decoder d(calls[call_of[i]].reply_args);
      stored = d.u64();
      if (!d.done() || stored > p.length) {
        stored = 0;
        err = EPROTO;
      }
    }
    if (!first_err) first_err = err;
    if (stored > 0) stored_end = std::max(stored_end, p.file_offset + stored);
    if (prefix_whole) {
      *done += stored;
      prefix_whole = stored == p.length;
    }
  }
  // A server that stored less without an error (never expected) is still a
  // short write, whose cause the caller cannot tell: EIO.
  if (*done < len && !first_err) first_err = EIO;
  if (stored_end > 0) {
    raise_to(f.written_end, stored_end);
    raise_to(f.known_size, stored_end);
    f.wrote = true;
  }
  return first_err;
}

int Client::pread(OpenFile& f, void* buf, size_t len, uint64_t offset, size_t* done) {
  *done = 0;
  if (len == 0) return 0;
  uint64_t size = std::max(f.known_size.load(), f.written_end.load());
  if (offset + len > size) {
    // The read reaches past what we know: ask the owner before calling it EOF.
    if (int err = file_size(f, &size)) return err;
  }
  if (offset >= size) return 0;
  len = static_cast<size_t>(std::min<uint64_t>(len, size - offset));
  char* out = static_cast<char*>(buf);
  auto pieces = split_into_chunks(offset, len, config_.chunk_size);
  std::vector<Call> calls;
  calls.reserve(pieces.size());
  for (const ChunkPiece& p : pieces) {
    int owner = chunk_owner(f.id, p.index, nranks_);
    if (auto file = direct_io_.file(f.direct, f.id, owner, false)) {
      int64_t r = pread_full(file->fd, out + p.buffer_offset, p.length, p.file_offset);
      if (r < 0) return static_cast<int>(-r);
      runtime_.count_direct(p.length);
      continue;
    }
    Call& c = calls.emplace_back();
    c.target = owner;
    c.op = Opcode::kRead;
    c.args = Encoder().u64(f.id).u64(p.file_offset).u64(p.length).take();
    c.recv_buf = out + p.buffer_offset;
    c.recv_cap = p.length;
  }
  if (int err = run(calls.data(), calls.size())) return err;
  for (auto& c : calls)
    if (c.recv_len != c.recv_cap) return EIO;
  *done = len;
  return 0;
}

int Client::unlink(const std::string& path) {
  Call c;
  c.target = metadata_owner_of(path);
  c.op = Opcode::kUnlink;
  c.args = Encoder().str(path).take();
  if (int err = run_one(c)) return err;
  Decoder d(c.reply_args);
  uint64_t id = d.u64(), size = d.u64();
  if (!d.done()) return EPROTO;
  return for_each_chunk_server(id, size, Opcode::kRemoveData, 0, false);
}

int Client::mkdir(const std::string& path, mode_t mode) {
  if (path == "/") return EEXIST;
  return create_in_parent(path, [&](uint64_t parent_id) {
    Call c;
    c.target = metadata_owner_of(path);
    c.op = Opcode::kMkdir;
    Encoder e;
    e.str(path);
    c.args = encode_new_entry(e, mode, parent_id).take();
    return run_one(c);
  });
}

int Client::call_every_server(Opcode op, const std::string& args, std::vector<Call>* calls) {
  calls->assign(static_cast<size_t>(nranks_), Call{});
  for (int r = 0; r < nranks_; ++r) {
    (*calls)[r].target = r;
    (*calls)[r].op = op;
    (*calls)[r].args = args;
  }
  return run(calls->data(), calls->size());
}

int Client::fence_dir(const std::string& path, uint64_t id, bool* empty) {
  // Entries of a directory live on the servers that own their paths: ask all.
  std::vector<Call> calls;
  int err = call_every_server(Opcode::kFenceDir, Encoder().str(path).u64(id).take(), &calls);
  std::vector<int> fenced;
  bool any = false;
  for (int r = 0; r < nranks_; ++r) {
    if (calls[r].status) continue;
    Decoder d(calls[r].reply_args);
    uint8_t has_entries = d.u8();
    if (!d.done()) {
      if (!err) err = EPROTO;
    } else if (has_entries) {
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
  std::vector<Call> calls(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    calls[i].target = servers[i];
    calls[i].op = Opcode::kUnfenceDir;
    calls[i].args = Encoder().u64(id).take();
  }
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
  for (;;) {
    Attr a;
    if (int err = stat(path, &a)) return err;
    if (!a.is_dir()) return ENOTDIR;
    bool empty = false;
    if (int err = fence_dir(path, a.id, &empty)) return err;
    if (!empty) return ENOTEMPTY;
    Call c;
    c.target = metadata_owner_of(path);
    c.op = Opcode::kRmdir;
    c.args = Encoder().str(path).u64(a.id).take();
    int err = run_one(c);
    // ESTALE: another directory took the name since the stat (the one
    // fenced is gone): remove that one.  ENOENT, ENOTDIR: the one fenced
    // is gone.  Anything else: it stays, unfenced.
    if (err == ESTALE) continue;
    if (err == 0 || err == ENOENT || err == ENOTDIR) forget_dir(path);
    else unfence_dir(a.id);
    return err;
  }
}


int Client::truncate(const std::string& path, uint64_t length, OpenFile* open_file) {
  Call c;
  c.target = metadata_owner_of(path);
  c.op = Opcode::kTruncate;
  c.args = Encoder().str(path).u64(length).take();
  if (int err = run_one(c)) return err;
  Decoder d(c.reply_args);
  uint64_t id = d.u64(), old_size = d.u64();
  if (!d.done()) return EPROTO;
  if (open_file) {
    // This rank's own unreported writes past the new end are gone too.  The
    // owner's size does not include them yet, so they bound the data to cut
    // as well (else an ftruncate after a write left those bytes in place,
    // to reappear when the file grows again).
    uint64_t w = open_file->written_end.load();
    old_size = std::max(old_size, w);
    while (w > length && !open_file->written_end.compare_exchange_weak(w, length)) {
    }
    open_file->known_size = length;
  }
  if (old_size <= length) return 0;  // grown: the new bytes are a hole
  uint64_t cs = config_.chunk_size;
  return for_chunk_range(id, length / cs, (old_size - 1) / cs, Opcode::kTruncateData, length,
                         true);
}

int Client::chmod(const std::string& path, mode_t mode) {
  Call c;
  c.target = metadata_owner_of(path);
  c.op = Opcode::kChmod;
  c.args = Encoder().str(path).u32(static_cast<uint32_t>(mode & 07777)).take();
  return run_one(c);
}

int Client::access(const std::string& path, int mode) {
  Attr a;
  if (int err = stat(path, &a)) return err;
  if (mode == F_OK) return 0;
  uid_t uid = geteuid();
  if (uid == 0) {
    // Root may read and write anything, and execute what anyone may.
    if ((mode & X_OK) && !a.is_dir() && !(a.mode & 0111)) return EACCES;
    return 0;
  }
  unsigned shift;
  if (a.uid == uid) {
    shift = 6;
  } else {
    bool in_group = a.gid == getegid();
    if (!in_group) {
      std::vector<gid_t> groups(static_cast<size_t>(std::max(0, getgroups(0, nullptr))));
      int n = getgroups(static_cast<int>(groups.size()), groups.data());
      for (int i = 0; i < n && !in_group; ++i) in_group = groups[i] == a.gid;
    }
    shift = in_group ? 3 : 0;
  }
  unsigned granted = (a.mode >> shift) & 7;
  unsigned wanted = ((mode & R_OK) ? 4 : 0) | ((mode & W_OK) ? 2 : 0) | ((mode & X_OK) ? 1 : 0);
  return (granted & wanted) == wanted ? 0 : EACCES;
}

int Client::rename(const std::string& from, const std::string& to) {
  if (from == "/" || to == "/") return EBUSY;
  Attr src;
  if (int err = stat(from, &src)) return err;
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
  int err = stat(to, &dst);
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
  Call insert;
  err = create_in_parent(to, [&](uint64_t parent_id) {
    insert = Call{};
    insert.target = metadata_owner_of(to);
    insert.op = Opcode::kRenameInsert;
    Encoder e;
    e.str(to);
    encode_attr(e, src);
    e.u64(parent_id);
    insert.args = e.take();
    return run_one(insert);
  });
  if (err) return fail(err);
  if (src.is_dir()) {
    forget_dir(from);
    forget_dir(to);
  }
  Decoder d(insert.reply_args);
  uint8_t replaced = d.u8();
  uint64_t old_id = d.u64(), old_size = d.u64();
  uint8_t old_was_dir = d.u8();
  if (!d.done()) return EPROTO;
  Call remove;
  remove.target = metadata_owner_of(from);
  remove.op = Opcode::kRenameRemove;
  remove.args = Encoder().str(from).u64(src.id).take();
  // ENOENT: another rank renamed or removed the old name meanwhile; the
  // file is under the new name either way.
  if (int e2 = run_one(remove); e2 && e2 != ENOENT) return e2;
  if (replaced && !old_was_dir)
    return for_each_chunk_server(old_id, old_size, Opcode::kRemoveData, 0, false);
  return 0;
}

int Client::why_missing(const std::string& path) {
  // Nothing can exist below a file (creation checks the parent), so the
  // deepest existing ancestor decides.  "/" always exists and is a
  // directory: asking for it would cost a message to its owner.
  std::string p = path;
  while (p != "/") {
    p = parent_path(p);
    if (p == "/") break;
    Attr a;
    int err = stat(p, &a);
    if (err == 0) return a.is_dir() ? ENOENT : ENOTDIR;
    if (err != ENOENT) return err;
  }
  return ENOENT;
}

int Client::statfs(FsStats* stats) {
  std::vector<Call> calls;
  if (int err = call_every_server(Opcode::kStatfs, std::string(), &calls)) return err;
  *stats = FsStats{};
  for (auto& c : calls) {
    Decoder d(c.reply_args);
    uint64_t total = d.u64(), free = d.u64(), entries = d.u64();
    if (!d.done()) return EPROTO;
    stats->capacity += total;
    stats->free += free;
    stats->entries += entries;
  }
  return 0;
}

int Client::opendir(const std::string& path, DirListing* listing) {
  Attr a;
  if (int err = stat(path, &a)) return err;
  if (!a.is_dir()) return ENOTDIR;
  Attr parent = a;
  if (path != "/" && stat(parent_path(path), &parent) != 0) parent = a;
  listing->path = path;
  listing->id = a.id;
  listing->parent_id = parent.id;
  return 0;
}

int Client::readdir(DirListing& l, DirListing::Entry* entry) {
  if (l.stage < 2) {
    *entry = DirListing::Entry{l.stage == 0 ? "." : "..", S_IFDIR,
                               l.stage == 0 ? l.id : l.parent_id};
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
    Call c;
    c.target = l.server;
    c.op = Opcode::kReadDir;
    c.args = Encoder().str(l.path).str(l.after).u64(kPageBytes).take();
    c.recv_buf = buf.data();
    c.recv_cap = buf.size();
    if (int err = run_one(c)) return err;
    Decoder args(c.reply_args);
    l.server_more = args.u8() != 0;
    if (!args.done()) return EPROTO;
    l.page.clear();
    l.next = 0;
    Decoder d(std::string_view(buf.data(), c.recv_len));
    while (d.ok() && !d.done()) {
      DirListing::Entry e;
      e.mode = d.u32();
      e.id = d.u64();
      e.name = d.str();
      if (d.ok()) l.page.push_back(std::move(e));
    }
    if (!d.ok()) return EPROTO;
    if (!l.page.empty()) l.after = l.page.back().name;
    else l.server_more = false;
  }
  *entry = std::move(l.page[l.next++]);
  return 0;
}

}  // namespace benchfs
