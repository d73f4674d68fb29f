#include "store/metadata_table.h"

#include "common/path.h"

namespace benchfs {

Attr* MetadataTable::find(const std::string& path) {
  auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second;
}

Attr& MetadataTable::insert(const std::string& path, const Attr& attr, std::string link_target) {
  if (path != "/") children_[parent_path(path)][base_name(path)] = DirEntry{attr.mode, attr.id};
  if (attr.is_link()) link_targets_[path] = std::move(link_target);
  return entries_.emplace(path, attr).first->second;
}

const std::string& MetadataTable::link_target(const std::string& path) const {
  static const std::string kNone;
  auto it = link_targets_.find(path);
  return it == link_targets_.end() ? kNone : it->second;
}

void MetadataTable::erase(const std::string& path) {
  if (entries_.erase(path) == 0 || path == "/") return;
  link_targets_.erase(path);
  auto it = children_.find(parent_path(path));
  if (it == children_.end()) return;
  it->second.erase(base_name(path));
  if (it->second.empty()) children_.erase(it);
}

bool MetadataTable::has_children(const std::string& dir) const {
  auto it = children_.find(dir);
  return it != children_.end() && !it->second.empty();
}

bool MetadataTable::fence(const std::string& dir, uint64_t dir_id) {
  if (has_children(dir)) return false;
  ++fences_[dir_id];
  return true;
}

void MetadataTable::unfence(uint64_t dir_id) {
  auto it = fences_.find(dir_id);
  if (it != fences_.end() && --it->second == 0) fences_.erase(it);
}

}  // namespace benchfs
