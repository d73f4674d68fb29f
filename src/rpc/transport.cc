#include "rpc/transport.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/eventfd.h>
#include <unistd.h>

#include "common/allgather.h"
#include "common/log.h"

namespace benchfs {

namespace {

struct SendContext {
  std::string header;   // kept alive until the send completes
  std::string payload;  // a copy, for peers that may hold it indefinitely
  Transport::Done done;
};

struct RecvContext {
  Transport::Done done;
};

void send_complete(void* request, ucs_status_t status, void* user_data) {
  auto* ctx = static_cast<SendContext*>(user_data);
  ctx->done(status == UCS_OK ? 0 : ucs_to_errno(status));
  delete ctx;
  ucp_request_free(request);
}

void recv_complete(void* request, ucs_status_t status, size_t, void* user_data) {
  auto* ctx = static_cast<RecvContext*>(user_data);
  ctx->done(status == UCS_OK ? 0 : ucs_to_errno(status));
  delete ctx;
  ucp_request_free(request);
}

}  // namespace

int ucs_to_errno(ucs_status_t status) {
  switch (status) {
    case UCS_OK: return 0;
    case UCS_ERR_NO_MEMORY: return ENOMEM;
    case UCS_ERR_TIMED_OUT: return ETIMEDOUT;
    case UCS_ERR_CANCELED: return ECANCELED;
    case UCS_ERR_MESSAGE_TRUNCATED: return EMSGSIZE;
    case UCS_ERR_INVALID_PARAM: return EINVAL;
    default: return EIO;
  }
}

namespace {

// Force-closes an endpoint: UCX completes every request still on it with
// UCS_ERR_CANCELED (their callbacks run here or in a later progress) and
// stops using their buffers.  Needs UCP_ERR_HANDLING_MODE_PEER (set below).
void force_close(ucp_worker_h worker, ucp_ep_h ep) {
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_EP_CLOSE_FLAG_FORCE;
  ucs_status_ptr_t r = ucp_ep_close_nbx(ep, &p);
  if (UCS_PTR_IS_PTR(r)) {
    while (ucp_request_check_status(r) == UCS_INPROGRESS) ucp_worker_progress(worker);
    ucp_request_free(r);
  }
}

// Every rank's UCX worker address, by rank.  Collective over comm.
std::vector<std::string> allgather_addresses(MPI_Comm comm, const ucp_address_t* address,
                                             size_t address_len) {
  return allgather_bytes({reinterpret_cast<const char*>(address), address_len}, comm);
}

}  // namespace

Transport::~Transport() {
  for (auto& ep : endpoints_) {
    if (ep) doomed_.push_back(ep);
    ep = nullptr;
  }
  if (worker_) close_doomed();
  for (auto& in : inbox_)
    if (in.rndv_desc) ucp_am_data_release(worker_, in.rndv_desc);
  inbox_.clear();
  close_doorbell();
  if (worker_) ucp_worker_destroy(worker_);
  if (context_) ucp_cleanup(context_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

int Transport::init(MPI_Comm comm, uint64_t eager_threshold, double rpc_timeout) {
  MPI_Comm_rank(comm, &rank_);
  MPI_Comm_size(comm, &size_);
  eager_threshold_ = eager_threshold;

  // Every rank builds its worker, then all agree whether that worked, so a
  // failure on one rank fails init everywhere instead of hanging the others.
  int err = 0;
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) err = errno;
  ucp_address_t* address = nullptr;
  size_t address_len = 0;
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 0;
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  // Force-closing an endpoint to a stopped peer completes its requests only
  // once UCX's keepalive has checked the peer (measured: the default 20 s
  // interval held a timed-out call for 20 s).  Half the RPC timeout keeps
  // that inside the timeout; UCX_KEEPALIVE_INTERVAL set by the user wins.
  if (st == UCS_OK && !getenv("UCX_KEEPALIVE_INTERVAL")) {
    char interval[32];
    std::snprintf(interval, sizeof interval, "%.3fs", std::min(20.0, rpc_timeout / 2));
    if (ucp_config_modify(config, "KEEPALIVE_INTERVAL", interval) != UCS_OK)
      log().warn("cannot set UCX keepalive interval to {}", interval);
  }
  if (st == UCS_OK) {
    st = ucp_init(&params, config, &context_);
    ucp_config_release(config);
  }
  if (st == UCS_OK) {
    ucp_worker_params_t wp{};
    wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    wp.thread_mode = UCS_THREAD_MODE_SINGLE;
    st = ucp_worker_create(context_, &wp, &worker_);
  }
  if (st == UCS_OK) st = ucp_worker_get_efd(worker_, &event_fd_);
  if (st == UCS_OK) {
    ucp_worker_attr_t attr{};
    attr.field_mask = UCP_WORKER_ATTR_FIELD_MAX_AM_HEADER;
    st = ucp_worker_query(worker_, &attr);
    if (st == UCS_OK && attr.max_am_header < sizeof(MsgHeader) + kMaxArgsLen) {
      log().error("UCX allows only {} bytes of AM header, BenchFS needs {}", attr.max_am_header,
                  sizeof(MsgHeader) + kMaxArgsLen);
      st = UCS_ERR_UNSUPPORTED;
    }
  }
  for (int i = 0; i < 2 && st == UCS_OK; ++i) {
    ucp_am_handler_param_t hp{};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                    UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
    hp.id = i == 0 ? kRequestAm : kReplyAm;
    hp.flags = UCP_AM_FLAG_WHOLE_MSG;
    hp.cb = i == 0 ? [](void* arg, const void* h, size_t hl, void* d, size_t l,
                        const ucp_am_recv_param_t* p) { return on_am(arg, h, hl, d, l, p, false); }
                   : [](void* arg, const void* h, size_t hl, void* d, size_t l,
                        const ucp_am_recv_param_t* p) { return on_am(arg, h, hl, d, l, p, true); };
    hp.arg = this;
    st = ucp_worker_set_am_recv_handler(worker_, &hp);
  }
  if (st == UCS_OK) st = ucp_worker_get_address(worker_, &address, &address_len);
  if (st != UCS_OK) {
    log().error("UCX setup failed: {}", ucs_status_string(st));
    err = EIO;
  }

  int any_err = 0;
  MPI_Allreduce(&err, &any_err, 1, MPI_INT, MPI_MAX, comm);
  if (any_err) {
    if (address) ucp_worker_release_address(worker_, address);
    return any_err;
  }

  addresses_ = allgather_addresses(comm, address, address_len);
  ucp_worker_release_address(worker_, address);
  same_host_.exchange(comm, rank_, wake_fd_);
  open_doorbell(comm);
  endpoints_.assign(size_, nullptr);
  down_until_.assign(size_, Clock::time_point{});
  down_err_.assign(size_, 0);
  for (int r = 0; r < size_; ++r) ep_error_contexts_.push_back({this, r});
  return 0;
}

bool Transport::arm() { return ucp_worker_arm(worker_) == UCS_OK; }

void Transport::open_doorbell(MPI_Comm comm) {
  // Only where some peer cannot be woken through SameHost::poke: a job of
  // one host (cross-memory attach permitted) never makes the second worker.
  // Every rank decides alike: being on different hosts is mutual, and
  // direct copies are agreed by all.
  bool needed = false;
  for (int r = 0; r < size_; ++r) needed = needed || (r != rank_ && !same_host_.direct(r));
  if (!needed) return;
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucs_status_t st = ucp_worker_create(context_, &wp, &doorbell_);
  if (st == UCS_OK) st = ucp_worker_get_efd(doorbell_, &doorbell_fd_);
  if (st == UCS_OK) {
    ucp_am_handler_param_t hp{};
    hp.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB;
    hp.id = kDoorbellAm;
    // Arriving is all a ring does: it woke the thread that sleeps on
    // doorbell_fd(), which then serves the main worker.
    hp.cb = [](void*, const void*, size_t, void*, size_t, const ucp_am_recv_param_t*) {
      return UCS_OK;
    };
    st = ucp_worker_set_am_recv_handler(doorbell_, &hp);
  }
  ucp_address_t* address = nullptr;
  size_t address_len = 0;
  if (st == UCS_OK) st = ucp_worker_get_address(doorbell_, &address, &address_len);
  int err = st == UCS_OK ? 0 : 1, any_err = 0;
  MPI_Allreduce(&err, &any_err, 1, MPI_INT, MPI_MAX, comm);
  if (any_err) {
    if (st != UCS_OK)
      log().warn("no doorbell worker ({}): a request from another host to a rank whose "
                 "application computes waits for that rank's next check",
                 ucs_status_string(st));
    if (address) ucp_worker_release_address(doorbell_, address);
    close_doorbell();
    return;
  }
  doorbell_addresses_ = allgather_addresses(comm, address, address_len);
  ucp_worker_release_address(doorbell_, address);
  doorbell_eps_.assign(size_, nullptr);
}

bool Transport::poke(int dest) {
  if (same_host_.direct(dest)) return same_host_.poke(dest);
  if (!doorbell_ || peer_error(dest)) return false;
  ucp_ep_h& ep = doorbell_eps_[dest];
  if (!ep) {
    ucp_ep_params_t ep_params{};
    ep_params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS |
                           UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                           UCP_EP_PARAM_FIELD_ERR_HANDLER;
    ep_params.address = reinterpret_cast<const ucp_address_t*>(doorbell_addresses_[dest].data());
    // A doorbell peer that dies must not take this process with it; its
    // failure is reported (and acted on) by the main endpoint.
    ep_params.err_mode = UCP_ERR_HANDLING_MODE_PEER;
    ep_params.err_handler.cb = on_doorbell_error;
    ep_params.err_handler.arg = &ep_error_contexts_[dest];
    if (ucp_ep_create(doorbell_, &ep_params, &ep) != UCS_OK) {
      ep = nullptr;
      return false;
    }
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t r = ucp_am_send_nbx(ep, kDoorbellAm, nullptr, 0, nullptr, 0, &p);
  if (UCS_PTR_IS_PTR(r)) rings_.push_back(r);
  // A new endpoint's wire-up, and a ring that did not go at once, need the
  // doorbell worker progressed: the next drain does it (before any sleep).
  return !UCS_PTR_IS_ERR(r);
}

void Transport::drain_doorbell() {
  if (!doorbell_) return;
  while (ucp_worker_progress(doorbell_) != 0) {
  }
  std::erase_if(rings_, [](ucs_status_ptr_t r) {
    if (ucp_request_check_status(r) == UCS_INPROGRESS) return false;
    ucp_request_free(r);
    return true;
  });
  close_doomed_doorbells();
}

void Transport::on_doorbell_error(void* arg, ucp_ep_h ep, ucs_status_t) {
  auto* ctx = static_cast<EpErrorContext*>(arg);
  Transport* t = ctx->transport;
  // Closed at the next drain (never inside progress); an endpoint already
  // let go (close_doorbell) is not this rank's any more.
  if (static_cast<size_t>(ctx->rank) >= t->doorbell_eps_.size() ||
      t->doorbell_eps_[ctx->rank] != ep)
    return;
  t->doorbell_doomed_.push_back(ep);
  t->doorbell_eps_[ctx->rank] = nullptr;
}

void Transport::close_doomed_doorbells() {
  // Closing progresses the worker: another endpoint may fail meanwhile.
  while (!doorbell_doomed_.empty()) {
    ucp_ep_h ep = doorbell_doomed_.back();
    doorbell_doomed_.pop_back();
    force_close(doorbell_, ep);
  }
}

void Transport::arm_doorbell() {
  if (!doorbell_) return;
  // Busy: events came in since the drain.  A few tries; if it still fails
  // the fd stays readable and the sleep ends at once, which drains again.
  for (int i = 0; i < 4; ++i) {
    drain_doorbell();
    if (ucp_worker_arm(doorbell_) != UCS_ERR_BUSY) return;
  }
}

void Transport::close_doorbell() {
  if (!doorbell_) return;
  // A ring still in flight is released when the force-close below
  // completes it.
  for (ucs_status_ptr_t r : rings_) ucp_request_free(r);
  rings_.clear();
  for (ucp_ep_h ep : doorbell_eps_)
    if (ep) doorbell_doomed_.push_back(ep);
  doorbell_eps_.clear();
  close_doomed_doorbells();
  ucp_worker_destroy(doorbell_);
  doorbell_ = nullptr;
  doorbell_fd_ = -1;
}

unsigned Transport::progress() {
  unsigned total = 0, n;
  in_progress_ = true;
  while ((n = ucp_worker_progress(worker_)) != 0) total += n;
  in_progress_ = false;
  if (!doomed_.empty()) {
    close_doomed();
    ++total;
  }
  return total;
}

void Transport::close_doomed() {
  // Closing progresses the worker, whose callbacks may put another peer
  // down: that one is queued (in_progress_) and closed by this loop.
  bool nested = in_progress_;
  in_progress_ = true;
  while (!doomed_.empty()) {
    std::vector<ucp_ep_h> eps;
    eps.swap(doomed_);
    for (ucp_ep_h ep : eps) force_close(worker_, ep);
  }
  in_progress_ = nested;
}

void Transport::mark_down(int dest, int err, bool close) {
  down_until_[dest] = Clock::now() + down_window_;
  down_err_[dest] = err;
  if (close && endpoints_[dest]) {
    doomed_.push_back(endpoints_[dest]);
    endpoints_[dest] = nullptr;
  }
  // Inside ucp_worker_progress (an error callback) closing is deferred to
  // the end of progress().
  if (!in_progress_) close_doomed();
}

void Transport::mark_up(int dest) { down_err_[dest] = 0; }

bool Transport::peer_gone(int dest) {
  if (!same_host_.exited(dest)) return false;
  log().error("rank {} has exited", dest);
  fail_peer(dest);
  return true;
}

void Transport::fail_peer(int dest) {
  mark_down(dest, EIO, true);
  if (on_peer_failure) on_peer_failure(dest);
}

int Transport::peer_error(int dest) const {
  if (down_err_[dest] == 0) return 0;
  return Clock::now() < down_until_[dest] ? down_err_[dest] : 0;
}

ucs_status_t Transport::on_am(void* arg, const void* header, size_t header_len, void* data,
                              size_t len, const ucp_am_recv_param_t* param, bool is_reply) {
  auto* self = static_cast<Transport*>(arg);
  bool rndv = param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV;
  Incoming in;
  std::string_view args;
  in.is_reply = is_reply;
  if (int err = decode_message(header, header_len, len, self->size_, &in.header, &args)) {
    log().warn("{} malformed {} ({} header bytes, {} data bytes)",
               err != EPROTO ? "dropping"
               : is_reply    ? "failing its call with EPROTO:"
                             : "answering EPROTO to",
               is_reply ? "reply" : "request", header_len, len);
    // Answerable: in.header now says EPROTO and carries no args or data, so
    // the request is answered (or the reply's call failed) with EPROTO.
    if (err == EPROTO) self->inbox_.push_back(std::move(in));
    return UCS_OK;  // data, rendezvous or not, is not kept: UCX drops it
  }
  in.args.assign(args.data(), args.size());
  if (rndv) {
    in.rndv_desc = data;
    self->inbox_.push_back(std::move(in));
    return UCS_INPROGRESS;
  }
  if (len) in.eager.assign(static_cast<char*>(data), static_cast<char*>(data) + len);
  self->inbox_.push_back(std::move(in));
  return UCS_OK;
}

void Transport::on_ep_error(void* arg, ucp_ep_h ep, ucs_status_t status) {
  auto* ctx = static_cast<EpErrorContext*>(arg);
  Transport* t = ctx->transport;
  log().error("connection to rank {} failed: {}", ctx->rank, ucs_status_string(status));
  // A failed endpoint must be force-closed; an old one (already replaced
  // after a timeout) is in doomed_ or closed already.
  if (t->endpoints_[ctx->rank] != ep) return;
  t->fail_peer(ctx->rank);  // UCX requires closing a failed endpoint
}

ucp_ep_h Transport::endpoint(int dest) {
  if (endpoints_[dest]) return endpoints_[dest];
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                  UCP_EP_PARAM_FIELD_ERR_HANDLER;
  ep.address = reinterpret_cast<const ucp_address_t*>(addresses_[dest].data());
  // UCX 1.13's shared-memory transports (posix, sysv, cma) refuse peer
  // error handling: asking for it on a peer of this host would push every
  // message through TCP on loopback (measured: 4 KiB remote pread 53 us
  // against 17 us).  So direct peers (same host, cross-memory attach works)
  // get mode NONE: their death is found by peer_gone(), and UCX never holds
  // a caller's buffer for them (payloads are copied or left in place), since
  // without peer error handling nothing could make it give one back.  Other
  // peers keep UCX's own detection.
  ep.err_mode = same_host_.direct(dest) ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
  ep.err_handler.cb = on_ep_error;
  ep.err_handler.arg = &ep_error_contexts_[dest];
  ucs_status_t st = ucp_ep_create(worker_, &ep, &endpoints_[dest]);
  if (st != UCS_OK) {
    log().error("cannot connect to rank {}: {}", dest, ucs_status_string(st));
    endpoints_[dest] = nullptr;
    mark_down(dest, EIO, false);
    return nullptr;
  }
  ++endpoints_created_;
  return endpoints_[dest];
}

void Transport::send(int dest, bool reply, const MsgHeader& header, std::string_view args,
                     const void* data, size_t len, Done done) {
  if (int err = peer_error(dest)) {
    done(err);
    return;
  }
  ucp_ep_h ep = endpoint(dest);
  if (!ep) {
    done(EIO);
    return;
  }
  auto* ctx = new SendContext{encode_header(header, args), {}, std::move(done)};
  if (len && same_host_.direct(dest)) {
    ctx->payload.assign(static_cast<const char*>(data), len);
    data = ctx->payload.data();
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_DATATYPE;
  p.cb.send = send_complete;
  p.user_data = ctx;
  p.datatype = ucp_dt_make_contig(1);
  p.flags = (len > eager_threshold_) ? UCP_AM_SEND_FLAG_RNDV : UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t r = ucp_am_send_nbx(ep, reply ? kReplyAm : kRequestAm, ctx->header.data(),
                                       ctx->header.size(), data, len, &p);
  if (UCS_PTR_IS_PTR(r)) return;  // completes in send_complete
  int err = UCS_PTR_IS_ERR(r) ? ucs_to_errno(UCS_PTR_STATUS(r)) : 0;
  ctx->done(err);
  delete ctx;
}

void Transport::receive(void* desc, void* buf, size_t len, Done done) {
  auto* ctx = new RecvContext{std::move(done)};
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                   UCP_OP_ATTR_FIELD_DATATYPE;
  p.cb.recv_am = recv_complete;
  p.user_data = ctx;
  p.datatype = ucp_dt_make_contig(1);
  ucs_status_ptr_t r = ucp_am_recv_data_nbx(worker_, desc, buf, len, &p);
  if (UCS_PTR_IS_PTR(r)) return;
  int err = UCS_PTR_IS_ERR(r) ? ucs_to_errno(UCS_PTR_STATUS(r)) : 0;
  ctx->done(err);
  delete ctx;
}

void Transport::discard(void* desc) { ucp_am_data_release(worker_, desc); }

void Transport::close_endpoints(std::chrono::nanoseconds bound) {
  in_progress_ = true;  // an endpoint failing meanwhile is closed at the end
  // Flush first, so replies and requests already handed to UCX arrive.
  struct Flush {
    ucp_ep_h ep;
    ucs_status_ptr_t req;
  };
  std::vector<Flush> flushes;
  for (int r = 0; r < size_; ++r) {
    ucp_ep_h ep = endpoints_[r];
    if (!ep) continue;
    endpoints_[r] = nullptr;
    if (peer_error(r)) {  // nothing will be delivered there
      doomed_.push_back(ep);
      continue;
    }
    ucp_request_param_t p{};
    flushes.push_back({ep, ucp_ep_flush_nbx(ep, &p)});
  }
  close_doomed();
  auto deadline = Clock::now() + bound;
  auto pending = [&] {
    for (auto& f : flushes)
      if (UCS_PTR_IS_PTR(f.req) && ucp_request_check_status(f.req) == UCS_INPROGRESS) return true;
    return false;
  };
  while (pending() && Clock::now() < deadline) ucp_worker_progress(worker_);

  // A flushed endpoint closes gracefully; one whose flush is still pending
  // (a stopped or dead peer) is force-closed, which cancels what it holds.
  std::vector<ucs_status_ptr_t> closing;
  for (auto& f : flushes) {
    bool flushed = true;
    if (UCS_PTR_IS_PTR(f.req)) {
      flushed = ucp_request_check_status(f.req) == UCS_OK;
      ucp_request_free(f.req);
    } else if (UCS_PTR_IS_ERR(f.req)) {
      flushed = false;
    }
    if (!flushed) {
      force_close(worker_, f.ep);
      continue;
    }
    ucp_request_param_t p{};
    ucs_status_ptr_t r = ucp_ep_close_nbx(f.ep, &p);
    if (UCS_PTR_IS_PTR(r)) closing.push_back(r);
  }
  // Closing a flushed endpoint needs no answer from the peer; the bound is
  // only a guard.
  deadline = Clock::now() + bound;
  auto closing_pending = [&] {
    for (auto r : closing)
      if (ucp_request_check_status(r) == UCS_INPROGRESS) return true;
    return false;
  };
  while (closing_pending() && Clock::now() < deadline) ucp_worker_progress(worker_);
  for (auto r : closing) {
    if (ucp_request_check_status(r) == UCS_INPROGRESS)
      log().warn("closing an endpoint did not finish within the shutdown bound");
    ucp_request_free(r);
  }
  in_progress_ = false;
  close_doomed();
}

}  // namespace benchfs
