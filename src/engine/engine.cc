#include "engine/engine.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/config.h"

namespace benchfs {

using Clock = std::chrono::steady_clock;

Engine::Engine(const Config& config, std::unique_ptr<Transport> transport, Service& service)
    : spin_(std::chrono::microseconds(config.spin_us)),
      timeout_(std::chrono::nanoseconds(static_cast<int64_t>(config.rpc_timeout * 1e9))),
      watch_(std::chrono::microseconds(config.watch_us)),
      oversubscribed_(transport->same_host().ranks_on_kernel() >
                      std::max(1u, std::thread::hardware_concurrency())),
      transport_(std::move(transport)),
      service_(service),
      intake_(*transport_, service_, timeout_),
      calls_(*transport_, intake_, stats_, timeout_, config.eager_threshold) {
  service_.set_finish([this](ServerOp* op) { intake_.finish(op); });
  intake_.on_local_done = [this](Call* c) { calls_.local_reply_done(c); };
  // A peer that failed or timed out is left alone for one timeout (sends to
  // it fail at once), then tried again.
  transport_->set_down_window(timeout_);
  transport_->on_peer_failure = [this](int rank) { calls_.fail_to(rank, EIO); };
}

Engine::~Engine() {
  stop();
  // Closing the transport may still run send callbacks, which use the
  // intake's replies: it goes first, while every member is alive.
  transport_.reset();
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (watch_epoll_fd_ >= 0) ::close(watch_epoll_fd_);
}

int Engine::start() {
  wake_fd_ = transport_->wake_fd();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  watch_epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0 || watch_epoll_fd_ < 0) return errno;
  // The doorbell (Transport::poke) is armed in every sleep, the watch too.
  for (int fd : {wake_fd_, transport_->event_fd(), service_.event_fd(), transport_->doorbell_fd()}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = fd == service_.event_fd() ? EPOLLIN | EPOLLET : EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
    if (fd != transport_->event_fd() && epoll_ctl(watch_epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return errno;
  }
  thread_ = std::thread([this] { run(); });
  return 0;
}

void Engine::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake();
  thread_.join();
}

void Engine::wake() {
  wake_pending_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Engine::enqueue(Call* const* calls, size_t n) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.insert(queue_.end(), calls, calls + n);
    queue_nonempty_.store(true);
  }
  // Pairs with the sleeping_ store in sleep_until_work(): either the thread
  // sees the queued call before it sleeps, or we see it asleep and wake it.
  if (sleeping_.load()) wake();
}

void Engine::execute(Call* calls, size_t n, size_t window) {
  if (n == 0) return;
  // Driving makes system calls (UCX, epoll, eventfd) that may set errno;
  // the application's errno is the API's to set.
  struct KeepErrno {
    int saved = errno;
    ~KeepErrno() { errno = saved; }
  } keep_errno;
  window = std::max<size_t>(1, window);
  CallWaiter waiter;
  for (size_t i = 0; i < n; ++i) calls[i].waiter = &waiter;
  size_t started = 0;  // calls handed to a driver
  unsigned seen = 0;   // calls completed
  for (;;) {
    std::unique_lock<std::mutex> driver(driver_, std::try_to_lock);
    if (!driver.owns_lock() && !client_driving_.load()) {
      // The progress thread is between two rounds: it steps aside.
      clients_waiting_.fetch_add(1);
      driver.lock();
      clients_waiting_.fetch_sub(1);
    }
    if (driver.owns_lock()) {
      client_driving_.store(true);
      drive(waiter, calls, n, window, &started);
      // Only a driver completes calls: a count read here is final.
      seen = waiter.count();
      ++(seen == n ? stats_.batches_driven : stats_.batches_slept);
      hand_back();
      client_driving_.store(false);
      driver.unlock();
      if (seen == n) return;
    } else {
      // Another client thread drives; it runs what fits in the window.
      std::vector<Call*> batch;
      for (size_t limit = std::min<size_t>(n, seen + window); started < limit; ++started)
        batch.push_back(&calls[started]);
      if (!batch.empty()) enqueue(batch.data(), batch.size());
    }
    seen = waiter.wait_beyond(seen);
    if (seen == n) return;
  }
}

