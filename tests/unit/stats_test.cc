// Tests of src/engine/stats.h: histogram quantiles and merging.
#include "engine/stats.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

namespace benchfs {

TEST_CASE("Histogram quantiles land within a bucket (19%) of the truth") {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.add(v * 1000);  // 1 us .. 1 ms
  CHECK(h.total() == 1000);
  double p50 = h.quantile(0.5), p99 = h.quantile(0.99);
  CHECK(p50 >= 500e3);
  CHECK(p50 <= 500e3 * 1.2);
  CHECK(p99 >= 990e3);
  CHECK(p99 <= 990e3 * 1.2);
  CHECK(Histogram{}.quantile(0.5) == 0);
  Histogram huge;
  huge.add(~0ULL);  // clamps into the last bucket
  CHECK(huge.total() == 1);
}

TEST_CASE("RankStats merge adds everything") {
  RankStats a, b;
  a.calls[static_cast<size_t>(Opcode::kWrite)] = 3;
  b.calls[static_cast<size_t>(Opcode::kWrite)] = 4;
  a.bytes_written = 10;
  b.bytes_written = 5;
  b.remote_calls = 7;
  a.latency[1].add(1000);
  b.latency[1].add(2000);
  a.merge(b);
  CHECK(a.calls[static_cast<size_t>(Opcode::kWrite)] == 7);
  CHECK(a.bytes_written == 15);
  CHECK(a.remote_calls == 7);
  CHECK(a.latency[1].total() == 2);
  char buf[4096] = {};
  FILE* f = fmemopen(buf, sizeof buf, "w");
  print_stats(f, a, "test", true);
  std::fclose(f);
  std::string text(buf);
  CHECK(text.find("write") != std::string::npos);
  CHECK(text.find("7 remote") != std::string::npos);
}

}  // namespace benchfs
