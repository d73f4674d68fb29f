// Tests of src/common/size.h: the one size parser, used by the BENCHFS_*
// variables (config.cc) and by benchfs-bench's options.
#include "common/size.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace benchfs {
namespace {

std::optional<uint64_t> some(uint64_t v) { return v; }

}  // namespace

TEST_CASE("parse_size: plain numbers") {
  CHECK(parse_size("0") == some(0));
  CHECK(parse_size("1") == some(1));
  CHECK(parse_size("4096") == some(4096));
  CHECK(parse_size("007") == some(7));
  CHECK(parse_size("000") == some(0));
  CHECK(parse_size("18446744073709551615") == some(std::numeric_limits<uint64_t>::max()));
}

TEST_CASE("parse_size: k, m, g, t are powers of 1024, either case") {
  CHECK(parse_size("64k") == some(64ULL << 10));
  CHECK(parse_size("64K") == some(64ULL << 10));
  CHECK(parse_size("1m") == some(1ULL << 20));
  CHECK(parse_size("1M") == some(1ULL << 20));
  CHECK(parse_size("256m") == some(256ULL << 20));
  CHECK(parse_size("2g") == some(2ULL << 30));
  CHECK(parse_size("2G") == some(2ULL << 30));
  CHECK(parse_size("3t") == some(3ULL << 40));
  CHECK(parse_size("3T") == some(3ULL << 40));
  CHECK(parse_size("0k") == some(0));
  CHECK(parse_size("0t") == some(0));
  CHECK(parse_size("47008") == some(47008));
}

TEST_CASE("parse_size: a b or B after the multiplier changes nothing") {
  CHECK(parse_size("1MB") == some(1ULL << 20));
  CHECK(parse_size("1mb") == some(1ULL << 20));
  CHECK(parse_size("1Mb") == some(1ULL << 20));
  CHECK(parse_size("8kb") == some(8ULL << 10));
  CHECK(parse_size("8KB") == some(8ULL << 10));
  CHECK(parse_size("2gB") == some(2ULL << 30));
  CHECK(parse_size("1TB") == some(1ULL << 40));
}

TEST_CASE("parse_size: rejects empty and malformed input") {
  for (const char* bad :
       {"", "k", "m", "b", "B", "mb", "abc", "-1", "+1", " 1", "1 ", "1 m", "1m ", "\t1", "1\n",
        "1.5m", "1,000", "1_000", "0x10", "1e3", "1x", "1p", "1kk", "1km", "1mbb", "1mB2", "1b",
        "1B", "1bk", "12k3", "1mi", "1mib", "1MiB", "1kib", "k1", "m1", "１"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(parse_size(bad).has_value());
  }
  // The whole view counts: a NUL inside is garbage, not an end.
  CHECK_FALSE(parse_size(std::string_view("1\0", 2)).has_value());
  CHECK_FALSE(parse_size(std::string_view("1k\0", 3)).has_value());
  // A view that stops before the garbage of its buffer is fine.
  CHECK(parse_size(std::string_view("64kXYZ", 3)) == some(64ULL << 10));
  // Bytes with the high bit set (a signed char below '0').
  CHECK_FALSE(parse_size("\xb1").has_value());
  CHECK_FALSE(parse_size("1\xff").has_value());
}

TEST_CASE("parse_size: rejects overflow, of the digits and after the multiplier") {
  CHECK_FALSE(parse_size("18446744073709551616").has_value());
  CHECK_FALSE(parse_size("99999999999999999999999").has_value());
  CHECK_FALSE(parse_size("18446744073709551616k").has_value());
  // 2^54 kibibytes = 2^64 bytes: one too many.
  CHECK_FALSE(parse_size("18014398509481984k").has_value());
  CHECK(parse_size("18014398509481983k") == some(18014398509481983ULL << 10));
  // 2^44 mebibytes, 2^34 gibibytes, 2^24 tebibytes = 2^64 bytes.
  CHECK_FALSE(parse_size("17592186044416m").has_value());
  CHECK(parse_size("17592186044415m") == some(17592186044415ULL << 20));
  CHECK_FALSE(parse_size("17179869184g").has_value());
  CHECK(parse_size("17179869183g") == some(17179869183ULL << 30));
  CHECK_FALSE(parse_size("16777216t").has_value());
  CHECK_FALSE(parse_size("16777216TB").has_value());
  CHECK(parse_size("16777215t") == some(16777215ULL << 40));
}

}  // namespace benchfs