void Engine::drive(CallWaiter& waiter, Call* calls, size_t n, size_t window,
                           size_t* started) {
  // The clock is read in idle rounds only (and in every 64th busy one, for
  // the timeouts): in this VM a read costs about 45 ns, and with one per
  // round it was 14% of an md run's profile.
  Clock::time_point idle_since{};
  bool idle = false;
  for (unsigned round = 1;; ++round) {
    unsigned done = waiter.count();
    if (done >= n) return;
    bool work = false;
    for (size_t limit = std::min<size_t>(n, done + window); *started < limit; work = true)
      calls_.start(&calls[(*started)++]);
    if (poll_once()) work = true;
    if (work) {
      idle = false;
      if (round % 64 == 0) check_timeouts_if_due(Clock::now());
      continue;
    }
    auto now = Clock::now();
    check_timeouts_if_due(now);
    if (!idle) {
      idle = true;
      idle_since = now;
    } else if (now - idle_since >= spin_) {
      // The peer is slow, or asleep: its application may have stopped
      // calling while its progress thread watches (sleeps unarmed), so a
      // peer on this host is woken.  Then sleep; the progress thread
      // carries on.
      calls_.poke_late_peers();
      return;
    } else {
      // With more ranks than cores on this host the peer this thread waits
      // for may need this core: offer it.  (With a core per rank yielding
      // only hands the core to threads that wake for nothing: measured at
      // 2 ranks on 2 cores it cut the stat rate 2-7x.)
      if (oversubscribed_) std::this_thread::yield();
    }
  }
}

bool Engine::queued() {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return !queue_.empty() || !tasks_.empty();
}

void Engine::hand_back() {
  // The progress thread, if asleep, sleeps on what it saw before this thread
  // drove: wake it for calls queued or in flight (their deadlines), for
  // replies in flight if it sleeps without a deadline, and for worker events
  // it would not be told of (arm() fails while events are pending).
  client_drives_.fetch_add(1, std::memory_order_relaxed);
  // Awake, or woken and about to be: it will look by itself.  (On a core
  // shared with this thread a woken progress thread may not run for a
  // while; arming again on every call meanwhile cost a system call each.)
  if (!sleeping_.load() || wake_pending_.load()) return;
  if (watching_.load()) {
    if (queued() || !calls_.none_in_flight()) wake();
    return;
  }
  bool quiet = !queued() && calls_.none_in_flight() && (intake_.no_replies_in_flight() || !sleeping_forever_.load()) &&
               transport_->arm();
  if (!quiet) wake();
}

void Engine::run_exclusive(std::function<void()> fn) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_nonempty_.store(true);
    tasks_.push_back([&] {
      fn();
      std::lock_guard<std::mutex> l(m);
      done = true;
      cv.notify_one();
    });
  }
  wake();
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
}

void Engine::close_endpoints() {
  run_exclusive([this] { transport_->close_endpoints(timeout_); });
}

bool Engine::poll_once() {
  bool work = false;
  // Checked without the lock first: this runs in every round of a spin,
  // and taking the queue (whose containers allocate even empty) only when
  // another thread queued something keeps those rounds free of locks and
  // of malloc.
  if (queue_nonempty_.load()) {
    std::deque<Call*> calls;
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      calls.swap(queue_);
      tasks.swap(tasks_);
      queue_nonempty_.store(false);
    }
    for (Call* c : calls) calls_.start(c);
    for (auto& t : tasks) t();
    work = !calls.empty() || !tasks.empty();
  }

  if (transport_->progress() > 0) work = true;
  auto& inbox = transport_->inbox();
  while (!inbox.empty()) {
    Incoming in = std::move(inbox.front());
    inbox.pop_front();
    // Whoever sends us anything is alive: end its down window early.
    transport_->mark_up(in.header.src_rank);
    if (in.is_reply) {
      calls_.on_reply(in);
    } else {
      intake_.on_request(in);
    }
    work = true;
  }
  if (service_.poll() > 0) work = true;
  return work;
}

