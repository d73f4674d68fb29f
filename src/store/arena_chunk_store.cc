#include "store/arena_chunk_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/file_io.h"
#include "common/log.h"
#include "common/striping.h"

namespace benchfs {

ArenaChunkStore::~ArenaChunkStore() { close_arenas(); }

PackedLayout ArenaChunkStore::layout_for(uint64_t chunk_size, int nservers, int rank, bool direct,
                                         uint64_t max_arena_bytes) {
  // 64 MiB extents: a same-host client asks for an extent's address once
  // per 64 MiB it writes, and an arena on a file system that caps a file's
  // size (ext4: 16 TiB) still holds 2^18 of them.
  constexpr uint64_t kExtentTarget = 64 << 20;
  PackedLayout l;
  l.chunk_size = chunk_size;
  l.nservers = nservers;
  l.rank = rank;
  l.small_bytes = small_file_bytes(chunk_size);
  l.extent_bytes = chunk_size * std::max<uint64_t>(1, kExtentTarget / chunk_size);
  l.reuse_extents = !direct;
  // The large arena's files together.
  l.max_arena_bytes = max_arena_bytes;
  l.max_large_bytes = max_arena_bytes / l.extent_bytes * l.extent_bytes * kLargeFiles;
  return l;
}

void ArenaChunkStore::set_arenas(int small_fd, const std::vector<int>& large_fds,
                                 const PackedLayout& layout, bool direct, uint64_t limit) {
  small_fd_ = small_fd;
  large_fds_ = large_fds;
  files_.emplace(layout);
  direct_ = direct;
  limit_ = limit;
}

std::vector<int> ArenaChunkStore::arena_fds() const {
  std::vector<int> fds{small_fd_};
  fds.insert(fds.end(), large_fds_.begin(), large_fds_.end());
  return fds;
}

int ArenaChunkStore::file_of(Arena arena, uint64_t address, uint64_t* offset) const {
  if (arena == Arena::kSmall) {
    *offset = address;
    return small_fd_;
  }
  uint64_t extent = files_->layout().extent_bytes, number = address / extent;
  *offset = number / kLargeFiles * extent + address % extent;
  return large_fds_[number % kLargeFiles];
}

void ArenaChunkStore::close_arenas() {
  for (int fd : arena_fds())
    if (fd >= 0) ::close(fd);
  small_fd_ = -1;
  large_fds_.clear();
  if (files_) files_.emplace(files_->layout());  // forget every file
  busy_.clear();
}

void ArenaChunkStore::start_io(IoKind kind, int fd, char* buf, size_t len, uint64_t address,
                               Done done) {
  switch (kind) {
    case IoKind::kWrite: return done(pwrite_full(fd, buf, len, address));
    case IoKind::kRead: return done(pread_full(fd, buf, len, address));
    case IoKind::kFsync: return done(::fdatasync(fd) == 0 ? 0 : -errno);
  }
}

void ArenaChunkStore::when_idle(uint64_t id, std::function<void()> op) {
  auto it = busy_.find(id);
  if (it == busy_.end()) return op();
  it->second.after.push_back(std::move(op));
}

void ArenaChunkStore::io(uint64_t id, IoKind kind, Arena arena, char* buf, size_t len,
                         uint64_t address, Done done) {
  uint64_t offset = 0;
  int fd = file_of(arena, address, &offset);
  // I/O that completes before start_io returns is never in flight.
  if (completes_in_place(kind)) return start_io(kind, fd, buf, len, offset, std::move(done));
  ++busy_[id].in_flight;
  start_io(kind, fd, buf, len, offset, [this, id, done = std::move(done)](int64_t r) {
    auto it = busy_.find(id);
    if (it != busy_.end() && --it->second.in_flight == 0) {
      auto after = std::move(it->second.after);
      busy_.erase(it);
      done(r);
      for (auto& op : after) op();  // each may start I/O of its own again
      return;
    }
    done(r);
  });
}

int ArenaChunkStore::punch(const std::vector<ArenaSpan>& spans) {
  int first_err = 0;
  for (const ArenaSpan& s : spans) {
    if (s.length == 0) continue;
    uint64_t address = 0;
    int fd = file_of(s.arena, s.address, &address);
    if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(address),
                    static_cast<off_t>(s.length)) == 0)
      continue;
    int err = errno;
    struct stat st;
    if (err == EOPNOTSUPP && ::fstat(fd, &st) != 0) err = errno;
    if (err == EOPNOTSUPP) {
      // A file system without holes: write zeros where the arena has bytes,
      // so that a reused address reads as a hole should.
      uint64_t end = std::min<uint64_t>(address + s.length, static_cast<uint64_t>(st.st_size));
      static const std::vector<char> zeros(1 << 20, 0);
      err = 0;
      for (uint64_t at = address; at < end && !err;) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), end - at));
        int64_t w = pwrite_full(fd, zeros.data(), n, at);
        if (w < 0) err = static_cast<int>(-w);
        at += n;
      }
    }
    if (err && !first_err) first_err = err;
  }
  return first_err;
}

