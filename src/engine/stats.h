// Per-rank counters and latency histograms of the engine.  Only the thread
// in the engine's driver seat updates them (the driver lock orders those
// updates, so they need no atomics; copies that client threads make outside
// it are counted apart, in atomics, see Engine::count_direct), and they are
// read as snapshots taken in that seat (Engine::stats).
#pragma once

#include <cstdint>
#include <cstdio>

#include "rpc/message.h"

namespace benchfs {

// Latencies in log-spaced buckets: bucket i holds values below 2^((i+1)/4)
// ns, i.e. 19% wide, enough for medians and tails.
struct Histogram {
  static constexpr int kBuckets = 192;
  uint64_t count[kBuckets] = {};

  void add(uint64_t ns);
  void merge(const Histogram& other);
  uint64_t total() const;
  // Upper bound of the bucket holding the p-quantile (0 < p <= 1), in ns.
  double quantile(double p) const;
};

constexpr size_t kOpcodes = static_cast<size_t>(Opcode::kCount);

struct RankStats {
  uint64_t calls[kOpcodes] = {};    // requests this rank's clients sent, by kind
  uint64_t served[kOpcodes] = {};   // requests this rank's server handled, by kind
  uint64_t bytes_written = 0;       // payload of this rank's write requests
  uint64_t bytes_read = 0;          // payload of this rank's read replies
  uint64_t local_calls = 0;         // requests served by this rank itself
  uint64_t remote_calls = 0;        // requests that crossed UCX
  uint64_t direct_copies = 0;       // chunk pieces copied into or out of a same-host
  uint64_t direct_bytes = 0;        // server's backing file by this rank's clients
  // How callers waited: batches whose replies all came in while the caller
  // drove the worker itself, batches for which it slept (another thread
  // drove, or the replies took longer than BENCHFS_SPIN_US), and times the
  // progress thread woke from its sleep; peers woken for a late reply
  // (Transport::poke).
  uint64_t batches_driven = 0;
  uint64_t batches_slept = 0;
  uint64_t progress_wakeups = 0;
  uint64_t pokes = 0;
  Histogram latency[kOpcodes];      // submit to completion, by kind
  // The same, by where the server is: this rank, another rank of this host,
  // another host (UCX over the network, no same-host shortcut).
  enum Reach { kSelf, kThisHost, kOtherHost, kReaches };
  Histogram by_reach[kReaches];

  void merge(const RankStats& other);
};

// Writes a summary line of s to out, and with `table` a line per request
// kind with counts and latency percentiles.
void print_stats(FILE* out, const RankStats& s, const char* title, bool table);

}  // namespace benchfs
