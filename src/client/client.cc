// The client's files: open, close, read, write, fsync, stat, truncate,
// access, statfs.  Directories are in directories.cc.
#include "client/client.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "client/calls.h"
#include "common/file_io.h"
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

Client::Client(Runtime& runtime, const Config& config, mode_t umask)
    : runtime_(runtime), config_(config), rank_(runtime.rank()), nranks_(runtime.size()),
      umask_(umask),
      // Peers are asked only if this rank's own store could answer: a job's
      // ranks share BENCHFS_BACKEND and BENCHFS_DIR, so otherwise every
      // open file would cost a refused request per server.
      direct_io_(runtime, config.direct_io && runtime.offers_backing_files(), config.chunk_size) {}

int Client::metadata_owner_of(const std::string& path) const {
  return metadata_owner(path, nranks_);
}

int Client::run(Call* calls, size_t n) {
  runtime_.execute(calls, n, config_.window);
  for (size_t i = 0; i < n; ++i)
    if (calls[i].status) return calls[i].status;
  return 0;
}

int Client::open(const std::string& path, int flags, mode_t mode, OpenFile* file) {
  return resolve(path, !(flags & O_NOFOLLOW), [&](const std::string& p, std::string*) {
    return open_entry(p, flags, mode, file);
  });
}

// A link as the last component is ELOOP from the owner, which then neither
// creates nor truncates anything.
int Client::open_entry(const std::string& path, int flags, mode_t mode, OpenFile* file) {
  if ((flags & O_CREAT) && path == "/") return EISDIR;
  // O_DIRECTORY must not truncate a regular file it then refuses: the
  // owner never sees O_TRUNC, the type is checked on the reply.
  int sent_flags = (flags & O_DIRECTORY) ? flags & ~O_TRUNC : flags;
  OpenReply reply;
  auto send = [&](uint64_t parent_id) {
    OpenArgs args{.path = path, .flags = static_cast<uint32_t>(sent_flags)};
    return call_metadata(new_entry(args, mode, parent_id), &reply);
  };
  // Only a create needs its parent: a plain open sends no parent id.
  int err = (flags & O_CREAT) ? create_in_parent(path, send) : send(0);
  if (err) return err;
  const Attr& a = reply.attr;
  if (reply.truncated_from > 0) {
    // O_TRUNC: the file has a new id; the old id's chunks go everywhere.
    if (int err = call_chunk_servers(RemoveDataArgs{reply.old_id}, reply.truncated_from))
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
  int err = call_metadata(CloseUpdateArgs{f.path, f.id, f.written_end.load(), 1});
  if (err == ESTALE) return 0;  // unlinked or replaced while open: nothing to record
  return err;
}

int Client::close(OpenFile& f) { return report_written(f); }

int Client::fsync(OpenFile& f) {
  uint64_t size = 0;
  if (int err = file_size(f, &size)) return err;
  if (int err = call_chunk_servers(FsyncDataArgs{f.id}, size)) return err;
  return report_written(f);
}

int Client::append_offset(OpenFile& f, size_t len, uint64_t* offset) {
  AppendReply r;
  int err = call_metadata(AppendArgs{f.path, f.id, len, f.written_end.load()}, &r);
  if (err == ESTALE || err == ENOENT) {
    // Unlinked or replaced while open here: as every write to it, at the
    // end this rank knows (docs/reliability.md).
    *offset = std::max(f.known_size.load(), f.written_end.load());
    return 0;
  }
  if (err) return err;
  *offset = r.offset;
  return 0;
}

int Client::file_size(OpenFile& f, uint64_t* size) {
  Attr a;
  int err = lookup(f.path, &a);
  if (err) return err;
  uint64_t s = std::max(a.size, f.written_end.load());
  raise_to(f.known_size, s);
  *size = s;
  return 0;
}

int Client::fstat(OpenFile& f, Attr* attr) {
  int err = lookup(f.path, attr);
  if (err) return err;
  attr->size = std::max(attr->size, f.written_end.load());
  return 0;
}

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
    int fd;
    uint64_t address;
    if (direct_io_.locate(f.direct, f.id, owner, p.file_offset, p.length, true, &fd, &address)) {
      direct[i] = pwrite_full(fd, data + p.buffer_offset, p.length, address);
      runtime_.count_direct(direct[i] > 0 ? static_cast<uint64_t>(direct[i]) : 0);
      continue;
    }
    call_of[i] = calls.size();
    Call& c = calls.emplace_back(call_to(owner, WriteArgs{f.id, p.file_offset}));
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
    } else {
      WriteReply reply;
      err = reply_of(calls[call_of[i]], &reply);
      if (!err && reply.written > p.length) err = EPROTO;
      if (!err) stored = reply.written;
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
    int fd;
    uint64_t address;
    if (direct_io_.locate(f.direct, f.id, owner, p.file_offset, p.length, false, &fd, &address)) {
      int64_t r = pread_full(fd, out + p.buffer_offset, p.length, address);
      if (r < 0) return static_cast<int>(-r);
      runtime_.count_direct(p.length);
      continue;
    }
    Call& c = calls.emplace_back(call_to(owner, ReadArgs{f.id, p.file_offset, p.length}));
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
  return resolve(path, false, [&](const std::string& p, std::string*) { return unlink_entry(p); });
}

// A link is removed itself (it has no data).
int Client::unlink_entry(const std::string& path) {
  UnlinkReply removed;
  if (int err = call_metadata(UnlinkArgs{path}, &removed)) return err;
  if (!removed.removed_here) return call_chunk_servers(RemoveDataArgs{removed.id}, removed.size);
  // Chunk 0's server (the metadata owner) removed its chunks itself.
  uint64_t chunks = chunk_count(removed.size, config_.chunk_size);
  return chunks > 1 ? call_chunk_range(RemoveDataArgs{removed.id}, 1, chunks - 1) : 0;
}

int Client::truncate(const std::string& path, uint64_t length, OpenFile* open_file) {
  // An fd's path is resolved already.
  if (open_file) return truncate_entry(path, length, open_file);
  return resolve(path, true, [&](const std::string& p, std::string*) {
    return truncate_entry(p, length, nullptr);
  });
}

int Client::truncate_entry(const std::string& path, uint64_t length, OpenFile* open_file) {
  TruncateReply cut;
  if (int err = call_metadata(TruncateArgs{path, length}, &cut)) return err;
  uint64_t old_size = cut.old_size;
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
  return call_chunk_range(TruncateDataArgs{cut.id, length}, length / cs, (old_size - 1) / cs);
}

int Client::chmod(const std::string& path, mode_t mode) {
  return resolve(path, true, [&](const std::string& p, std::string*) {
    return call_metadata(ChmodArgs{p, static_cast<uint32_t>(mode & 07777)});
  });
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

int Client::statfs(FsStats* stats) {
  std::vector<Call> calls;
  if (int err = call_every_server(StatfsArgs{}, &calls)) return err;
  *stats = FsStats{};
  for (auto& c : calls) {
    StatfsReply reply;
    if (!decode(c.reply_args, &reply)) return EPROTO;
    stats->capacity += reply.capacity;
    stats->free += reply.free;
    stats->entries += reply.entries;
  }
  return 0;
}

}  // namespace benchfs
