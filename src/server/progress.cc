#include "server/progress.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/config.h"
#include "common/log.h"

namespace benchfs {

using Clock = std::chrono::steady_clock;

namespace {

void add_once(std::vector<int>& ranks, int rank) {
  if (std::find(ranks.begin(), ranks.end(), rank) == ranks.end()) ranks.push_back(rank);
}

// Whether it is `margin` or more before the deadline a same-host client put
// in a kFlagPeerMemory request (CLOCK_MONOTONIC, the same in every process
// of the host).
bool before_deadline(const MsgHeader& h, std::chrono::nanoseconds margin) {
  return Clock::now().time_since_epoch() + margin < std::chrono::nanoseconds(h.deadline_ns);
}

}  // namespace

ProgressEngine::ProgressEngine(const Config& config, std::unique_ptr<Transport> transport,
                               std::unique_ptr<ChunkStore> store)
    : spin_(std::chrono::microseconds(config.spin_us)),
      timeout_(std::chrono::nanoseconds(static_cast<int64_t>(config.rpc_timeout * 1e9))),
      watch_(std::chrono::microseconds(config.watch_us)),
      eager_threshold_(config.eager_threshold),
      oversubscribed_(transport->ranks_on_host() > std::max(1u, std::thread::hardware_concurrency())),
      transport_(std::move(transport)) {
  server_ = std::make_unique<Server>(transport_->rank(), transport_->size(), config.chunk_size,
                                     std::move(store),
                                     [this](ServerOp* op) { finish_server_op(op); });
  server_->create_root();
  // A peer that failed or timed out is left alone for one timeout (sends to
  // it fail at once), then tried again.
  transport_->set_down_window(timeout_);
  transport_->on_peer_failure = [this](int rank) { fail_calls_to(rank, EIO); };
}

ProgressEngine::~ProgressEngine() {
  stop();
  // Closing the transport may still run send callbacks, which use replies_:
  // it goes first, while every member is alive.
  transport_.reset();
  for (ServerOp* op : spare_ops_) delete op;
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (watch_epoll_fd_ >= 0) ::close(watch_epoll_fd_);
}

int ProgressEngine::start() {
  wake_fd_ = transport_->wake_fd();
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  watch_epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0 || watch_epoll_fd_ < 0) return errno;
  for (int fd : {wake_fd_, transport_->event_fd(), server_->store().event_fd()}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = fd == server_->store().event_fd() ? EPOLLIN | EPOLLET : EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
    if (fd != transport_->event_fd() && epoll_ctl(watch_epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
      return errno;
  }
  thread_ = std::thread([this] { run(); });
  return 0;
}

void ProgressEngine::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  wake();
  thread_.join();
}

void ProgressEngine::wake() {
  wake_pending_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void ProgressEngine::enqueue(Call* const* calls, size_t n) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.insert(queue_.end(), calls, calls + n);
    queue_nonempty_.store(true);
  }
  // Pairs with the sleeping_ store in sleep_until_work(): either the thread
  // sees the queued call before it sleeps, or we see it asleep and wake it.
  if (sleeping_.load()) wake();
}

