// The client's files: open, close, read, write, fsync, stat, truncate,
// access, statfs.  Directories are in directories.cc.
#include "client/client.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_map>

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
    if (int err = remove_data(reply.old_id, reply.truncated_from)) return err;
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

int Client::report_written(OpenFile& f, bool closing) {
  if (!f.wrote.load()) return 0;
  // A writer (see kWriters) is counted off at its close: in the size report
  // if the metadata owner made the id, else by the server that did.  An fd
  // holding direct extents asks that server itself: ESTALE there means the
  // file was removed while this fd could copy into its extents, bytes
  // nobody else frees.
  bool counted = closing && f.counted_writer.load();
  int creator = chunk_owner(f.id, 0, nranks_);
  bool ask_creator = counted && (creator != metadata_owner_of(f.path) || f.direct.any());
  int err = call_metadata(CloseUpdateArgs{f.path, f.id, f.written_end.load(), 1,
                                          static_cast<uint8_t>(counted && !ask_creator)});
  if (ask_creator) {
    Call c = call_to(creator, WritersArgs{f.id, 0});
    run_one(c);  // a count left too high costs messages only (see kWriters)
    if (c.status == ESTALE) direct_io_.discard(f.direct);
  }
  if (err == ESTALE) return 0;  // unlinked or replaced while open: nothing to record
  return err;
}

int Client::close(OpenFile& f) { return report_written(f, true); }

int Client::remove_data(uint64_t id, uint64_t size) {
  // Chunk 0's server (which made the id) is asked even for an empty file:
  // it counts the file's writers.
  uint64_t chunks = std::max<uint64_t>(chunk_count(size, config_.chunk_size), 1);
  bool had_writers = false;
  int err = remove_chunks(RemoveDataArgs{id, 0}, 0, chunks - 1, &had_writers);
  if (err || !had_writers) return err;
  return make_stale(id);
}

int Client::remove_chunks(const RemoveDataArgs& args, uint64_t first, uint64_t last,
                          bool* had_writers) {
  std::vector<Call> calls = chunk_range_calls(args, first, last);
  int err = run(calls.data(), calls.size());
  for (const Call& c : calls) {
    RemoveDataReply r;
    if (reply_of(c, &r) == 0 && r.had_writers) *had_writers = true;
  }
  return err;
}

int Client::make_stale(uint64_t id) {
  // A descriptor that wrote before may write to any chunk: every server
  // removes what it holds of the id and refuses the id from now on
  // (ESTALE), not only those holding chunks below the size.
  std::vector<Call> calls;
  return call_every_server(RemoveDataArgs{id, 1}, &calls);
}

int Client::fsync(OpenFile& f) {
  uint64_t size = 0;
  if (int err = file_size(f, &size)) return err;
  if (int err = call_chunk_servers(FsyncDataArgs{f.id}, size)) return err;
  return report_written(f, false);
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
  // The fd's first write makes it a writer, counted by the server that made
  // the id (kWriters), before any of its bytes is stored: a removal that
  // finds no writer makes no server refuse the id, and that server refuses
  // a writer of an id it no longer has.  The registration rides on the
  // piece going to that server if there is one (a small file's whole
  // write: no extra message), sent ahead; else it is a request of its own.
  size_t ahead = SIZE_MAX;  // that piece, written with the registration
  if (!f.counted_writer.exchange(true)) {
    const int creator = chunk_owner(f.id, 0, nranks_);
    for (size_t i = 0; i < pieces.size() && ahead == SIZE_MAX; ++i)
      if (chunk_owner(f.id, pieces[i].index, nranks_) == creator) ahead = i;
    Call c = call_to(creator, WritersArgs{f.id, 1});
    if (ahead != SIZE_MAX) {
      const ChunkPiece& p = pieces[ahead];
      c = call_to(creator, WriteArgs{f.id, p.file_offset, 1});
      c.send_data = data + p.buffer_offset;
      c.send_len = p.length;
    }
    run_one(c);
    if (c.status) {
      f.counted_writer = false;  // the next write tries again
      if (c.status == ESTALE || ahead == SIZE_MAX) return stale_write(f, c.status);
    }
    if (ahead != SIZE_MAX) {
      call_of[ahead] = calls.size();
      calls.push_back(std::move(c));
    }
  }
  size_t sent_ahead = calls.size();
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (i == ahead) continue;
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
    Call& c = calls.emplace_back(call_to(owner, WriteArgs{f.id, p.file_offset, 0}));
    c.send_data = data + p.buffer_offset;
    c.send_len = p.length;
  }
  run(calls.data() + sent_ahead, calls.size() - sent_ahead);
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
  if (first_err == ESTALE) {
    *done = 0;
    return stale_write(f, ESTALE);
  }
  if (stored_end > 0) {
    raise_to(f.written_end, stored_end);
    raise_to(f.known_size, stored_end);
    f.wrote = true;
  }
  return first_err;
}

