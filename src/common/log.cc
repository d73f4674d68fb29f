#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace benchfs {

namespace {
std::shared_ptr<spdlog::logger> g_logger;
}

void init_logging(int rank, const std::string& level) {
  if (!g_logger) g_logger = std::make_shared<spdlog::logger>(
      "benchfs", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  g_logger->set_pattern("[benchfs %l rank " + std::to_string(rank) + "] %v");
  g_logger->set_level(spdlog::level::from_str(level));
}

spdlog::logger& log() {
  if (!g_logger) init_logging(-1, "warn");
  return *g_logger;
}

}  // namespace benchfs
