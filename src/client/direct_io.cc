#include "client/direct_io.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "client/calls.h"
#include "common/striping.h"
#include "rpc/protocol.h"

namespace benchfs {

namespace {
size_t quarter_of_fd_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
  rlim_t cur = l.rlim_cur == RLIM_INFINITY ? 1 << 20 : l.rlim_cur;
  return static_cast<size_t>(cur / 4);
}
}  // namespace

DirectIo::DirectIo(Runtime& runtime, bool enabled, uint64_t chunk_size)
    : runtime_(runtime), enabled_(enabled), chunk_size_(chunk_size),
      max_held_(quarter_of_fd_limit()) {}

DirectIo::~DirectIo() {
  for (auto& [key, fd] : arenas_)
    if (fd >= 0) ::close(fd);
}

int DirectIo::arena_fd(int rank, uint32_t remote_fd, uint64_t dev, uint64_t ino) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = arenas_.find({rank, remote_fd});
  if (it != arenas_.end()) return it->second;
  if (arenas_.size() >= max_held_) return -1;  // requests for the rest
  int fd = runtime_.take_peer_fd(rank, static_cast<int>(remote_fd));
  if (fd < 0) {
    // Not permitted or not supported (kernel before 5.6): requests only.
    if (errno == EPERM || errno == ENOSYS) refused_.insert(rank);
    return -1;
  }
  // The arena lives as long as the server: only the file it named will do.
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_dev) != dev ||
      static_cast<uint64_t>(st.st_ino) != ino) {
    ::close(fd);
    return -1;
  }
  arenas_[{rank, remote_fd}] = fd;
  return fd;
}

// Between ranks of one host whose servers keep their large arenas on tmpfs
// or in memory files, a client copies chunk bytes into and out of the
// arena itself: one memory copy, as a write to tmpfs makes, where a request
// costs two (the server copies the payload out of the client, then into
// the arena) and has the client wait for the server's thread.  The server
// still owns the bytes: it places extents (kOpenData), truncates, fsyncs
// and removes them, and never gives an extent's address to another file
// (PackedLayout::reuse_extents), so a write through an address a removal
// made stale cannot reach another file's bytes.
bool DirectIo::locate(DirectFiles& files, uint64_t id, int rank, uint64_t offset, uint64_t len,
                      bool create, int* fd, uint64_t* address) {
  if (!enabled_ || rank == runtime_.rank() || !runtime_.same_host(rank)) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (refused_.count(rank)) return false;  // that server offers none
  }
  uint64_t local = local_offset(offset, chunk_size_, runtime_.size());
  std::lock_guard<std::mutex> lock(files.mutex);
  std::vector<DirectFiles::Extent>& extents = files.by_rank[rank];
  for (const auto& e : extents) {
    if (e.holds(local)) {
      *fd = e.fd;
      *address = e.address + (local - e.local_start);
      return true;
    }
  }
  if (extents.empty() && local + len <= small_file_bytes(chunk_size_)) return false;
  Call c = call_to(rank, OpenDataArgs{id, static_cast<uint8_t>(create ? 1 : 0), offset});
  runtime_.execute(&c, 1, 1);
  if (c.status == EOPNOTSUPP) {
    std::lock_guard<std::mutex> arenas_lock(mutex_);
    refused_.insert(rank);
  }
  // ENOENT (nothing stored there: a hole), EAGAIN (small there) or a
  // failed server: requests read the hole or report the failure.
  if (c.status) return false;
  OpenDataReply r;
  if (!decode(c.reply_args, &r)) return false;
  DirectFiles::Extent e{r.local_start, -1, r.address, r.length};
  if (!e.holds(local) || (e.fd = arena_fd(rank, r.fd, r.dev, r.ino)) < 0) return false;
  extents.push_back(e);
  *fd = e.fd;
  *address = e.address + (local - e.local_start);
  return true;
}

void DirectIo::discard(DirectFiles& files) {
  std::lock_guard<std::mutex> lock(files.mutex);
  for (auto& [rank, extents] : files.by_rank)
    for (const auto& e : extents)
      // Best effort: an arena that cannot punch keeps the bytes until the
      // job ends, as before.
      (void)fallocate(e.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      static_cast<off_t>(e.address), static_cast<off_t>(e.length));
  files.by_rank.clear();
}

}  // namespace benchfs