int Client::stale_write(OpenFile& f, int err) {
  // The file was removed or replaced while open here (kRemoveData): what
  // this fd copied into the file's extents itself is freed, since no
  // server frees it again.
  if (err == ESTALE) direct_io_.discard(f.direct);
  return err;
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
  if (removed.open_for_writing) return make_stale(removed.id);
  if (!removed.removed_here) return remove_data(removed.id, removed.size);
  // Chunk 0's server (the metadata owner) removed its chunks itself (a
  // link has none).
  uint64_t chunks = chunk_count(removed.size, config_.chunk_size);
  return chunks > 1 ? call_chunk_range(RemoveDataArgs{removed.id, 0}, 1, chunks - 1) : 0;
}

int Client::truncate(const std::string& path, uint64_t length, bool by_fd,
                     const std::vector<std::shared_ptr<OpenFile>>& open_files) {
  // An fd's path is resolved already.
  if (by_fd) return truncate_entry(path, length, open_files);
  return resolve(path, true, [&](const std::string& p, std::string*) {
    return truncate_entry(p, length, open_files);
  });
}

int Client::truncate_entry(const std::string& path, uint64_t length,
                           const std::vector<std::shared_ptr<OpenFile>>& open_files) {
  TruncateReply cut;
  if (int err = call_metadata(TruncateArgs{path, length}, &cut)) return err;
  uint64_t old_size = cut.old_size;
  for (const auto& open_file : open_files) {
    if (open_file->id != cut.id) continue;
    // This rank's own unreported writes past the new end are gone too.  The
    // owner's size does not include them yet, so they bound the data to cut
    // as well (else a truncate after a write left those bytes in place, to
    // reappear when the file grows again, or the size to grow back at close).
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

int Client::utimens(const std::string& path, const struct timespec* times) {
  return resolve(path, true, [&](const std::string& p, std::string*) { return utimens_entry(p, times); });
}

int Client::utimens_entry(const std::string& path, const struct timespec* times) {
  UtimensArgs args{path, UtimensArgs::kTimeNow, UtimensArgs::kTimeNow};
  if (times) {
    auto field = [](const struct timespec& t, int64_t* ns) {
      if (t.tv_nsec == UTIME_NOW) return (*ns = UtimensArgs::kTimeNow), 0;
      if (t.tv_nsec == UTIME_OMIT) return (*ns = UtimensArgs::kTimeOmit), 0;
      if (t.tv_nsec < 0 || t.tv_nsec > 999999999 || t.tv_sec < 0) return EINVAL;
      if (__builtin_mul_overflow(static_cast<int64_t>(t.tv_sec), int64_t{1000000000}, ns) ||
          __builtin_add_overflow(*ns, static_cast<int64_t>(t.tv_nsec), ns))
        return EINVAL;
      return 0;
    };
    if (int err = field(times[0], &args.atime_ns)) return err;
    if (int err = field(times[1], &args.mtime_ns)) return err;
    if (args.atime_ns == UtimensArgs::kTimeOmit && args.mtime_ns == UtimensArgs::kTimeOmit) {
      Attr a;  // nothing to change, but the path must exist (as Linux)
      return stat(path, &a);
    }
  }
  return call_metadata(args);
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
  // Storage that several servers count (StoragePool) is counted once: its
  // capacity, and its free bytes where they are the pool's (a file system
  // shared by a host's ranks: the lowest report, the latest use), else its
  // capacity less every member's own use (a host's RAM).
  struct Pool {
    uint64_t capacity = 0;
    uint64_t free = UINT64_MAX;  // shared usage: the lowest report
    uint64_t used = 0;           // else: the members' own, summed
    bool shared_usage = false;
  };
  std::unordered_map<uint64_t, Pool> pools;
  for (auto& c : calls) {
    StatfsReply reply;
    if (!decode(c.reply_args, &reply)) return EPROTO;
    stats->entries += reply.entries;
    uint64_t free = std::min(reply.free, reply.capacity);
    if (reply.pool == 0) {
      stats->capacity += reply.capacity;
      stats->free += free;
      continue;
    }
    Pool& p = pools[reply.pool];
    p.capacity = std::max(p.capacity, reply.capacity);
    p.shared_usage = reply.shared_usage != 0;
    p.free = std::min(p.free, free);
    p.used += reply.capacity - free;
  }
  for (const auto& [key, p] : pools) {
    stats->capacity += p.capacity;
    stats->free += p.shared_usage ? p.free : p.capacity - std::min(p.used, p.capacity);
  }
  return 0;
}

}  // namespace benchfs
