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

ProgressEngine::ProgressEngine(const Config& config, std::unique_ptr<Transport> transport,
                               std::unique_ptr<ChunkStore> store)
    : spin_(std::chrono::microseconds(config.spin_us)),
      timeout_(std::chrono::nanoseconds(static_cast<int64_t>(config.rpc_timeout * 1e9))),
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
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

int ProgressEngine::start() {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) return errno;
  for (int fd : {wake_fd_, transport_->event_fd(), server_->store().event_fd()}) {
    if (fd < 0) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return errno;
  }
  thread_ = std::thread([this] { run(); });
  return 0;
}

void ProgressEngine::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void ProgressEngine::submit(Call* const* calls, size_t n) {
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queue_.insert(queue_.end(), calls, calls + n);
  }
  // Pairs with the sleeping_ store in sleep_until_work(): either the thread
  // sees the queued call before it sleeps, or we see it asleep and wake it.
  if (sleeping_.load()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

void ProgressEngine::run_on_progress_thread(std::function<void()> fn) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    tasks_.push_back([&] {
      fn();
      std::lock_guard<std::mutex> l(m);
      done = true;
      cv.notify_one();
    });
  }
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
}

void ProgressEngine::close_endpoints() {
  run_on_progress_thread([this] { transport_->close_endpoints(timeout_); });
}

void ProgressEngine::run() {
  auto last_work = Clock::now();
  next_timeout_check_ = last_work + std::chrono::milliseconds(100);
  while (!stop_.load()) {
    bool work = false;

    std::deque<Call*> calls;
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      calls.swap(queue_);
      tasks.swap(tasks_);
    }
    for (Call* c : calls) start_call(c);
    for (auto& t : tasks) t();
    work = !calls.empty() || !tasks.empty();

    if (transport_->progress() > 0) work = true;
    auto& inbox = transport_->inbox();
    while (!inbox.empty()) {
      Incoming in = std::move(inbox.front());
      inbox.pop_front();
      handle_incoming(in);
      work = true;
    }
    if (server_->store().poll() > 0) work = true;

    auto now = Clock::now();
    if (now >= next_timeout_check_) {
      check_timeouts();
      next_timeout_check_ = now + std::chrono::milliseconds(100);
    }
    if (work) {
      last_work = now;
      continue;
    }
    if (now - last_work < spin_) continue;
    if (sleep_until_work()) last_work = Clock::now();
  }
}

// Sleeps until a call, a UCX event or a store completion arrives.  Returns
// true if it slept.
bool ProgressEngine::sleep_until_work() {
  sleeping_.store(true);
  bool queued;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    queued = !queue_.empty() || !tasks_.empty();
  }
  if (queued || stop_.load() || !transport_->arm()) {
    sleeping_.store(false);
    return false;
  }
  // With calls or replies in flight, wake up for their deadlines; otherwise sleep until
  // something happens.
  int timeout_ms = in_flight_.empty() && replies_.empty() ? -1 : 100;
  epoll_event events[4];
  int n = epoll_wait(epoll_fd_, events, 4, timeout_ms);
  sleeping_.store(false);
  for (int i = 0; i < n; ++i) {
    if (events[i].data.fd == wake_fd_) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
  }
  return true;
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
    auto* op = new ServerOp;
    op->header.opcode = static_cast<uint16_t>(c->op);
    op->header.src_rank = transport_->rank();
    op->header.req_id = c->id;
    op->meta = c->meta;
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
  h.data_len = c->send_len;
  // A send error fails the call unless its reply is already in (UCX may
  // report the send after the reply) or the call was failed before.  To a
  // peer that is down this runs at once.
  transport_->send(c->target, false, h, c->meta, c->send_data, c->send_len, [this, c](int err) {
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
    c->reply_meta = std::move(in.meta);
    size_t len = in.header.data_len;
    if (len > c->recv_cap) {
      log().error("reply to {} carries {} bytes for a {}-byte buffer", opcode_name(c->op), len,
                  c->recv_cap);
      if (in.rndv_desc) transport_->discard(in.rndv_desc);
      c->status = EPROTO;
      return finish_reply(c);
    }
    c->recv_len = len;
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

  auto* op = new ServerOp;
  op->header = in.header;
  op->meta = std::move(in.meta);
  if (!in.rndv_desc) {
    op->storage = std::move(in.eager);
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
  run_on_progress_thread([&] {
    copy = stats_;
    for (size_t k = 1; k < kOpcodes; ++k) copy.served[k] = server_->served(static_cast<Opcode>(k));
  });
  return copy;
}

void ProgressEngine::finish_server_op(ServerOp* op) {
  if (Call* c = op->local) {
    c->status = op->status;
    c->reply_meta = std::move(op->reply_meta);
    if (op->status == 0 && op->out_len) {
      if (op->out_len > c->recv_cap) {
        c->status = EPROTO;
      } else {
        if (op->out_data != c->recv_buf) std::memcpy(c->recv_buf, op->out_data, op->out_len);
        c->recv_len = op->out_len;
      }
    }
    delete op;
    c->reply_done = true;
    maybe_complete(c);
    return;
  }
  MsgHeader h;
  h.opcode = op->header.opcode;
  h.src_rank = transport_->rank();
  h.status = op->status;
  h.req_id = op->header.req_id;
  h.data_len = op->status == 0 ? op->out_len : 0;
  replies_[op] = ReplyInFlight{op->header.src_rank, Clock::now() + timeout_};
  transport_->send(op->header.src_rank, true, h, op->reply_meta, op->out_data, h.data_len,
                   [this, op](int) {
                     replies_.erase(op);
                     delete op;
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
  std::vector<int> silent;
  auto add = [&](int rank) {
    if (std::find(silent.begin(), silent.end(), rank) == silent.end()) silent.push_back(rank);
  };
  for (auto& [id, c] : in_flight_)
    if (now >= c->deadline) add(c->target);
  std::vector<int> stuck_replies;
  for (auto& [op, r] : replies_)
    if (now >= r.deadline) {
      add(r.dest);
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
