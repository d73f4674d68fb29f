// The ranks of the job that share this host (one kernel), and what that
// allows beyond UCX: copying payloads straight between the processes'
// memories (cross-memory attach), taking a peer's descriptors (pidfd_getfd)
// for same-host direct I/O (client/direct_io.h), waking a peer's progress
// thread through its eventfd, and noticing that a peer's process exited
// (UCX 1.13's shared-memory transports detect no peer failure).
#pragma once

#include <mpi.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace benchfs {

class SameHost {
 public:
  SameHost() = default;
  SameHost(const SameHost&) = delete;
  SameHost& operator=(const SameHost&) = delete;
  ~SameHost();

  // Collective over comm: learns which ranks share this host, their pids
  // and wake eventfd numbers, and whether this rank may read their memory
  // (direct copies are on only if every rank could).  `wake_fd` is this
  // rank's own wake-up eventfd.
  void exchange(MPI_Comm comm, int rank, int wake_fd);

  // Ranks of the job whose threads share this kernel's CPUs, this one
  // included: more than the ranks on this host where hosts are namespaces
  // or containers of one machine (scripts/hosts), which UCX and BenchFS
  // treat as separate hosts.
  unsigned ranks_on_kernel() const { return ranks_on_kernel_; }
  // True if `dest` runs on this host.
  bool on_host(int dest) const { return peers_[dest].same_host; }
  // True if payloads to and from `dest` may be copied between the two
  // processes' memories (same host, cross-memory attach permitted).
  bool direct(int dest) const { return direct_ && peers_[dest].same_host; }
  // True if the process of on_host() peer `dest` has exited (or is a
  // zombie).  False for peers elsewhere.
  bool exited(int dest) const;

  // Copies len bytes from address addr in rank src's memory into buf, or
  // from buf to addr in rank dest's memory.  0 or an errno (ESRCH: it exited;
  // EFAULT: the range is not mapped there; EPERM: not permitted).  Any thread.
  int pull(int src, uint64_t addr, void* buf, size_t len) const;
  int push(int dest, const void* buf, size_t len, uint64_t addr) const;
  // A duplicate of descriptor `fd` of on_host() peer `src`'s process
  // (pidfd_getfd), or -1 with errno set (EPERM: not permitted; ENOSYS:
  // kernel before 5.6; EBADF: no such descriptor there).  Any thread.
  int take_peer_fd(int src, int fd) const;
  // Wakes the progress thread of direct() peer `dest` (writes its wake
  // eventfd through a duplicate taken on first use).  For a request the
  // peer has not taken: its application may have stopped calling while its
  // progress thread sleeps unarmed (see engine/engine.h, the watch).
  // False if it cannot (no duplicate of its eventfd).  Driver thread only.
  bool poke(int dest);

 private:
  struct Peer {
    bool same_host = false;
    pid_t pid = 0;
    int wake_fd_number = -1;  // in the peer's process
    int wake_fd = -1;         // our duplicate of it; -2: could not take one
  };
  std::vector<Peer> peers_;
  unsigned ranks_on_kernel_ = 1;
  bool direct_ = false;
};

}  // namespace benchfs