void Engine::check_timeouts_if_due(Clock::time_point now) {
  if (now < next_timeout_check_) return;
  calls_.check_timeouts();
  next_timeout_check_ = now + std::chrono::milliseconds(100);
}

void Engine::run() {
  std::unique_lock<std::mutex> driver(driver_);
  service_.set_owner_thread();  // this thread outlives every request
  auto last_work = Clock::now();
  next_timeout_check_ = last_work + std::chrono::milliseconds(100);
  while (!stop_.load()) {
    if (clients_waiting_.load()) {
      // A client thread wants to drive: let it, and take over when it leaves.
      driver.unlock();
      while (clients_waiting_.load() && !stop_.load()) std::this_thread::yield();
      driver.lock();
      // The application drives and serves peers itself: sleep after the
      // first idle round rather than contend for the seat.
      last_work = Clock::now() - spin_;
      continue;
    }
    bool work = poll_once();
    auto now = Clock::now();
    check_timeouts_if_due(now);
    if (work) {
      last_work = now;
    } else if (now - last_work >= spin_) {
      switch (sleep_until_work(driver)) {
        case Sleep::kWoken:
          last_work = Clock::now();
          break;
        case Sleep::kWatched:  // no spin: if the round finds nothing, sleep again
        case Sleep::kNot:
          break;
      }
    }
  }
}

Engine::Sleep Engine::sleep_until_work(std::unique_lock<std::mutex>& driver) {
  // A client thread took the driver seat since this thread last woke (or
  // began its last watch): the application serves peers itself whenever
  // it calls, so sleep a watch without arming the worker.  Armed, every
  // message to this rank makes its sender signal (a system call on each
  // side) and often wakes this thread for nothing.
  uint64_t drives = client_drives_.load(std::memory_order_relaxed);
  bool watch = watch_.count() > 0 && drives != drives_seen_ && calls_.none_in_flight();
  drives_seen_ = drives;
  wake_pending_.store(false);
  sleeping_.store(true);
  watching_.store(watch);
  transport_->arm_doorbell();
  if (queued() || stop_.load() || clients_waiting_.load() || (!watch && !transport_->arm())) {
    sleeping_.store(false);
    watching_.store(false);
    return Sleep::kNot;
  }
  epoll_event events[4];
  int n;
  if (watch) {
    driver.unlock();
    timespec ts{static_cast<time_t>(watch_.count() / 1000000000),
                static_cast<long>(watch_.count() % 1000000000)};
    n = epoll_pwait2(watch_epoll_fd_, events, 4, &ts, nullptr);
  } else {
    // With calls or replies in flight, wake up for their deadlines;
    // otherwise sleep until something happens.
    bool forever = calls_.none_in_flight() && intake_.no_replies_in_flight();
    sleeping_forever_.store(forever);
    // Replies owed for a whole spin: a same-host peer may have taken our
    // first poke before the request reached it (a new endpoint's wire-up
    // delays the request) and gone back to watching.
    if (!calls_.none_in_flight()) calls_.poke_late_peers();
    driver.unlock();
    n = epoll_wait(epoll_fd_, events, 4, forever ? -1 : 100);
    // Client turns taken while it slept may be long past: the next sleep
    // watches only if the application calls again while this thread is up.
    drives_seen_ = client_drives_.load(std::memory_order_relaxed);
  }
  sleeping_.store(false);
  watching_.store(false);
  bool rung = false;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == wake_fd_) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
    rung = rung || events[i].data.fd == transport_->doorbell_fd();
  }
  driver.lock();
  if (rung) transport_->drain_doorbell();
  ++stats_.progress_wakeups;
  return watch && n == 0 ? Sleep::kWatched : Sleep::kWoken;
}

RankStats Engine::stats() {
  RankStats copy;
  run_exclusive([&] {
    copy = stats_;
    copy.direct_copies = direct_copies_.load();
    copy.direct_bytes = direct_bytes_.load();
    for (size_t k = 1; k < kOpcodes; ++k) copy.served[k] = service_.served(static_cast<Opcode>(k));
  });
  return copy;
}

}  // namespace benchfs
