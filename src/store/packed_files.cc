#include "store/packed_files.h"

#include <algorithm>
#include <cerrno>

#include "common/placement.h"
#include "common/striping.h"

namespace benchfs {

PackedFiles::PackedFiles(const PackedLayout& layout)
    : layout_(layout),
      small_(true, layout.max_arena_bytes / layout.small_bytes),
      large_(layout.reuse_extents, layout.max_large_bytes / layout.extent_bytes) {}

uint64_t PackedFiles::local(uint64_t offset) const {
  return local_offset(offset, layout_.chunk_size, layout_.nservers);
}

int PackedFiles::extent_of(File& f, uint64_t e, bool create, uint64_t* number) {
  auto it = std::lower_bound(f.extents.begin(), f.extents.end(), std::make_pair(e, uint64_t{0}));
  if (it != f.extents.end() && it->first == e) {
    *number = it->second;
    return 0;
  }
  if (!create) return ENOENT;
  if (!large_.allocate(number)) return ENOSPC;
  f.extents.insert(it, {e, *number});
  return 0;
}

int PackedFiles::begin_move(uint64_t id, ArenaSpan* from, ArenaSpan* move_to) {
  File& f = files_.at(id);
  uint64_t number;
  if (!large_.allocate(&number)) return ENOSPC;
  f.extents.assign(1, {0, number});
  // A small file's bytes all lie in the first chunk held here, whose end
  // is also their local end.
  uint64_t end = f.chunk_ends.empty() ? 0 : f.chunk_ends.front().second;
  *from = {Arena::kSmall, f.small_slot * layout_.small_bytes, layout_.small_bytes};
  *move_to = {Arena::kLarge, number * layout_.extent_bytes, end};
  return 0;
}

void PackedFiles::end_move(uint64_t id, bool copied) {
  File& f = files_.at(id);
  if (copied) {
    small_.release(f.small_slot);
    f.small_slot = kNone;
  } else {
    large_.release(f.extents.front().second);
    f.extents.clear();
  }
}

bool PackedFiles::needs_move(uint64_t id, uint64_t offset, uint64_t len) const {
  return in_small_slot(id) && local(offset) + len > layout_.small_bytes;
}

int PackedFiles::place_write(uint64_t id, uint64_t offset, uint64_t len, ArenaSpan* at) {
  if (needs_move(id, offset, len)) return EAGAIN;
  auto [it, created] = files_.try_emplace(id);
  File& f = it->second;
  uint64_t l = local(offset);
  int err = 0;
  if (!f.large() && l + len <= layout_.small_bytes) {
    if (f.small_slot != kNone || small_.allocate(&f.small_slot)) {
      *at = {Arena::kSmall, f.small_slot * layout_.small_bytes + l, len};
      return 0;
    }
    err = ENOSPC;
  } else {
    uint64_t number = 0;
    err = extent_of(f, l / layout_.extent_bytes, true, &number);
    if (!err) {
      *at = {Arena::kLarge, number * layout_.extent_bytes + l % layout_.extent_bytes, len};
      return 0;
    }
  }
  if (created) files_.erase(it);  // a refused write leaves nothing behind
  return err;
}

void PackedFiles::place_read(uint64_t id, uint64_t offset, uint64_t len, ArenaSpan* at) const {
  at->length = 0;
  auto it = files_.find(id);
  if (it == files_.end()) return;
  const File& f = it->second;
  uint64_t l = local(offset);
  if (!f.large()) {
    if (f.small_slot == kNone || l >= layout_.small_bytes) return;
    *at = {Arena::kSmall, f.small_slot * layout_.small_bytes + l,
           std::min(len, layout_.small_bytes - l)};
    return;
  }
  uint64_t e = l / layout_.extent_bytes;
  auto x = std::lower_bound(f.extents.begin(), f.extents.end(), std::make_pair(e, uint64_t{0}));
  if (x == f.extents.end() || x->first != e) return;
  *at = {Arena::kLarge, x->second * layout_.extent_bytes + l % layout_.extent_bytes, len};
}

int PackedFiles::direct_extent(uint64_t id, uint64_t offset, bool create, Extent* extent) {
  auto it = files_.find(id);
  bool created = false;
  if (it == files_.end()) {
    if (!create) return ENOENT;
    it = files_.try_emplace(id).first;
    created = true;
  }
  File& f = it->second;
  // Small here: its bytes may still move (with `create`, move them first).
  if (!f.large() && f.small_slot != kNone) return EAGAIN;
  uint64_t e = local(offset) / layout_.extent_bytes, number = 0;
  if (int err = extent_of(f, e, create, &number)) {
    if (created) files_.erase(it);
    return err;
  }
  *extent = {e * layout_.extent_bytes, number * layout_.extent_bytes, layout_.extent_bytes};
  return 0;
}

uint64_t PackedFiles::growth(uint64_t id, uint64_t offset, uint64_t len) const {
  uint64_t index = offset / layout_.chunk_size;
  uint64_t end = offset % layout_.chunk_size + len, have = 0;
  auto it = files_.find(id);
  if (it != files_.end()) {
    const auto& ends = it->second.chunk_ends;
    auto c = std::lower_bound(ends.begin(), ends.end(), std::make_pair(index, uint64_t{0}));
    if (c != ends.end() && c->first == index) have = c->second;
  }
  return end > have ? end - have : 0;
}

void PackedFiles::record_write(uint64_t id, uint64_t offset, uint64_t stored) {
  if (stored == 0) return;
  auto it = files_.find(id);
  if (it == files_.end()) return;
  auto& ends = it->second.chunk_ends;
  uint64_t index = offset / layout_.chunk_size;
  uint64_t end = offset % layout_.chunk_size + stored;
  auto c = std::lower_bound(ends.begin(), ends.end(), std::make_pair(index, uint64_t{0}));
  if (c == ends.end() || c->first != index) c = ends.insert(c, {index, 0});
  if (end > c->second) {
    used_ += end - c->second;
    c->second = end;
  }
}

void PackedFiles::drop_chunk_ends(File& f, uint64_t size) {
  uint64_t cs = layout_.chunk_size;
  auto& ends = f.chunk_ends;
  auto keep = std::remove_if(ends.begin(), ends.end(), [&](const auto& c) {
    if (c.first * cs >= size) {
      used_ -= c.second;
      return true;
    }
    return false;
  });
  ends.erase(keep, ends.end());
  if (size % cs && !ends.empty() && ends.back().first == size / cs &&
      ends.back().second > size % cs) {
    used_ -= ends.back().second - size % cs;
    ends.back().second = size % cs;
  }
}

void PackedFiles::truncate(uint64_t id, uint64_t size, std::vector<ArenaSpan>* punch) {
  auto it = files_.find(id);
  if (it == files_.end()) return;
  File& f = it->second;
  drop_chunk_ends(f, size);
  uint64_t first = first_chunk_on(id, layout_.rank, layout_.nservers);
  uint64_t cut = local_end(size, first, layout_.chunk_size, layout_.nservers);
  if (!f.large()) {
    uint64_t small = layout_.small_bytes;
    if (f.small_slot != kNone && cut < small)
      punch->push_back({Arena::kSmall, f.small_slot * small + cut, small - cut});
    if (cut == 0 && f.small_slot != kNone) {
      small_.release(f.small_slot);
      f.small_slot = kNone;
    }
    if (f.small_slot == kNone) files_.erase(it);
    return;
  }
  uint64_t extent = layout_.extent_bytes;
  for (auto& [e, number] : f.extents) {
    uint64_t start = e * extent;
    if (start + extent <= cut) continue;
    if (start >= cut) {
      punch->push_back({Arena::kLarge, number * extent, extent});
      if (layout_.reuse_extents) {
        large_.release(number);
        number = kNone;
      }
    } else {
      punch->push_back({Arena::kLarge, number * extent + (cut - start), start + extent - cut});
    }
  }
  std::erase_if(f.extents, [](const auto& x) { return x.second == kNone; });
  // Only where extents are reused can they all be gone; then so is the file.
  if (!f.large()) files_.erase(it);
}

void PackedFiles::remove(uint64_t id, std::vector<ArenaSpan>* punch) {
  auto it = files_.find(id);
  if (it != files_.end()) forget(it, punch);
}

void PackedFiles::forget(std::unordered_map<uint64_t, File>::iterator it,
                         std::vector<ArenaSpan>* punch) {
  File& f = it->second;
  if (f.small_slot != kNone) {
    punch->push_back({Arena::kSmall, f.small_slot * layout_.small_bytes, layout_.small_bytes});
    small_.release(f.small_slot);
  }
  for (const auto& x : f.extents) {
    punch->push_back({Arena::kLarge, x.second * layout_.extent_bytes, layout_.extent_bytes});
    large_.release(x.second);
  }
  for (const auto& c : f.chunk_ends) used_ -= c.second;
  files_.erase(it);
}

bool PackedFiles::in_small_slot(uint64_t id) const {
  auto it = files_.find(id);
  return it != files_.end() && !it->second.large() && it->second.small_slot != kNone;
}

bool PackedFiles::holds(uint64_t id, Arena* arena) const {
  auto it = files_.find(id);
  if (it == files_.end()) return false;
  *arena = it->second.large() ? Arena::kLarge : Arena::kSmall;
  return true;
}

}  // namespace benchfs
