// UCX transport: one UCP worker per rank, owned by the progress thread.
//
// Messages are UCP active messages: AM id kRequestAm carries requests to a
// server, kReplyAm carries replies back.  Worker addresses are exchanged with
// one MPI_Allgather at init; endpoints are created on first use, so a job of
// N ranks never builds N^2 endpoints up front.  Everything except init()
// runs on the progress thread only (the worker is single-threaded).
//
// Peers on the same host are reached through shared memory, which in UCX
// 1.13 has no peer failure detection: their exit is found by peer_gone().
//
// Peer health: a peer whose endpoint failed (UCX error callback) or that the
// progress engine found unresponsive (a call timed out) is "down" for a
// while: its endpoint is force-closed, which is the only way UCX 1.13 gives
// back the buffers of sends it still holds (ucp_request_cancel cancels only
// tag receives), and every send to it fails at once with the error that put
// it down.  When the window ends, or as soon as a message from the peer
// arrives, the next send connects again: a rank that was only stopped comes
// back.
#pragma once

#include <mpi.h>
#include <sys/types.h>
#include <ucp/api/ucp.h>

#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "rpc/message.h"

namespace benchfs {

// A message received by the worker, handed to the progress loop after
// ucp_worker_progress() returns.
struct Incoming {
  bool is_reply = false;
  MsgHeader header;
  std::string args;
  Bytes eager;                // eager payload, copied out of UCX
  void* rndv_desc = nullptr;  // rendezvous payload still at the sender
};

class Transport {
 public:
  using Done = std::function<void(int status)>;  // 0 or an errno

  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  ~Transport();

  // Collective over comm: creates the UCX context and worker and exchanges
  // worker addresses.  Returns 0 or an errno (the same on every rank).
  // `rpc_timeout` (seconds) bounds UCX's keepalive interval, see init().
  int init(MPI_Comm comm, uint64_t eager_threshold, double rpc_timeout);

  int rank() const { return rank_; }
  int size() const { return size_; }
  int event_fd() const { return event_fd_; }
  // An eventfd that wakes this rank's progress thread: written by its own
  // threads, and by same-host peers through poke().
  int wake_fd() const { return wake_fd_; }
  // A duplicate of descriptor `fd` of direct() peer `src`'s process
  // (pidfd_getfd), or -1 with errno set (EPERM: not permitted; ENOSYS:
  // kernel before 5.6; EBADF: no such descriptor there).  Any thread.
  int take_peer_fd(int src, int fd) const;
  // Wakes the progress thread of direct() peer `dest` (writes its wake_fd
  // through a duplicate taken with take_peer_fd on first use).  For a
  // request the peer has not taken: its application may have stopped
  // calling while its progress thread sleeps unarmed (ProgressEngine's
  // watch).  Driver thread only.
  void poke(int dest);

  // True if the worker has nothing pending and the caller may sleep on
  // event_fd() until UCX has work.
  bool arm();
  // Runs ucp_worker_progress() until it has nothing more to do; received
  // messages are appended to inbox().  Returns the number of events.
  unsigned progress();
  std::deque<Incoming>& inbox() { return inbox_; }

  // Sends header (+args) and `len` bytes of payload to rank `dest`.  `data`
  // must stay valid until `done` runs (to a direct() peer: until send()
  // returns, it is copied); `done` runs exactly once, possibly before send()
  // returns.  UCX never touches `data` after `done` ran.  To a
  // peer that is down, `done` runs at once with the error that put it down.
  void send(int dest, bool reply, const MsgHeader& header, std::string_view args,
            const void* data, size_t len, Done done);
  // Receives a rendezvous payload into buf; `done` runs exactly once.
  void receive(void* rndv_desc, void* buf, size_t len, Done done);
  // Frees a rendezvous payload that will not be received.
  void discard(void* rndv_desc);

  // Called when the endpoint to a rank fails (the peer died or vanished);
  // the peer is already down (for `down_window`, error EIO).
  std::function<void(int rank)> on_peer_failure;

