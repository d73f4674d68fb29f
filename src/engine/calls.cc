#include "engine/calls.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "engine/intake.h"

namespace benchfs {

using Clock = std::chrono::steady_clock;

namespace {
void add_once(std::vector<int>& ranks, int rank) {
  if (std::find(ranks.begin(), ranks.end(), rank) == ranks.end()) ranks.push_back(rank);
}
}  // namespace

CallTracker::CallTracker(Transport& transport, Intake& intake, RankStats& stats,
                         std::chrono::nanoseconds timeout, uint64_t eager_threshold)
    : transport_(transport), intake_(intake), stats_(stats), timeout_(timeout),
      eager_threshold_(eager_threshold) {}

void CallTracker::start(Call* c) {
  c->id = ++next_id_;
  c->started = Clock::now();
  ++stats_.calls[static_cast<size_t>(c->op)];
  if (c->op == Opcode::kWrite) stats_.bytes_written += c->send_len;
  c->send_done = c->reply_done = c->receiving = c->abandoned = false;
  c->status = 0;
  c->recv_len = 0;
  if (c->target == transport_.rank()) {
    ++stats_.local_calls;
    c->send_done = true;
    intake_.serve_local(c);  // may complete c before returning: c is not touched after
    return;
  }
  ++stats_.remote_calls;
  c->deadline = Clock::now() + timeout_;
  in_flight_.emplace(c->id, c);
  MsgHeader h;
  h.opcode = static_cast<uint16_t>(c->op);
  h.src_rank = transport_.rank();
  h.req_id = c->id;
  const void* data = c->send_data;
  size_t len = c->send_len;
  h.data_len = len;
  c->peer_memory = false;
  if (transport_.same_host().direct(c->target)) {
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
    transport_.send(c->target, false, h, c->args, data, len, [this, id = c->id](int err) {
      if (!err) return;
      auto it = in_flight_.find(id);  // the call may be complete and gone
      if (it != in_flight_.end() && !it->second->receiving) fail_call(it->second, err);
    });
    return;
  }
  // A send error fails the call unless its reply is already in (UCX may
  // report the send after the reply) or the call was failed before.  To a
  // peer that is down this runs at once.
  transport_.send(c->target, false, h, c->args, data, len, [this, c](int err) {
    c->send_done = true;
    if (err && !c->reply_done && !c->receiving) return fail_call(c, err);
    maybe_complete(c);
  });
}

void CallTracker::on_reply(Incoming& in) {
  auto it = in_flight_.find(in.header.req_id);
  if (it == in_flight_.end() || it->second->receiving) {  // timed out or duplicate
    if (in.rndv_desc) transport_.discard(in.rndv_desc);
    return;
  }
  Call* c = it->second;
  c->status = in.header.status;
  c->reply_args = std::move(in.args);
  size_t len = in.header.data_len;
  if (len > c->recv_cap) {
    log().error("reply to {} carries {} bytes for a {}-byte buffer", opcode_name(c->op), len,
                c->recv_cap);
    if (in.rndv_desc) transport_.discard(in.rndv_desc);
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
  transport_.receive(in.rndv_desc, c->recv_buf, len, [this, c](int err) {
    c->receiving = false;
    if (c->abandoned) return maybe_complete(c);  // status set when it failed
    if (err) c->status = err;
    finish_reply(c);
  });
}

void CallTracker::local_reply_done(Call* c) {
  c->reply_done = true;
  maybe_complete(c);
}

void CallTracker::finish_reply(Call* c) {
  in_flight_.erase(c->id);
  c->reply_done = true;
  maybe_complete(c);
}

void CallTracker::maybe_complete(Call* c) {
  // Only when UCX holds neither of the caller's buffers.
  if (!c->send_done || !c->reply_done || c->receiving) return;
  size_t kind = static_cast<size_t>(c->op);
  auto ns = static_cast<uint64_t>(std::chrono::nanoseconds(Clock::now() - c->started).count());
  stats_.latency[kind].add(ns);
  stats_.by_reach[c->target == transport_.rank()                ? RankStats::kSelf
                  : transport_.same_host().on_host(c->target) ? RankStats::kThisHost
                                                               : RankStats::kOtherHost]
      .add(ns);
  if (c->op == Opcode::kRead && c->status == 0) stats_.bytes_read += c->recv_len;
  c->waiter->complete();  // c belongs to its caller now
}

// Fails a call that is still waiting for its reply.  The reply, should it
// come, is dropped (its id is no longer in flight).  The caller gets the call
// back once UCX has let go of its buffers: at once if the request was sent
// and no reply payload is being received, else from the UCX callback, which
// a force-closed endpoint guarantees (Transport::mark_down).
void CallTracker::fail_call(Call* c, int err) {
  in_flight_.erase(c->id);
  c->status = err;
  c->reply_done = true;
  c->abandoned = c->receiving;
  maybe_complete(c);
}

void CallTracker::fail_to(int rank, int err) {
  std::vector<Call*> failed;
  for (auto& [id, c] : in_flight_)
    if (c->target == rank) failed.push_back(c);
  for (Call* c : failed) fail_call(c, err);  // c may be gone after this
}

void CallTracker::poke_late_peers() {
  int poked[8];
  size_t n = 0;
  for (const auto& [id, c] : in_flight_) {
    if (std::find(poked, poked + n, c->target) != poked + n) continue;
    if (transport_.poke(c->target)) ++stats_.pokes;
    if (n < std::size(poked)) poked[n++] = c->target;
  }
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
void CallTracker::check_timeouts() {
  auto now = Clock::now();
  // A peer that has kept a call or reply waiting a while may have exited
  // (found at once off-host by UCX, on this host by its pid).
  const auto a_while = std::chrono::milliseconds(100);
  std::vector<int> waiting, stuck_replies;
  intake_.late_replies(now, a_while, &waiting, &stuck_replies);
  for (auto& [id, c] : in_flight_)
    if (now - c->started >= a_while) waiting.push_back(c->target);
  std::sort(waiting.begin(), waiting.end());
  waiting.erase(std::unique(waiting.begin(), waiting.end()), waiting.end());
  for (int rank : waiting) transport_.peer_gone(rank);

  std::vector<int> silent;
  for (auto& [id, c] : in_flight_)
    if (now >= c->deadline) add_once(silent, c->target);
  for (int rank : stuck_replies) add_once(silent, rank);
  for (int rank : silent) {
    log().error("rank {} did not answer within {:.1f} s: failing its calls", rank,
                std::chrono::duration<double>(timeout_).count());
    // A reply UCX still holds is freed only by closing the endpoint too.
    bool held = std::find(stuck_replies.begin(), stuck_replies.end(), rank) != stuck_replies.end();
    for (auto& [id, c] : in_flight_)
      if (c->target == rank && (!c->send_done || c->receiving)) held = true;
    fail_to(rank, ETIMEDOUT);
    transport_.mark_down(rank, ETIMEDOUT, held);
  }
}

}  // namespace benchfs
