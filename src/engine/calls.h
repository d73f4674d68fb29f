// The client half of the engine: the calls this rank sent, matched with
// their replies by request id, and failed when their server dies or does
// not answer within the RPC timeout.  Used only by the thread in the
// engine's driver seat.
#pragma once

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/call.h"
#include "engine/stats.h"
#include "rpc/transport.h"

namespace benchfs {

class Intake;

class CallTracker {
 public:
  CallTracker(Transport& transport, Intake& intake, RankStats& stats,
              std::chrono::nanoseconds timeout, uint64_t eager_threshold);

  // Sends the call (to this rank's own server without UCX).  It may
  // complete before this returns: c is not touched after.
  void start(Call* c);
  // A reply message from the transport's inbox.
  void on_reply(Incoming& in);
  // A call served by this rank's own server got its reply.
  void local_reply_done(Call* c);
  // Fails every call in flight to `rank` with err.
  void fail_to(int rank, int err);
  // Finds servers that exited or stopped answering (calls in flight and
  // the intake's replies) and fails their calls; see the definition.
  void check_timeouts();
  // Wakes the progress threads of peers that owe replies (Transport::poke).
  void poke_late_peers();
  bool none_in_flight() const { return in_flight_.empty(); }

 private:
  void finish_reply(Call* c);
  void maybe_complete(Call* c);
  void fail_call(Call* c, int err);

  Transport& transport_;
  Intake& intake_;
  RankStats& stats_;
  std::chrono::nanoseconds timeout_;
  uint64_t eager_threshold_;
  uint64_t next_id_ = 0;
  std::unordered_map<uint64_t, Call*> in_flight_;
};

}  // namespace benchfs
