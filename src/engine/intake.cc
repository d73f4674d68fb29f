#include "engine/intake.h"

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace benchfs {

using Clock = std::chrono::steady_clock;

namespace {

// Whether it is `margin` or more before the deadline a same-host client put
// in a kFlagPeerMemory request (CLOCK_MONOTONIC, the same in every process
// of the host).
bool before_deadline(const MsgHeader& h, std::chrono::nanoseconds margin) {
  return Clock::now().time_since_epoch() + margin < std::chrono::nanoseconds(h.deadline_ns);
}

}  // namespace

Intake::Intake(Transport& transport, Service& service, std::chrono::nanoseconds timeout)
    : transport_(transport), service_(service), timeout_(timeout) {}

Intake::~Intake() {
  for (ServerOp* op : spare_ops_) delete op;
}

void Intake::serve_local(Call* c) {
  ServerOp* op = new_op();
  op->header.opcode = static_cast<uint16_t>(c->op);
  op->header.src_rank = transport_.rank();
  op->header.req_id = c->id;
  op->args = c->args;
  op->in_data = static_cast<const char*>(c->send_data);
  op->in_len = c->send_len;
  op->local = c;
  service_.handle(op);  // may complete c before returning
}

void Intake::on_request(Incoming& in) {
  ServerOp* op = new_op();
  op->header = in.header;
  op->args = std::move(in.args);
  if (op->header.flags & kFlagPeerMemory) return serve_peer_memory(op);
  if (!in.rndv_desc) {
    op->storage.assign(in.eager.begin(), in.eager.end());  // keeps a recycled buffer
    op->in_data = op->storage.data();
    op->in_len = op->storage.size();
    service_.handle(op);
    return;
  }
  if (int err = service_.admit(op->header, in.header.data_len)) {
    // Refused before its payload is fetched: a garbage header must not make
    // the server allocate the size it declares.
    transport_.discard(in.rndv_desc);
    op->status = err;
    finish(op);
    return;
  }
  op->storage.resize(in.header.data_len);
  op->in_data = op->storage.data();
  op->in_len = op->storage.size();
  transport_.receive(in.rndv_desc, op->storage.data(), op->storage.size(), [this, op](int err) {
    if (err) {
      op->status = err;
      op->storage.clear();
      op->in_data = nullptr;
      op->in_len = 0;
      finish(op);
      return;
    }
    service_.handle(op);
  });
}

// A request whose payload stays in the client's memory: its write data is
// copied from there before it is served (its reply payload is copied there
// in finish).  Only from a direct peer, only before the client gives up.
void Intake::serve_peer_memory(ServerOp* op) {
  const MsgHeader& h = op->header;
  const SameHost& host = transport_.same_host();
  int err = host.direct(h.src_rank) ? service_.admit(h, h.data_len) : EPROTO;
  if (!err && !before_deadline(h, std::chrono::nanoseconds(0))) err = ETIMEDOUT;
  if (!err && h.data_len) {
    op->storage.resize(h.data_len);
    if (int e = host.pull(h.src_rank, h.peer_addr, op->storage.data(), h.data_len)) {
      log().error("cannot read a request's payload from rank {}'s memory: {}", h.src_rank,
                  std::strerror(e));
      err = EIO;
    }
  }
  if (err) {
    op->status = err;
    op->header.flags = 0;  // nothing to copy back
    return finish(op);
  }
  op->in_data = op->storage.data();
  op->in_len = op->storage.size();
  service_.handle(op);
}

ServerOp* Intake::new_op() {
  if (spare_ops_.empty()) return new ServerOp;
  ServerOp* op = spare_ops_.back();
  spare_ops_.pop_back();
  return op;
}

// Keeps a few finished requests with their payload buffers: a chunk-sized
// buffer freed and allocated again per request costs an mmap, a page fault
// per page and an munmap (measured: most of a 1 MiB write's time with the
// memory backend).  At most kSpareOps: a bounded part of the footprint.
void Intake::recycle(ServerOp* op) {
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

void Intake::finish(ServerOp* op) {
  if (Call* c = op->local) {
    op->deliver_to_local();
    recycle(op);
    on_local_done(c);
    return;
  }
  MsgHeader h;
  h.opcode = op->header.opcode;
  h.src_rank = transport_.rank();
  h.req_id = op->header.req_id;
  const char* data = op->out_data;
  size_t len = op->status == 0 ? op->out_len : 0;
  if ((op->header.flags & kFlagPeerMemory) && len) {
    // Into the client's buffer, unless the client may have given up on it
    // (a margin before its deadline: it returns the buffer to the
    // application then).
    bool late = !before_deadline(op->header, timeout_ / 4);
    int err = late ? ETIMEDOUT
                   : transport_.same_host().push(op->header.src_rank, data, len,
                                                 op->header.peer_addr);
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
  transport_.send(op->header.src_rank, true, h, op->reply_args, data, len, [this, op](int) {
    replies_.erase(op);
    recycle(op);
  });
}

void Intake::late_replies(Clock::time_point now, std::chrono::nanoseconds a_while,
                          std::vector<int>* waiting, std::vector<int>* stuck) const {
  for (auto& [op, r] : replies_) {
    if (r.deadline - timeout_ + a_while <= now) waiting->push_back(r.dest);
    if (now >= r.deadline) stuck->push_back(r.dest);
  }
}

}  // namespace benchfs
