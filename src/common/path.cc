#include "common/path.h"

#include <cerrno>
#include <climits>
#include <vector>

namespace benchfs {

int normalize_path(std::string_view path, std::string* out, bool* dir_only) {
  // As Linux: an empty path names nothing (ENOENT); a relative one has no
  // working directory to start from inside BenchFS (EINVAL).
  if (path.empty()) return ENOENT;
  if (path[0] != '/') return EINVAL;
  if (path.size() >= PATH_MAX) return ENAMETOOLONG;
  std::vector<std::string_view> parts;
  bool last_names_dir = false;  // the path so far ends in "/", "." or ".."
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t start = i;
    while (i < path.size() && path[i] != '/') ++i;
    std::string_view part = path.substr(start, i - start);
    last_names_dir = part.empty() || part == "." || part == ".." || i < path.size();
    if (part.empty() || part == ".") continue;
    if (part.size() > NAME_MAX) return ENAMETOOLONG;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string result;
  result.reserve(path.size());
  for (auto p : parts) {
    result += '/';
    result += p;
  }
  if (result.empty()) result.push_back('/');
  *out = std::move(result);
  if (dir_only) *dir_only = last_names_dir;
  return 0;
}

int parse_mount(std::string_view value, std::string* mount) {
  std::string m;
  if (normalize_path(value, &m) != 0 || m == "/") return EINVAL;
  *mount = std::move(m);
  return 0;
}

bool under_mount(std::string_view path, std::string_view mount, std::string* inside) {
  if (path.size() < mount.size() || path.compare(0, mount.size(), mount) != 0) return false;
  if (path.size() == mount.size()) {
    if (inside) *inside = "/";
    return true;
  }
  if (path[mount.size()] != '/') return false;
  if (inside) inside->assign(path.substr(mount.size()));
  return true;
}

std::string parent_path(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return p.substr(0, slash);
}

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  if (slash == std::string::npos) return p;
  return p.substr(slash + 1);
}

int follow_link(const std::string& path, const std::string& link, const std::string& target,
                std::string* out) {
  bool is_prefix = path.compare(0, link.size(), link) == 0 &&
                   (path.size() == link.size() || path[link.size()] == '/');
  if (link == "/" || !is_prefix || target.empty()) return EINVAL;
  std::string joined = target[0] == '/' ? target : parent_path(link) + "/" + target;
  joined.append(path, link.size());
  return normalize_path(joined, out);
}

}  // namespace benchfs
