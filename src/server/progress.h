// The progress thread of a rank: it alone drives the UCX worker, the server
// handlers and the chunk store.  Client threads hand it Calls through a
// queue and sleep until their replies are in.
//
// When there is nothing to do it spins for BENCHFS_SPIN_US, then sleeps in
// epoll on the UCX worker's event fd, the chunk store's completion eventfd
// and a wake-up eventfd for new calls: an idle job costs no CPU.
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
  // Hands calls to the progress thread (any thread).  Each call's waiter is
  // signalled once its reply (or error) is in.
  void submit(Call* const* calls, size_t n);
  // Runs fn on the progress thread and waits for it (any thread but that one).
  void run_on_progress_thread(std::function<void()> fn);
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

 private:
  void run();
  bool sleep_until_work();
  void start_call(Call* c);
  void handle_incoming(Incoming& in);
  void finish_reply(Call* c);
  void maybe_complete(Call* c);
  void finish_server_op(ServerOp* op);
  void fail_call(Call* c, int err);
  void fail_calls_to(int rank, int err);
  void check_timeouts();

  std::chrono::nanoseconds spin_;
  std::chrono::nanoseconds timeout_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Server> server_;

  std::thread thread_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};

  std::mutex queue_mutex_;
  std::deque<Call*> queue_;
  std::deque<std::function<void()>> tasks_;

  // Progress-thread state.
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
};

}  // namespace benchfs
