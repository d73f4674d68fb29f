// UCX transport: one UCP worker per rank, owned by the progress thread.
//
// Messages are UCP active messages: AM id kRequestAm carries requests to a
// server, kReplyAm carries replies back.  Worker addresses are exchanged with
// one MPI_Allgather at init; endpoints are created on first use, so a job of
// N ranks never builds N^2 endpoints up front.  The worker is
// single-threaded: everything except init() runs on the thread that holds
// the engine's driver seat (engine/engine.h), the progress thread or a
// client thread driving its own calls.
//
// Peers on the same host are reached through shared memory, which in UCX
// 1.13 has no peer failure detection: their exit is found by peer_gone().
// What else a same-host peer allows is in same_host().
//
// Peer health: a peer whose endpoint failed (UCX error callback) or that the
// engine found unresponsive (a call timed out) is "down" for a
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
#include "rpc/same_host.h"

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
  // The ranks that share this host, and what that allows beyond UCX.
  SameHost& same_host() { return same_host_; }
  const SameHost& same_host() const { return same_host_; }

  // True if the worker has nothing pending and the caller may sleep on
  // event_fd() until UCX has work.
  bool arm();

  // Wakes rank `dest`'s progress thread for a request it has not taken:
  // its application may have stopped calling while that thread sleeps
  // without arming the worker (engine/engine.h, the watch).  A same-host
  // peer through SameHost::poke; any other through its doorbell: a second,
  // always armed UCX worker whose only message is an empty active message.
  // A ring costs one small message, only when a reply is late; arming the
  // main worker instead would make every message signal.  False if `dest`
  // cannot be woken (no doorbell, or it is down).
  bool poke(int dest);
  // The doorbell worker's event fd (-1 if this job needs none: every peer
  // is a same-host one that SameHost::poke reaches).  Sleep on it after
  // arm_doorbell(); drain_doorbell() when it fired.
  int doorbell_fd() const { return doorbell_fd_; }
  void arm_doorbell();
  void drain_doorbell();
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
  static constexpr unsigned kDoorbellAm = 0;  // on the doorbell worker

  using Clock = std::chrono::steady_clock;

  ucp_ep_h endpoint(int dest);
  // Makes the doorbell worker where it is needed; collective over comm.
  void open_doorbell(MPI_Comm comm);
  void close_doorbell();
  void close_doomed_doorbells();
  static void on_doorbell_error(void* arg, ucp_ep_h ep, ucs_status_t status);
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
  SameHost same_host_;
  std::vector<Clock::time_point> down_until_;  // a peer is down until then
  std::vector<int> down_err_;                  // ... with this errno (0: up)
  std::vector<ucp_ep_h> doomed_;               // to force-close after progress
  std::chrono::nanoseconds down_window_{std::chrono::seconds(30)};
  bool in_progress_ = false;
  std::vector<EpErrorContext> ep_error_contexts_;  // one per rank, fixed after init (both workers)
  std::deque<Incoming> inbox_;
  uint64_t endpoints_created_ = 0;
  ucp_worker_h doorbell_ = nullptr;
  int doorbell_fd_ = -1;
  std::vector<std::string> doorbell_addresses_;  // every rank's doorbell worker address
  std::vector<ucp_ep_h> doorbell_eps_;            // created on the first ring
  std::vector<ucp_ep_h> doorbell_doomed_;         // failed: force-closed by the next drain
  std::vector<ucs_status_ptr_t> rings_;           // sends not yet complete
};

// Maps a UCX status to the errno BenchFS reports for it.
int ucs_to_errno(ucs_status_t status);

}  // namespace benchfs
