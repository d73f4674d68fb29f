#include "rpc/same_host.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>

#include "common/log.h"
#include "rpc/message.h"

namespace benchfs {

namespace {

// The running kernel's boot id: ranks with the same one share its CPUs.
std::string boot_id() {
  std::ifstream boot("/proc/sys/kernel/random/boot_id");
  std::string line;
  std::getline(boot, line);
  return line;
}

// Identifies the host: the host name and the boot id, so that two
// containers with one name on different machines differ.
uint64_t host_id(const std::string& boot) {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  return std::hash<std::string>{}(std::string(name) + boot);
}

// One process_vm_readv/writev, repeated over partial transfers.
int copy_peer(pid_t pid, bool to_peer, void* local, uint64_t remote, size_t len) {
  size_t done = 0;
  while (done < len) {
    iovec l{static_cast<char*>(local) + done, len - done};
    iovec r{reinterpret_cast<void*>(remote + done), len - done};
    ssize_t n = to_peer ? process_vm_writev(pid, &l, 1, &r, 1, 0)
                        : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EFAULT;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

SameHost::~SameHost() {
  for (const Peer& p : peers_)
    if (p.wake_fd >= 0) ::close(p.wake_fd);
}

void SameHost::exchange(MPI_Comm comm, int rank, int wake_fd) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  // Each rank reads a known word of the next rank on its host to learn
  // whether it may copy from their memory.
  struct HostId {
    uint64_t host;
    uint64_t kernel;
    int64_t pid;
    uint64_t probe_addr;
    int64_t wake_fd;
  };
  static const uint64_t probe_word = kMsgMagic;
  const std::string boot = boot_id();
  HostId me{host_id(boot), std::hash<std::string>{}(boot), static_cast<int64_t>(getpid()),
            reinterpret_cast<uint64_t>(&probe_word), wake_fd};
  std::vector<HostId> ids(size);
  MPI_Allgather(&me, sizeof me, MPI_BYTE, ids.data(), sizeof me, MPI_BYTE, comm);
  peers_.resize(size);
  ranks_on_kernel_ = 0;
  for (int r = 0; r < size; ++r) {
    ranks_on_kernel_ += ids[r].kernel == me.kernel;
    peers_[r].same_host = ids[r].host == me.host;
    peers_[r].pid = static_cast<pid_t>(ids[r].pid);
    peers_[r].wake_fd_number = static_cast<int>(ids[r].wake_fd);
  }
  int can_copy = 1;
  for (int k = 1; k < size; ++k) {
    int r = (rank + k) % size;
    if (!peers_[r].same_host) continue;
    uint64_t word = 0;
    can_copy = pull(r, ids[r].probe_addr, &word, sizeof word) == 0 && word == kMsgMagic;
    if (!can_copy)
      log().info("cannot read rank {}'s memory (cross-memory attach): same-host payloads go "
                 "through UCX",
                 r);
    break;
  }
  int all_can_copy = 0;
  MPI_Allreduce(&can_copy, &all_can_copy, 1, MPI_INT, MPI_MIN, comm);
  direct_ = all_can_copy != 0;
}

bool SameHost::exited(int dest) const {
  const Peer& p = peers_[dest];
  if (!p.same_host || p.pid <= 0) return false;
  if (::kill(p.pid, 0) != 0 && errno == ESRCH) return true;
  // A process that exited but is not yet reaped still answers kill().
  std::ifstream in("/proc/" + std::to_string(p.pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return true;
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() &&
         (line[paren + 2] == 'Z' || line[paren + 2] == 'X');
}

int SameHost::pull(int src, uint64_t addr, void* buf, size_t len) const {
  return copy_peer(peers_[src].pid, false, buf, addr, len);
}

int SameHost::push(int dest, const void* buf, size_t len, uint64_t addr) const {
  return copy_peer(peers_[dest].pid, true, const_cast<void*>(buf), addr, len);
}

int SameHost::take_peer_fd(int src, int fd) const {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, peers_[src].pid, 0));
  if (pidfd < 0) return -1;
  int dup = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0));
  int err = errno;
  ::close(pidfd);
  errno = err;
  return dup;
}

bool SameHost::poke(int dest) {
  Peer& p = peers_[dest];
  if (p.wake_fd == -1) {
    int fd = take_peer_fd(dest, p.wake_fd_number);
    p.wake_fd = fd >= 0 ? fd : -2;
    if (fd < 0)
      log().info("cannot wake rank {}'s progress thread ({}): late requests to it wait for "
                 "its next check",
                 dest, std::strerror(errno));
  }
  if (p.wake_fd < 0) return false;
  uint64_t one = 1;
  (void)!::write(p.wake_fd, &one, sizeof one);
  return true;
}

}  // namespace benchfs
