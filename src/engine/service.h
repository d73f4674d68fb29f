// What the engine serves requests with (the rank's Server, server/server.h),
// and the request it hands over.  The engine sits below the server: it knows
// a request's header and buffers, never what an opcode means.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "engine/call.h"
#include "rpc/message.h"

namespace benchfs {

// One request being served.  The engine creates it (from a UCX message or,
// for the caller's own rank, straight from the client's Call) and the
// service hands it back through its Finish with the reply filled in.
struct ServerOp {
  MsgHeader header;  // opcode, src_rank, req_id of the request
  std::string args;
  const char* in_data = nullptr;  // request payload
  size_t in_len = 0;

  int status = 0;  // reply
  std::string reply_args;
  char* out_data = nullptr;  // reply payload
  size_t out_len = 0;

  Bytes storage;          // owns payload bytes when they are not the client's
  Call* local = nullptr;  // the caller's Call when it is on this rank

  Opcode opcode() const { return static_cast<Opcode>(header.opcode); }
  // Buffer for a reply payload of len bytes: the local caller's own buffer
  // when it fits (no copy), else storage.
  char* reply_buffer(size_t len) {
    if (local && local->recv_buf && len <= local->recv_cap)
      return static_cast<char*>(local->recv_buf);
    storage.resize(len);
    return storage.data();
  }
  // Hands the reply to the local caller's Call (status, reply arguments,
  // payload); the op may then be recycled.
  void deliver_to_local() {
    local->status = status;
    local->reply_args = std::move(reply_args);
    if (status == 0 && out_len) {
      if (out_len > local->recv_cap) {
        local->status = EPROTO;
      } else {
        if (out_data != local->recv_buf) std::memcpy(local->recv_buf, out_data, out_len);
        local->recv_len = out_len;
      }
    }
  }
};

class Service {
 public:
  using Finish = std::function<void(ServerOp*)>;
  virtual ~Service() = default;

  // Where every request goes back once its reply is filled in (set once,
  // by the engine, before the first request).
  virtual void set_finish(Finish finish) = 0;
  // Whether a request with this header and payload size may be served: 0
  // or the errno to reply.  The engine asks before it fetches a rendezvous
  // payload, so a garbage header cannot make it allocate what it declares.
  virtual int admit(const MsgHeader& header, size_t payload_len) const = 0;
  // Serves one request and hands it back exactly once through Finish, now
  // or after its I/O completes (in poll()).
  virtual void handle(ServerOp* op) = 0;
  // Completions of the service's own I/O: an eventfd that becomes readable
  // when poll() has work (-1: none), and poll(), which runs them and
  // returns how many ran.
  virtual int event_fd() const = 0;
  virtual unsigned poll() = 0;
  // The calling thread (the progress thread, which outlives every request)
  // is the one that submits and reaps the service's asynchronous I/O.
  virtual void set_owner_thread() = 0;
  // Requests served, by opcode.
  virtual uint64_t served(Opcode op) const = 0;
  // Whether the store keeps backing files that same-host clients may open.
  virtual bool offers_backing_files() const = 0;
};

}  // namespace benchfs
