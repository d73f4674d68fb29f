// The progress engine of a rank: the UCX worker, the server handlers and the
// chunk store, driven by one thread at a time (the driver lock).
//
// A client thread that runs calls takes the driver lock if it is free and
// drives the worker itself until its replies are in: it sends, polls for the
// replies and, meanwhile, serves its peers' requests, with no thread
// hand-off on the way.  If it finds nothing to do for BENCHFS_SPIN_US, or
// another thread drives, it sleeps and the progress thread carries on.
//
// The progress thread drives whenever no client thread does: it serves
// peers while the application computes.  Idle, it sleeps in epoll on the
// UCX worker's event fd, the chunk store's completion eventfd and a wake-up
// eventfd for queued calls: an idle job costs no CPU.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "rpc/call.h"
#include "rpc/transport.h"
#include "server/server.h"
#include "server/stats.h"

namespace benchfs {

struct Config;

class ProgressEngine {
 public:
  ProgressEngine(const Config& config, std::unique_ptr<Transport> transport,
                 std::unique_ptr<ChunkStore> store);
  ~ProgressEngine();

  int rank() const { return transport_->rank(); }
  int size() const { return transport_->size(); }

  // Starts the thread.  0 or an errno.
  int start();
  // Runs the calls, at most `window` in flight, and returns when every one
  // has its reply (or error).  Any thread but the progress thread.
  void execute(Call* calls, size_t n, size_t window);
  // Runs fn with the worker to itself (by whichever thread drives next) and
  // waits for it.  Any thread but the progress thread.
  void run_exclusive(std::function<void()> fn);
  // Flushes and closes every endpoint.  A peer that does not take its
  // messages within BENCHFS_RPC_TIMEOUT (stopped or dead) has its endpoint
  // force-closed instead, so this always returns.
  void close_endpoints();
  // Stops and joins the thread.
  void stop();

  Server& server() { return *server_; }
  Transport& transport() { return *transport_; }
  // A copy of this rank's counters (any thread but the progress thread).
  RankStats stats();
  // Counts a copy a client thread made straight into or out of a same-host
  // server's backing file (Client::direct_file); any thread.
  void count_direct(uint64_t bytes) {
    direct_copies_.fetch_add(1, std::memory_order_relaxed);
    direct_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }

 private:
  void run();
  // One round over the queue, the worker, the inbox, the store and the
  // deadlines; true if anything happened.  Needs the driver lock.
  bool poll_once();
  // Drives as a client thread until `waiter` counts all n calls, starting
  // calls[*started..] as the window allows, or until idle for spin_.
  void drive(CallWaiter& waiter, Call* calls, size_t n, size_t window, size_t* started);
  // Wakes the progress threads of same-host peers that owe replies.
  void poke_late_peers();
  // Calls or tasks wait in the queue.
  bool queued();
  // Leaves the driver seat (client thread, lock held): if there is work the
  // sleeping progress thread would not notice, it is woken.
  void hand_back();

  // Queues calls for whoever drives next and wakes the progress thread.
  void enqueue(Call* const* calls, size_t n);
  void wake();
  // Sleeps (without the driver lock) until a call, a UCX event or a store
  // completion arrives, or a watch ends.
  enum class Sleep { kNot, kWoken, kWatched };
  Sleep sleep_until_work(std::unique_lock<std::mutex>& driver);
  void start_call(Call* c);
  void handle_incoming(Incoming& in);
  void serve_peer_memory(ServerOp* op);
  ServerOp* new_op();
  void recycle(ServerOp* op);
  void finish_reply(Call* c);
  void maybe_complete(Call* c);
  void finish_server_op(ServerOp* op);
  void fail_call(Call* c, int err);
  void fail_calls_to(int rank, int err);
  void check_timeouts();
  // check_timeouts() if 100 ms passed since the last check.
  void check_timeouts_if_due(std::chrono::steady_clock::time_point now);

  std::chrono::nanoseconds spin_;
  std::chrono::nanoseconds timeout_;
  std::chrono::nanoseconds watch_;
  uint64_t eager_threshold_;
  bool oversubscribed_;  // more ranks on this host than cores
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Server> server_;

  std::thread thread_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // transport_->wake_fd()
  int watch_epoll_fd_ = -1;  // wake_fd_ and the store: no worker events
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> wake_pending_{false};  // wake() wrote wake_fd_ since the thread last slept
  // The progress thread sleeps without a deadline (nothing was in flight).
  std::atomic<bool> sleeping_forever_{false};
  // The progress thread sleeps without the worker armed, for watch_ at most:
  // a client thread drove lately and serves peers itself.
  std::atomic<bool> watching_{false};
  std::atomic<uint64_t> client_drives_{0};  // client turns in the driver seat
  // client_drives_ when the progress thread began its last watch or woke
  // from its last armed sleep.
  uint64_t drives_seen_ = 0;
  std::atomic<bool> stop_{false};

  // Held by the thread driving the worker; everything below the queue is
  // touched only under it.
  std::mutex driver_;
  std::atomic<bool> client_driving_{false};  // a client thread holds driver_
  std::atomic<int> clients_waiting_{0};      // client threads blocked on driver_

  std::mutex queue_mutex_;
  std::deque<Call*> queue_;
  std::deque<std::function<void()>> tasks_;
  std::atomic<bool> queue_nonempty_{false};  // queue_ or tasks_ holds something

  // Driver state.
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Call*> in_flight_;
  // Replies this server is sending, with the time each must be taken by.
  // One that is not means the peer stopped, died, or holds a stale half of
  // the connection (after we force-closed ours): either way it is put down
  // like a peer that does not answer, which also frees the reply.
  struct ReplyInFlight {
    int dest;
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<ServerOp*, ReplyInFlight> replies_;
  std::chrono::steady_clock::time_point next_timeout_check_;
  RankStats stats_;
  std::atomic<uint64_t> direct_copies_{0}, direct_bytes_{0};
  std::vector<ServerOp*> spare_ops_;  // finished requests kept with their buffers
};

}  // namespace benchfs