void ProgressEngine::execute(Call* calls, size_t n, size_t window) {
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

void ProgressEngine::drive(CallWaiter& waiter, Call* calls, size_t n, size_t window,
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
      start_call(&calls[(*started)++]);
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
      poke_late_peers();
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

void ProgressEngine::poke_late_peers() {
  int poked[8];
  size_t n = 0;
  for (const auto& [id, c] : in_flight_) {
    if (!transport_->direct(c->target) || std::find(poked, poked + n, c->target) != poked + n)
      continue;
    transport_->poke(c->target);
    ++stats_.pokes;
    if (n < std::size(poked)) poked[n++] = c->target;
  }
}

bool ProgressEngine::queued() {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return !queue_.empty() || !tasks_.empty();
}

void ProgressEngine::hand_back() {
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
    if (queued() || !in_flight_.empty()) wake();
    return;
  }
  bool quiet = !queued() && in_flight_.empty() && (replies_.empty() || !sleeping_forever_.load()) &&
               transport_->arm();
  if (!quiet) wake();
}

void ProgressEngine::run_exclusive(std::function<void()> fn) {
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

void ProgressEngine::close_endpoints() {
  run_exclusive([this] { transport_->close_endpoints(timeout_); });
}

bool ProgressEngine::poll_once() {
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
    for (Call* c : calls) start_call(c);
    for (auto& t : tasks) t();
    work = !calls.empty() || !tasks.empty();
  }

  if (transport_->progress() > 0) work = true;
  auto& inbox = transport_->inbox();
  while (!inbox.empty()) {
    Incoming in = std::move(inbox.front());
    inbox.pop_front();
    handle_incoming(in);
    work = true;
  }
  if (server_->store().poll() > 0) work = true;
  return work;
}

void ProgressEngine::check_timeouts_if_due(Clock::time_point now) {
  if (now < next_timeout_check_) return;
  check_timeouts();
  next_timeout_check_ = now + std::chrono::milliseconds(100);
}

void ProgressEngine::run() {
  std::unique_lock<std::mutex> driver(driver_);
  server_->store().set_owner_thread();  // this thread outlives every request
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

ProgressEngine::Sleep ProgressEngine::sleep_until_work(std::unique_lock<std::mutex>& driver) {
  // A client thread took the driver seat since this thread last woke (or
  // began its last watch): the application serves peers itself whenever
  // it calls, so sleep a watch without arming the worker.  Armed, every
  // message to this rank makes its sender signal (a system call on each
  // side) and often wakes this thread for nothing.
  uint64_t drives = client_drives_.load(std::memory_order_relaxed);
  bool watch = watch_.count() > 0 && drives != drives_seen_ && in_flight_.empty();
  drives_seen_ = drives;
  wake_pending_.store(false);
  sleeping_.store(true);
  watching_.store(watch);
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
    bool forever = in_flight_.empty() && replies_.empty();
    sleeping_forever_.store(forever);
    // Replies owed for a whole spin: a same-host peer may have taken our
    // first poke before the request reached it (a new endpoint's wire-up
    // delays the request) and gone back to watching.
    if (!in_flight_.empty()) poke_late_peers();
    driver.unlock();
    n = epoll_wait(epoll_fd_, events, 4, forever ? -1 : 100);
    // Client turns taken while it slept may be long past: the next sleep
    // watches only if the application calls again while this thread is up.
    drives_seen_ = client_drives_.load(std::memory_order_relaxed);
  }
  sleeping_.store(false);
  watching_.store(false);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == wake_fd_) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
  }
  driver.lock();
  ++stats_.progress_wakeups;
  return watch && n == 0 ? Sleep::kWatched : Sleep::kWoken;
}

