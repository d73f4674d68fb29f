// Logging through spdlog; every line carries the rank.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace benchfs {

// Sets up the "benchfs" logger for this rank at the given level name.
void init_logging(int rank, const std::string& level);

spdlog::logger& log();

}  // namespace benchfs
