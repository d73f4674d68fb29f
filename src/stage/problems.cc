#include "stage/problems.h"

#include <cstring>

#include "common/log.h"

namespace benchfs::stage {

void Problems::report(const std::string& path, int err, const char* what) {
  std::lock_guard<std::mutex> guard(mutex_);
  if (count_++ == 0) first_errno_ = err;
  if (count_ > kMaxLogged) return;
  const char* name = strerrorname_np(err);
  std::string text = fmt::format("{}: {}: {}: {} ({})", stage_, path, what, std::strerror(err),
                                 name ? name : "?");
  if (count_ == kMaxLogged) text += "; further problems of this rank are only counted";
  if (as_warnings_)
    log().warn("{}", text);
  else
    log().error("{}", text);
}

}  // namespace benchfs::stage
