#include "client/direct_io.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "client/calls.h"
#include "rpc/protocol.h"

namespace benchfs {

namespace {
int quarter_of_fd_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
  rlim_t cur = l.rlim_cur == RLIM_INFINITY ? 1 << 20 : l.rlim_cur;
  return static_cast<int>(std::min<rlim_t>(cur / 4, 1 << 18));
}
}  // namespace

bool DirectFile::live() const {
  if (memfd) {
    int seals = ::fcntl(fd, F_GET_SEALS);
    return seals >= 0 && !(seals & F_SEAL_SEAL);
  }
  struct stat st;
  return ::fstat(fd, &st) == 0 && st.st_nlink > 0;
}

DirectFile::~DirectFile() {
  if (fd >= 0) ::close(fd);
  if (held) held->fetch_sub(1);
}

DirectIo::DirectIo(Runtime& runtime, bool enabled)
    : runtime_(runtime), enabled_(enabled), max_held_(quarter_of_fd_limit()) {}

// Between ranks of one host whose servers keep backing files on tmpfs or
// ramfs, a client copies chunk bytes into and out of the server's file
// itself: one memory copy, as a write to tmpfs makes, where a request costs
// two (the server copies the payload out of the client, then into the file)
// and has the client wait for the server's thread.  The server still owns
// the file: it creates it (kOpenData), truncates, fsyncs and removes it.
// This process holds a duplicate of the server's descriptor (pidfd_getfd,
// allowed where cross-memory attach is, see SameHost::direct) for as long
// as the file is open here.  A backing file the server has since removed
// (unlink, or a truncate that dropped all its chunks there) has no links
// left, or, a memory file (which never has links), is sealed: it is
// dropped and the current one asked for, so a write ordered after the
// removal lands in the file the server keeps.
std::shared_ptr<DirectFile> DirectIo::file(DirectFiles& files, uint64_t id, int rank,
                                           bool create) {
  if (!enabled_ || rank == runtime_.rank() || !runtime_.same_host(rank)) return nullptr;
  std::lock_guard<std::mutex> lock(files.mutex);
  auto it = files.by_rank.find(rank);
  if (it != files.by_rank.end()) {
    if (!it->second) return nullptr;  // that server offers none
    if (it->second->live()) return it->second;
    files.by_rank.erase(it);
  }
  Call c = call_to(rank, OpenDataArgs{id, static_cast<uint8_t>(create ? 1 : 0)});
  runtime_.execute(&c, 1, 1);
  if (c.status == EOPNOTSUPP) files.by_rank[rank] = nullptr;
  // ENOENT (nothing stored there: a hole) or a failed server: requests
  // read the hole or report the failure.
  if (c.status) return nullptr;
  OpenDataReply opened;
  if (!decode(c.reply_args, &opened)) return nullptr;
  int remote_fd = static_cast<int>(opened.fd);
  uint64_t dev = opened.dev, ino = opened.ino;
  // Over the budget (many files open at once): requests, until some close.
  if (held_->fetch_add(1) >= max_held_) {
    held_->fetch_sub(1);
    return nullptr;
  }
  auto file = std::make_shared<DirectFile>();
  file->held = held_;
  file->fd = runtime_.take_peer_fd(rank, remote_fd);
  if (file->fd < 0) {
    // Not permitted or not supported (kernel before 5.6): requests only.
    if (errno == EPERM || errno == ENOSYS) files.by_rank[rank] = nullptr;
    return nullptr;
  }
  // The server may have removed that file since it replied and given its
  // descriptor number to another: only the file it named will do.
  struct stat st;
  if (::fstat(file->fd, &st) != 0 || static_cast<uint64_t>(st.st_dev) != dev ||
      static_cast<uint64_t>(st.st_ino) != ino)
    return nullptr;
  // No links from the start: a memory file (or a tmpfs file removed since
  // the reply, which live() then finds sealed as every tmpfs file is).
  file->memfd = st.st_nlink == 0;
  if (!file->live()) return nullptr;
  files.by_rank[rank] = file;
  return file;
}

}  // namespace benchfs