int ArenaChunkStore::move_to_large(uint64_t id) {
  // Once per file that outgrows the small arena, at most small_bytes:
  // synchronous, as the slot must be empty before it is given out again.
  ArenaSpan from, to;
  if (int err = files_->begin_move(id, &from, &to)) return err;
  std::vector<char> bytes(to.length);
  uint64_t at = 0;
  int large = file_of(to.arena, to.address, &at);
  int64_t r = pread_full(small_fd_, bytes.data(), bytes.size(), from.address);
  if (r >= 0) r = pwrite_full(large, bytes.data(), bytes.size(), at);
  int err = r < 0 ? static_cast<int>(-r) : static_cast<uint64_t>(r) < to.length ? ENOSPC : 0;
  if (err == ENOMEM) err = ENOSPC;
  if (err) {
    // The file stays small, as it was; what the copy put down goes.
    files_->end_move(id, false);
    punch({{Arena::kLarge, to.address, to.length}});
    return err;
  }
  files_->end_move(id, true);
  punch({from});
  return 0;
}

// An operation that moves or frees a file's bytes here waits until no I/O
// uses their old addresses (deferred: it runs again from when_idle), and
// any operation waits behind one that waits, so their order is kept.
void ArenaChunkStore::write(uint64_t id, uint64_t offset, const void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  bool moves = files_->needs_move(id, offset, len);
  if ((moves && busy_.count(id)) || waiting(id))
    return when_idle(id, [=, this, done = std::move(done)]() mutable {
      write(id, offset, buf, len, std::move(done));
    });
  // Room first, so a refused write changes nothing.
  if (limit_ && files_->used() + files_->growth(id, offset, len) > limit_) return done(-ENOSPC);
  if (moves)
    if (int err = move_to_large(id)) return done(-err);
  ArenaSpan at;
  if (int err = files_->place_write(id, offset, len, &at)) return done(-err);
  char* data = const_cast<char*>(static_cast<const char*>(buf));
  io(id, IoKind::kWrite, at.arena, data, len, at.address,
     [this, id, offset, done = std::move(done)](int64_t r) {
       if (r == -ENOMEM) r = -ENOSPC;  // a memory file past the machine's memory
       if (r > 0) files_->record_write(id, offset, static_cast<uint64_t>(r));
       done(r);
     });
}

void ArenaChunkStore::read(uint64_t id, uint64_t offset, void* buf, size_t len, Done done) {
  if (len == 0) return done(0);
  if (waiting(id))
    return when_idle(id, [=, this, done = std::move(done)]() mutable {
      read(id, offset, buf, len, std::move(done));
    });
  ArenaSpan at;
  files_->place_read(id, offset, len, &at);
  char* out = static_cast<char*>(buf);
  // What no arena holds for this file is a hole.
  std::memset(out + at.length, 0, len - at.length);
  if (at.length == 0) return done(static_cast<int64_t>(len));
  io(id, IoKind::kRead, at.arena, out, at.length, at.address,
     [len, done = std::move(done)](int64_t r) { done(r < 0 ? r : static_cast<int64_t>(len)); });
}

void ArenaChunkStore::truncate(uint64_t id, uint64_t size, Done done) {
  if (busy_.count(id))
    return when_idle(id, [=, this, done = std::move(done)]() mutable {
      truncate(id, size, std::move(done));
    });
  std::vector<ArenaSpan> spans;
  files_->truncate(id, size, &spans);
  int err = punch(spans);
  done(err ? -err : 0);
}

void ArenaChunkStore::remove(uint64_t id, Done done) {
  if (busy_.count(id))
    return when_idle(id, [=, this, done = std::move(done)]() mutable {
      remove(id, std::move(done));
    });
  std::vector<ArenaSpan> spans;
  files_->remove(id, &spans);
  int err = punch(spans);
  done(err ? -err : 0);
}

void ArenaChunkStore::fsync(uint64_t id, Done done) {
  if (waiting(id))
    return when_idle(id, [this, id, done = std::move(done)]() mutable { fsync(id, std::move(done)); });
  Arena arena;
  if (!files_->holds(id, &arena)) return done(0);
  if (arena == Arena::kSmall) return io(id, IoKind::kFsync, arena, nullptr, 0, 0, std::move(done));
  // A large file's extents may be in any of the large arena's files: sync
  // them all (extent n is at address n * extent_bytes, in file n % kLargeFiles).
  struct Sync {
    unsigned left = kLargeFiles;
    int64_t result = 0;
    Done done;
  };
  auto sync = std::make_shared<Sync>();
  sync->done = std::move(done);
  uint64_t extent = files_->layout().extent_bytes;
  for (unsigned i = 0; i < kLargeFiles; ++i)
    io(id, IoKind::kFsync, Arena::kLarge, nullptr, 0, i * extent, [sync](int64_t r) {
      if (r < 0 && sync->result == 0) sync->result = r;
      if (--sync->left == 0) sync->done(sync->result);
    });
}

int ArenaChunkStore::direct_extent(uint64_t id, uint64_t offset, bool create, DirectExtent* out) {
  if (!direct_) return EOPNOTSUPP;
  if (create && files_->in_small_slot(id)) {
    // Moving a small file would race its I/O in flight: requests meanwhile.
    if (busy_.count(id)) return EAGAIN;
    if (int err = move_to_large(id)) return err;
  }
  Extent e;
  if (int err = files_->direct_extent(id, offset, create, &e)) return err;
  uint64_t at = 0;
  int fd = file_of(Arena::kLarge, e.address, &at);
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno;
  out->fd = fd;
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  out->local_start = e.local_start;
  out->address = at;
  out->length = e.length;
  return 0;
}

}  // namespace benchfs
