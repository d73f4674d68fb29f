#include "engine/stats.h"

#include <cmath>

namespace benchfs {

void Histogram::add(uint64_t ns) {
  int i = ns <= 1 ? 0 : static_cast<int>(4.0 * std::log2(static_cast<double>(ns)));
  if (i >= kBuckets) i = kBuckets - 1;
  ++count[i];
}

void Histogram::merge(const Histogram& o) {
  for (int i = 0; i < kBuckets; ++i) count[i] += o.count[i];
}

uint64_t Histogram::total() const {
  uint64_t n = 0;
  for (uint64_t c : count) n += c;
  return n;
}

double Histogram::quantile(double p) const {
  uint64_t n = total();
  if (n == 0) return 0;
  uint64_t want = static_cast<uint64_t>(std::ceil(p * static_cast<double>(n)));
  if (want == 0) want = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += count[i];
    if (seen >= want) return std::exp2((i + 1) / 4.0);
  }
  return std::exp2(kBuckets / 4.0);
}

void RankStats::merge(const RankStats& o) {
  for (size_t k = 0; k < kOpcodes; ++k) {
    calls[k] += o.calls[k];
    served[k] += o.served[k];
    latency[k].merge(o.latency[k]);
  }
  for (int r = 0; r < kReaches; ++r) by_reach[r].merge(o.by_reach[r]);
  bytes_written += o.bytes_written;
  bytes_read += o.bytes_read;
  local_calls += o.local_calls;
  remote_calls += o.remote_calls;
  direct_copies += o.direct_copies;
  direct_bytes += o.direct_bytes;
  batches_driven += o.batches_driven;
  batches_slept += o.batches_slept;
  progress_wakeups += o.progress_wakeups;
  pokes += o.pokes;
}

void print_stats(FILE* out, const RankStats& s, const char* title, bool table) {
  std::fprintf(out, "%s: %llu requests sent (%llu local, %llu remote), %.1f MiB written, "
               "%.1f MiB read\n", title,
               static_cast<unsigned long long>(s.local_calls + s.remote_calls),
               static_cast<unsigned long long>(s.local_calls),
               static_cast<unsigned long long>(s.remote_calls), s.bytes_written / 1048576.0,
               s.bytes_read / 1048576.0);
  if (s.direct_copies)
    std::fprintf(out, "  direct: %llu pieces, %.1f MiB copied into or out of same-host servers' "
                 "files without a request\n",
                 static_cast<unsigned long long>(s.direct_copies), s.direct_bytes / 1048576.0);
  std::fprintf(out, "  callers: %llu batches completed while driving, %llu slept; progress thread "
               "woke %llu times; %llu peers woken for late replies\n",
               static_cast<unsigned long long>(s.batches_driven),
               static_cast<unsigned long long>(s.batches_slept),
               static_cast<unsigned long long>(s.progress_wakeups),
               static_cast<unsigned long long>(s.pokes));
  if (!table) return;
  static const char* const kReachNames[RankStats::kReaches] = {"this rank", "this host", "other hosts"};
  for (int r = 0; r < RankStats::kReaches; ++r) {
    const Histogram& h = s.by_reach[r];
    if (!h.total()) continue;
    std::fprintf(out, "  served by %-11s %10llu requests, p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
                 kReachNames[r], static_cast<unsigned long long>(h.total()), h.quantile(0.5) / 1e3,
                 h.quantile(0.99) / 1e3, h.quantile(0.999) / 1e3);
  }
  std::fprintf(out, "  %-14s %10s %10s %10s %10s\n", "request", "sent", "served", "p50 us",
               "p99 us");
  for (size_t k = 1; k < kOpcodes; ++k) {
    if (!s.calls[k] && !s.served[k]) continue;
    std::fprintf(out, "  %-14s %10llu %10llu %10.1f %10.1f\n",
                 opcode_name(static_cast<Opcode>(k)), static_cast<unsigned long long>(s.calls[k]),
                 static_cast<unsigned long long>(s.served[k]), s.latency[k].quantile(0.5) / 1e3,
                 s.latency[k].quantile(0.99) / 1e3);
  }
}

}  // namespace benchfs