  // How long a peer stays down after a failure unless it is heard from.
  void set_down_window(std::chrono::nanoseconds window) { down_window_ = window; }
  // Puts a peer down with error `err` (ETIMEDOUT: it stopped answering).
  // With `close`, also force-closes its endpoint: every UCX request still on
  // it completes with an error (its `done` runs, possibly before this
  // returns).  That costs the peer its side of the connection too (UCX pairs
  // the two endpoints; messages to the closed one are dropped), so it is
  // done only when UCX must give buffers back.
  void mark_down(int dest, int err, bool close);
  // A message from `dest` arrived: it is alive, talk to it again.
  void mark_up(int dest);
  // For a peer on this host (whose endpoint has no UCX error detection, see
  // endpoint()): true if its process has exited, which then counts as an
  // endpoint failure (down with EIO, on_peer_failure).  Peers elsewhere:
  // false, UCX reports their failures itself.
  bool peer_gone(int dest);

  // True if payloads to and from `dest` may be copied between the two
  // processes' memories (same host, cross-memory attach permitted).  Then
  // send() copies any payload it is given, so UCX never holds the caller's
  // buffer for such a peer.
  // Ranks of the job on this host, this one included.
  unsigned ranks_on_host() const {
    unsigned n = 0;
    for (const Peer& p : peers_) n += p.same_host;
    return n;
  }
  bool direct(int dest) const { return direct_ && peers_[dest].same_host; }
  // Copies len bytes from address addr in rank src's memory into buf, or
  // from buf to addr in rank dest's memory.  0 or an errno (ESRCH: it exited;
  // EFAULT: the range is not mapped there; EPERM: not permitted).
  int pull(int src, uint64_t addr, void* buf, size_t len);
  int push(int dest, const void* buf, size_t len, uint64_t addr);
  // 0 if `dest` may be sent to, else the errno it is down with.
  int peer_error(int dest) const;

  // Flushes and closes every endpoint (progress thread, at shutdown).  A
  // flush that does not finish within `bound` (the peer is stopped or dead)
  // is given up and the endpoint force-closed, so shutdown never hangs.
  void close_endpoints(std::chrono::nanoseconds bound);

  // Counters for tests and statistics.
  uint64_t endpoints_created() const { return endpoints_created_; }

 private:
  static constexpr unsigned kRequestAm = 0;
  static constexpr unsigned kReplyAm = 1;

  using Clock = std::chrono::steady_clock;

  ucp_ep_h endpoint(int dest);
  void fail_peer(int dest);
  // Force-closes the endpoints in doomed_ (outside ucp_worker_progress).
  void close_doomed();
  static ucs_status_t on_am(void* arg, const void* header, size_t header_len, void* data,
                            size_t len, const ucp_am_recv_param_t* param, bool is_reply);
  static void on_ep_error(void* arg, ucp_ep_h ep, ucs_status_t status);

  struct EpErrorContext {
    Transport* transport;
    int rank;
  };

  int rank_ = -1;
  int size_ = 0;
  uint64_t eager_threshold_ = 0;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int event_fd_ = -1;
  std::vector<std::string> addresses_;  // every rank's worker address
  std::vector<ucp_ep_h> endpoints_;     // created on first use
  int wake_fd_ = -1;
  struct Peer {
    bool same_host = false;
    pid_t pid = 0;
    int wake_fd_number = -1;  // in the peer's process
    int wake_fd = -1;         // our duplicate of it; -2: could not take one
  };
  std::vector<Peer> peers_;
  bool direct_ = false;
  struct HostId {
    uint64_t host;
    int64_t pid;
    uint64_t probe_addr;
    int64_t wake_fd;
  };
  std::vector<Clock::time_point> down_until_;  // a peer is down until then
  std::vector<int> down_err_;                  // ... with this errno (0: up)
  std::vector<ucp_ep_h> doomed_;               // to force-close after progress
  std::chrono::nanoseconds down_window_{std::chrono::seconds(30)};
  bool in_progress_ = false;
  std::vector<EpErrorContext> ep_error_contexts_;  // one per rank, fixed after init
  std::deque<Incoming> inbox_;
  uint64_t endpoints_created_ = 0;
};

// Maps a UCX status to the errno BenchFS reports for it.
int ucs_to_errno(ucs_status_t status);

}  // namespace benchfs
