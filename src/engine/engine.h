// The runtime of a rank: one UCX worker (Transport), the calls its clients
// sent (CallTracker), the requests its server serves (Intake, handing them
// to a Service), all driven by one thread at a time: the driver seat.
//
// A client thread that runs calls takes the driver seat if it is free and
// drives the worker itself until its replies are in: it sends, polls for the
// replies and, meanwhile, serves its peers' requests, with no thread
// hand-off on the way.  If it finds nothing to do for BENCHFS_SPIN_US, or
// another thread drives, it sleeps and the progress thread carries on.
//
// The progress thread drives whenever no client thread does: it serves
// peers while the application computes.  When it finds nothing to do for
// BENCHFS_SPIN_US it sleeps, in one of two ways:
//   - armed: in epoll on the UCX worker's event fd, the service's
//     completion eventfd and a wake-up eventfd (queued calls, pokes), with
//     no deadline if nothing is in flight: an idle job costs no CPU.
//   - watching: if a client thread took the seat since it last looked, the
//     application serves peers itself whenever it calls, so it sleeps
//     BENCHFS_WATCH_US without arming the worker (armed, every message to
//     this rank makes its sender signal, a system call on each side), then
//     serves what waits and decides again.  A caller whose reply is late
//     pokes the watcher awake (Transport::poke: a same-host caller through
//     the watcher's wake-up eventfd, one on another host through its
//     doorbell worker, which is armed in every sleep).  A request from
//     another host thus waits for a sleeping peer no longer than a
//     same-host one: about BENCHFS_SPIN_US, not a whole watch.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "engine/call.h"
#include "engine/calls.h"
#include "engine/intake.h"
#include "engine/runtime.h"
#include "engine/service.h"
#include "engine/stats.h"
#include "rpc/transport.h"

namespace benchfs {

struct Config;

class Engine final : public Runtime {
 public:
  // Serves requests with `service`, which must outlive the engine.
  Engine(const Config& config, std::unique_ptr<Transport> transport, Service& service);
  ~Engine() override;

  int rank() const override { return transport_->rank(); }
  int size() const override { return transport_->size(); }

  // Starts the progress thread.  0 or an errno.
  int start();
  // Any thread but the progress thread.
  void execute(Call* calls, size_t n, size_t window) override;
  // Runs fn in the driver seat (by whichever thread drives next) and waits
  // for it.  Any thread but the progress thread.
  void run_exclusive(std::function<void()> fn);
  // Flushes and closes every endpoint.  A peer that does not take its
  // messages within BENCHFS_RPC_TIMEOUT (stopped or dead) has its endpoint
  // force-closed instead, so this always returns.
  void close_endpoints();
  // Stops and joins the progress thread.
  void stop();

  // Touch only in the driver seat (run_exclusive).
  Transport& transport() { return *transport_; }
  // A copy of this rank's counters (any thread but the progress thread).
  RankStats stats();

  bool offers_backing_files() const override { return service_.offers_backing_files(); }
  bool same_host(int rank) const override { return transport_->same_host().direct(rank); }
  int take_peer_fd(int rank, int fd) const override {
    return transport_->same_host().take_peer_fd(rank, fd);
  }
  void count_direct(uint64_t bytes) override {
    direct_copies_.fetch_add(1, std::memory_order_relaxed);
    direct_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }

 private:
  void run();
  // One round over the queue, the worker, the inbox and the service's
  // completions; true if anything happened.  In the driver seat.
  bool poll_once();
  // Drives as a client thread until `waiter` counts all n calls, starting
  // calls[*started..] as the window allows, or until idle for spin_.
  void drive(CallWaiter& waiter, Call* calls, size_t n, size_t window, size_t* started);
  // Calls or tasks wait in the queue.
  bool queued();
  // Leaves the driver seat (client thread, lock held): if there is work the
  // sleeping progress thread would not notice, it is woken.
  void hand_back();
  // Queues calls for whoever drives next and wakes the progress thread.
  void enqueue(Call* const* calls, size_t n);
  void wake();
  // Sleeps (out of the driver seat) until a call, a UCX event or a service
  // completion arrives, or a watch ends.
  enum class Sleep { kNot, kWoken, kWatched };
  Sleep sleep_until_work(std::unique_lock<std::mutex>& driver);
  // check_timeouts() if 100 ms passed since the last check.
  void check_timeouts_if_due(std::chrono::steady_clock::time_point now);

  std::chrono::nanoseconds spin_;
  std::chrono::nanoseconds timeout_;
  std::chrono::nanoseconds watch_;
  bool oversubscribed_;  // more ranks on this machine's kernel than cores
  std::unique_ptr<Transport> transport_;
  Service& service_;
  RankStats stats_;  // in the driver seat only
  Intake intake_;
  CallTracker calls_;

  std::thread thread_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // transport_->wake_fd()
  int watch_epoll_fd_ = -1;  // wake_fd_ and the service: no worker events
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

  // Held by the thread in the driver seat; the worker, the trackers and
  // stats_ are touched only under it.
  std::mutex driver_;
  std::atomic<bool> client_driving_{false};  // a client thread holds driver_
  std::atomic<int> clients_waiting_{0};      // client threads blocked on driver_

  std::mutex queue_mutex_;
  std::deque<Call*> queue_;
  std::deque<std::function<void()>> tasks_;
  std::atomic<bool> queue_nonempty_{false};  // queue_ or tasks_ holds something

  std::chrono::steady_clock::time_point next_timeout_check_;
  std::atomic<uint64_t> direct_copies_{0}, direct_bytes_{0};
};

}  // namespace benchfs