void ProgressEngine::start_call(Call* c) {
  c->id = ++next_id_;
  c->started = Clock::now();
  ++stats_.calls[static_cast<size_t>(c->op)];
  if (c->op == Opcode::kWrite) stats_.bytes_written += c->send_len;
  c->send_done = c->reply_done = c->receiving = c->abandoned = false;
  c->status = 0;
  c->recv_len = 0;
  if (c->target == transport_->rank()) {
    // Local fast path: the request never crosses UCX, and a read lands
    // straight in the caller's buffer.
    ++stats_.local_calls;
    c->send_done = true;
    ServerOp* op = new_op();
    op->header.opcode = static_cast<uint16_t>(c->op);
    op->header.src_rank = transport_->rank();
    op->header.req_id = c->id;
    op->args = c->args;
    op->in_data = static_cast<const char*>(c->send_data);
    op->in_len = c->send_len;
    op->local = c;
    server_->handle(op);  // may complete c before returning: c is not touched after
    return;
  }
  ++stats_.remote_calls;
  c->deadline = Clock::now() + timeout_;
  in_flight_.emplace(c->id, c);
  MsgHeader h;
  h.opcode = static_cast<uint16_t>(c->op);
  h.src_rank = transport_->rank();
  h.req_id = c->id;
  const void* data = c->send_data;
  size_t len = c->send_len;
  h.data_len = len;
  c->peer_memory = false;
  if (transport_->direct(c->target)) {
    // The server copies a large payload from (write) or into (read, readdir)
    // the caller's buffer itself; a small one travels as a copy.  Either way
    // UCX holds nothing of the caller's, so the call can always be returned.
    if (len > eager_threshold_ || c->recv_cap > eager_threshold_) {
      c->peer_memory = true;
      h.flags = kFlagPeerMemory;
      h.peer_addr = reinterpret_cast<uint64_t>(len ? data : c->recv_buf);
      h.deadline_ns = std::chrono::nanoseconds(c->deadline.time_since_epoch()).count();
      data = nullptr;
      len = 0;
    }
    c->send_done = true;
    transport_->send(c->target, false, h, c->args, data, len, [this, id = c->id](int err) {
      if (!err) return;
      auto it = in_flight_.find(id);  // the call may be complete and gone
      if (it != in_flight_.end() && !it->second->receiving) fail_call(it->second, err);
    });
    return;
  }
  // A send error fails the call unless its reply is already in (UCX may
  // report the send after the reply) or the call was failed before.  To a
  // peer that is down this runs at once.
  transport_->send(c->target, false, h, c->args, data, len, [this, c](int err) {
    c->send_done = true;
    if (err && !c->reply_done && !c->receiving) return fail_call(c, err);
    maybe_complete(c);
  });
}

void ProgressEngine::handle_incoming(Incoming& in) {
  // Whoever sends us anything is alive: end its down window early.
  transport_->mark_up(in.header.src_rank);
  if (in.is_reply) {
    auto it = in_flight_.find(in.header.req_id);
    if (it == in_flight_.end() || it->second->receiving) {  // timed out or duplicate
      if (in.rndv_desc) transport_->discard(in.rndv_desc);
      return;
    }
    Call* c = it->second;
    c->status = in.header.status;
    c->reply_args = std::move(in.args);
    size_t len = in.header.data_len;
    if (len > c->recv_cap) {
      log().error("reply to {} carries {} bytes for a {}-byte buffer", opcode_name(c->op), len,
                  c->recv_cap);
      if (in.rndv_desc) transport_->discard(in.rndv_desc);
      c->status = EPROTO;
      return finish_reply(c);
    }
    c->recv_len = len;
    if (in.header.flags & kFlagPeerMemory) {
      // The server wrote the payload into recv_buf; only a call that
      // offered its buffer may be told so.
      if (!c->peer_memory) c->status = EPROTO;
      return finish_reply(c);
    }
    if (!in.rndv_desc) {
      if (len) std::memcpy(c->recv_buf, in.eager.data(), len);
      return finish_reply(c);
    }
    c->receiving = true;
    transport_->receive(in.rndv_desc, c->recv_buf, len, [this, c](int err) {
      c->receiving = false;
      if (c->abandoned) return maybe_complete(c);  // status set when it failed
      if (err) c->status = err;
      finish_reply(c);
    });
    return;
  }

  ServerOp* op = new_op();
  op->header = in.header;
  op->args = std::move(in.args);
  if (op->header.flags & kFlagPeerMemory) return serve_peer_memory(op);
  if (!in.rndv_desc) {
    op->storage.assign(in.eager.begin(), in.eager.end());  // keeps a recycled buffer
    op->in_data = op->storage.data();
    op->in_len = op->storage.size();
    server_->handle(op);
    return;
  }
  if (int err = server_->admit(op->header, in.header.data_len)) {
    // Refused before its payload is fetched: a garbage header must not make
    // the server allocate the size it declares.
    transport_->discard(in.rndv_desc);
    op->status = err;
    finish_server_op(op);
    return;
  }
  op->storage.resize(in.header.data_len);
  op->in_data = op->storage.data();
  op->in_len = op->storage.size();
  transport_->receive(in.rndv_desc, op->storage.data(), op->storage.size(), [this, op](int err) {
    if (err) {
      op->status = err;
      op->storage.clear();
      op->in_data = nullptr;
      op->in_len = 0;
      finish_server_op(op);
      return;
    }
    server_->handle(op);
  });
}

