// Sizes as people write them: "4096", "64k", "1m", "2G", "1MB".  The one
// parser of the library's BENCHFS_* variables and of benchfs-bench's
// options, so a size means the same everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace benchfs {

// Decimal digits, then optionally one of k, m, g, t (either case; powers
// of 1024), which may be followed by b or B ("1MB", "8kb": still powers of
// 1024, as IOR reads them).  Nothing else: no sign, no spaces, no fraction,
// no "b" without a multiplier.  nullopt for the empty string, anything
// malformed and any value above UINT64_MAX (also after the multiplier).
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace benchfs
