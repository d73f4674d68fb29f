// Where the bytes of the files a server stores live: two arenas, large
// sparse files (or memory files) that hold every file's bytes, so a server
// keeps a handful of descriptors whatever its file count (a descriptor per
// file capped a server at RLIMIT_NOFILE files).
//
// A file's bytes here are addressed by local offset (striping.h): its
// chunks held here, packed.  While they all lie below small_bytes, they sit
// in a slot of the small arena (small_bytes apart, freed slots reused): a
// 3901-byte file costs one page.  Past that the file moves, once, into
// extents of the large arena (extent_bytes each, a multiple of the chunk
// size, allocated as the file grows), where it stays: only there may
// same-host clients copy bytes in and out themselves (client/direct_io.h),
// so a file they may hold an address of never moves.  Where they may
// (reuse_extents false) an extent's address is never given to another
// file: a client that still writes through an old address after a removal
// cannot reach another file's bytes.  Holes cost nothing (the arenas are
// sparse); removed and truncated bytes are punched out.
//
// Pure bookkeeping: the chunk stores do the I/O at the addresses it gives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace benchfs {

// Numbers for equal-sized pieces of an arena: fresh ones from a counter,
// and (with `reuse`) freed ones again first.
class SlotAllocator {
 public:
  SlotAllocator(bool reuse, uint64_t limit) : reuse_(reuse), limit_(limit) {}
  // False when `limit` numbers are in use (or, without reuse, were ever given).
  bool allocate(uint64_t* slot) {
    if (reuse_ && !free_.empty()) {
      *slot = free_.back();
      free_.pop_back();
    } else if (next_ < limit_) {
      *slot = next_++;
    } else {
      return false;
    }
    ++in_use_;
    return true;
  }
  void release(uint64_t slot) {
    --in_use_;
    if (reuse_) free_.push_back(slot);
  }
  uint64_t in_use() const { return in_use_; }

 private:
  bool reuse_;
  uint64_t limit_;
  uint64_t next_ = 0;
  uint64_t in_use_ = 0;
  std::vector<uint64_t> free_;
};

enum class Arena : uint8_t { kSmall, kLarge };

// A byte range of an arena.
struct ArenaSpan {
  Arena arena;
  uint64_t address;
  uint64_t length;
};

struct PackedLayout {
  uint64_t chunk_size;
  int nservers;
  int rank;               // this server
  uint64_t small_bytes;   // small_file_bytes(chunk_size)
  uint64_t extent_bytes;  // a multiple of chunk_size
  bool reuse_extents;     // false where same-host clients hold extent addresses
  // Highest arena address + 1: of the small arena, and of the large one.
  uint64_t max_arena_bytes = uint64_t{1} << 62;
  uint64_t max_large_bytes = uint64_t{1} << 62;
};

// The large-arena extent that holds a local offset of a file.
struct Extent {
  uint64_t local_start;  // local offset of its first byte
  uint64_t address;      // its first byte in the large arena
  uint64_t length;       // extent_bytes
};

class PackedFiles {
 public:
  explicit PackedFiles(const PackedLayout& layout);

  const PackedLayout& layout() const { return layout_; }
  // Local offset of a global offset of a chunk held here.
  uint64_t local(uint64_t offset) const;

  // A write of [offset, offset + len) of one chunk held here: *at is where
  // it goes.  0; ENOSPC when an arena has no address left; EAGAIN when the
  // file must first move out of its small slot (begin_move).
  int place_write(uint64_t id, uint64_t offset, uint64_t len, ArenaSpan* at);
  // Whether that write needs the move first.
  bool needs_move(uint64_t id, uint64_t offset, uint64_t len) const;
  // A read of [offset, offset + len): *at covers the first at->length bytes
  // that are stored somewhere (0: none); the rest of len reads as zeros.
  void place_read(uint64_t id, uint64_t offset, uint64_t len, ArenaSpan* at) const;

  // The large-arena extent holding `offset` of the file, for a same-host
  // client: 0; ENOENT (nothing stored there and not `create`); EAGAIN (the
  // file is small here: served by requests, or with `create` to be moved
  // first); ENOSPC.
  int direct_extent(uint64_t id, uint64_t offset, bool create, Extent* extent);

  // Moving a small file (in_small_slot) to the large arena: begin_move
  // gives it extent 0 and says what to copy: move_to->length bytes from the
  // start of *from to *move_to.  end_move(true) then frees the slot (punch
  // *from); end_move(false), after a failed copy, keeps the file small and
  // readable as it was.  0 or ENOSPC.
  int begin_move(uint64_t id, ArenaSpan* from, ArenaSpan* move_to);
  void end_move(uint64_t id, bool copied);

  // Counts a write: `stored` bytes at offset (for used() and the ends of
  // chunks).  Bytes a write would add to used(), for a limit check first.
  void record_write(uint64_t id, uint64_t offset, uint64_t stored);
  uint64_t growth(uint64_t id, uint64_t offset, uint64_t len) const;

  // Drops the bytes at or past global `size`: *punch gets the ranges to
  // punch out now.  A file with nothing left is forgotten, unless its
  // extents must keep their addresses (reuse_extents false).
  void truncate(uint64_t id, uint64_t size, std::vector<ArenaSpan>* punch);
  // Forgets the file; *punch gets every range it held.
  void remove(uint64_t id, std::vector<ArenaSpan>* punch);

  // Whether the file is small here, in a slot (a write reaching past
  // small_bytes, or a direct extent, moves it); where it is stored.
  bool in_small_slot(uint64_t id) const;
  bool holds(uint64_t id, Arena* arena) const;

  size_t file_count() const { return files_.size(); }
  // Sum over chunks of (highest byte written + 1): what a memory limit counts.
  uint64_t used() const { return used_; }
  // Every byte range in use, for a destroy that punches (tests) or counts.
  uint64_t small_slots_in_use() const { return small_.in_use(); }
  uint64_t extents_in_use() const { return large_.in_use(); }

 private:
  static constexpr uint64_t kNone = ~uint64_t{0};
  struct File {
    uint64_t small_slot = kNone;    // while the file is small here
    // (local extent index, extent number), by index: sparse, as a file may
    // have bytes at any offset.
    std::vector<std::pair<uint64_t, uint64_t>> extents;
    // (chunk index, highest byte written in it + 1), by chunk index.
    std::vector<std::pair<uint64_t, uint64_t>> chunk_ends;
    bool large() const { return !extents.empty(); }
  };

  // The file's extent number for local extent e, allocated if `create`.
  int extent_of(File& f, uint64_t e, bool create, uint64_t* number);
  void drop_chunk_ends(File& f, uint64_t size);
  void forget(std::unordered_map<uint64_t, File>::iterator it, std::vector<ArenaSpan>* punch);

  PackedLayout layout_;
  SlotAllocator small_;
  SlotAllocator large_;
  uint64_t used_ = 0;
  std::unordered_map<uint64_t, File> files_;
};

}  // namespace benchfs