// A request whose payload stays in the client's memory: its write data is
// copied from there before it is served (its reply payload is copied there
// in finish_server_op).  Only from a direct peer, only before the client
// gives up.
void ProgressEngine::serve_peer_memory(ServerOp* op) {
  const MsgHeader& h = op->header;
  int err = transport_->direct(h.src_rank) ? server_->admit(h, h.data_len) : EPROTO;
  if (!err && !before_deadline(h, std::chrono::nanoseconds(0))) err = ETIMEDOUT;
  if (!err && h.data_len) {
    op->storage.resize(h.data_len);
    if (int e = transport_->pull(h.src_rank, h.peer_addr, op->storage.data(), h.data_len)) {
      log().error("cannot read a request's payload from rank {}'s memory: {}", h.src_rank,
                  std::strerror(e));
      err = EIO;
    }
  }
  if (err) {
    op->status = err;
    op->header.flags = 0;  // nothing to copy back
    return finish_server_op(op);
  }
  op->in_data = op->storage.data();
  op->in_len = op->storage.size();
  server_->handle(op);
}

ServerOp* ProgressEngine::new_op() {
  if (spare_ops_.empty()) return new ServerOp;
  ServerOp* op = spare_ops_.back();
  spare_ops_.pop_back();
  return op;
}

// Keeps a few finished requests with their payload buffers: a chunk-sized
// buffer freed and allocated again per request costs an mmap, a page fault
// per page and an munmap (measured: most of a 1 MiB write's time with the
// memory backend).  At most kSpareOps: a bounded part of the footprint.
void ProgressEngine::recycle(ServerOp* op) {
  constexpr size_t kSpareOps = 16;
  if (spare_ops_.size() >= kSpareOps) {
    delete op;
    return;
  }
  Bytes keep = std::move(op->storage);
  keep.clear();  // keeps the buffer
  *op = ServerOp{};
  op->storage = std::move(keep);
  spare_ops_.push_back(op);
}

void ProgressEngine::finish_reply(Call* c) {
  in_flight_.erase(c->id);
  c->reply_done = true;
  maybe_complete(c);
}

void ProgressEngine::maybe_complete(Call* c) {
  // Only when UCX holds neither of the caller's buffers.
  if (!c->send_done || !c->reply_done || c->receiving) return;
  size_t kind = static_cast<size_t>(c->op);
  stats_.latency[kind].add(
      static_cast<uint64_t>(std::chrono::nanoseconds(Clock::now() - c->started).count()));
  if (c->op == Opcode::kRead && c->status == 0) stats_.bytes_read += c->recv_len;
  c->waiter->complete();  // c belongs to its caller now
}

RankStats ProgressEngine::stats() {
  RankStats copy;
  run_exclusive([&] {
    copy = stats_;
    copy.direct_copies = direct_copies_.load();
    copy.direct_bytes = direct_bytes_.load();
    for (size_t k = 1; k < kOpcodes; ++k) copy.served[k] = server_->served(static_cast<Opcode>(k));
  });
  return copy;
}

