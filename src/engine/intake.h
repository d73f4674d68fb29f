// The server half of the engine: requests from peers (and from this rank's
// own clients) handed to the Service, their payloads fetched, their
// replies sent, and finished requests kept for reuse.  Used only by the
// thread in the engine's driver seat.
#pragma once

#include <chrono>
#include <functional>
#include <unordered_map>
#include <vector>

#include "engine/call.h"
#include "engine/service.h"
#include "engine/stats.h"
#include "rpc/transport.h"

namespace benchfs {

class Intake {
 public:
  Intake(Transport& transport, Service& service, std::chrono::nanoseconds timeout);
  ~Intake();

  // Where a request of this rank's own client goes once served.
  std::function<void(Call*)> on_local_done;

  // A request message from the transport's inbox.
  void on_request(Incoming& in);
  // Local fast path: serves the caller's own call without UCX; a read lands
  // straight in the caller's buffer.
  void serve_local(Call* c);
  // The service hands a request back here with its reply filled in.
  void finish(ServerOp* op);
  // Peers owed a reply sent more than `a_while` ago (*waiting) and those
  // whose reply is past its deadline (*stuck): they may have stopped.
  void late_replies(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds a_while,
                    std::vector<int>* waiting, std::vector<int>* stuck) const;
  bool no_replies_in_flight() const { return replies_.empty(); }

 private:
  void serve_peer_memory(ServerOp* op);
  ServerOp* new_op();
  void recycle(ServerOp* op);

  Transport& transport_;
  Service& service_;
  std::chrono::nanoseconds timeout_;
  // Replies this server is sending, with the time each must be taken by.
  // One that is not means the peer stopped, died, or holds a stale half of
  // the connection (after we force-closed ours): either way it is put down
  // like a peer that does not answer, which also frees the reply.
  struct ReplyInFlight {
    int dest;
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<ServerOp*, ReplyInFlight> replies_;
  std::vector<ServerOp*> spare_ops_;  // finished requests kept with their buffers
};

}  // namespace benchfs