void ProgressEngine::finish_server_op(ServerOp* op) {
  if (Call* c = op->local) {
    c->status = op->status;
    c->reply_args = std::move(op->reply_args);
    if (op->status == 0 && op->out_len) {
      if (op->out_len > c->recv_cap) {
        c->status = EPROTO;
      } else {
        if (op->out_data != c->recv_buf) std::memcpy(c->recv_buf, op->out_data, op->out_len);
        c->recv_len = op->out_len;
      }
    }
    recycle(op);
    c->reply_done = true;
    maybe_complete(c);
    return;
  }
  MsgHeader h;
  h.opcode = op->header.opcode;
  h.src_rank = transport_->rank();
  h.req_id = op->header.req_id;
  const char* data = op->out_data;
  size_t len = op->status == 0 ? op->out_len : 0;
  if ((op->header.flags & kFlagPeerMemory) && len) {
    // Into the client's buffer, unless the client may have given up on it
    // (a margin before its deadline: it returns the buffer to the
    // application then).
    bool late = !before_deadline(op->header, timeout_ / 4);
    int err = late ? ETIMEDOUT
                   : transport_->push(op->header.src_rank, data, len, op->header.peer_addr);
    if (err && !late) log().error("cannot write a reply into rank {}'s memory: {}",
                                  op->header.src_rank, std::strerror(err));
    op->status = err == 0 ? 0 : late ? ETIMEDOUT : EIO;
    h.flags = err == 0 ? kFlagPeerMemory : 0;
    h.data_len = err == 0 ? len : 0;
    data = nullptr;
    len = 0;
  } else {
    h.data_len = len;
  }
  h.status = op->status;
  replies_[op] = ReplyInFlight{op->header.src_rank, Clock::now() + timeout_};
  transport_->send(op->header.src_rank, true, h, op->reply_args, data, len,
                   [this, op](int) {
                     replies_.erase(op);
                     recycle(op);
                   });
}

// Fails a call that is still waiting for its reply.  The reply, should it
// come, is dropped (its id is no longer in flight).  The caller gets the call
// back once UCX has let go of its buffers: at once if the request was sent
// and no reply payload is being received, else from the UCX callback, which
// a force-closed endpoint guarantees (mark_down).
void ProgressEngine::fail_call(Call* c, int err) {
  in_flight_.erase(c->id);
  c->status = err;
  c->reply_done = true;
  c->abandoned = c->receiving;
  maybe_complete(c);
}

void ProgressEngine::fail_calls_to(int rank, int err) {
  std::vector<Call*> failed;
  for (auto& [id, c] : in_flight_)
    if (c->target == rank) failed.push_back(c);
  for (Call* c : failed) fail_call(c, err);  // c may be gone after this
}

// A call past its deadline means its server did not answer for a whole
// timeout: that peer is unresponsive (stopped, dead, or cut off).  Every call
// in flight to it fails with ETIMEDOUT, and new ones fail at once for one
// more timeout (the down window).  A call whose request UCX has sent and
// whose reply payload is not being received goes back to its caller at once.
// One whose buffers UCX still holds (a send a stopped peer never took, a
// rendezvous reply half received) cannot be cancelled alone: UCX 1.13's
// ucp_request_cancel only handles tag receives.  Then the endpoint is
// force-closed (UCP_EP_CLOSE_FLAG_FORCE), which completes every request on
// it with UCS_ERR_CANCELED; the callbacks hand those calls back.
void ProgressEngine::check_timeouts() {
  auto now = Clock::now();
  // A peer that has kept a call or reply waiting a while may have exited
  // (found at once off-host by UCX, on this host by its pid).
  std::vector<int> waiting;
  const auto a_while = std::chrono::milliseconds(100);
  for (auto& [id, c] : in_flight_)
    if (now - c->started >= a_while) add_once(waiting, c->target);
  for (auto& [op, r] : replies_)
    if (r.deadline - timeout_ + a_while <= now) add_once(waiting, r.dest);
  for (int rank : waiting) transport_->peer_gone(rank);

  std::vector<int> silent;
  for (auto& [id, c] : in_flight_)
    if (now >= c->deadline) add_once(silent, c->target);
  std::vector<int> stuck_replies;
  for (auto& [op, r] : replies_)
    if (now >= r.deadline) {
      add_once(silent, r.dest);
      stuck_replies.push_back(r.dest);
    }
  for (int rank : silent) {
    log().error("rank {} did not answer within {:.1f} s: failing its calls", rank,
                std::chrono::duration<double>(timeout_).count());
    // A reply UCX still holds is freed only by closing the endpoint too.
    bool held = std::find(stuck_replies.begin(), stuck_replies.end(), rank) != stuck_replies.end();
    for (auto& [id, c] : in_flight_)
      if (c->target == rank && (!c->send_done || c->receiving)) held = true;
    fail_calls_to(rank, ETIMEDOUT);
    transport_->mark_down(rank, ETIMEDOUT, held);
  }
}

}  // namespace benchfs
