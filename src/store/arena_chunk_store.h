// What both chunk stores share: every file's bytes in two arenas (a small
// one and a large one, store/packed_files.h says what goes where), so the
// store holds a fixed number of descriptors whatever its file count.  The
// large arena is kLargeFiles files, extent n in file n % kLargeFiles: a
// write to tmpfs holds its file's inode lock for the whole copy, and every
// same-host client writes into the server's large arena.  The
// backends differ in where the arenas are (memory files, or files in a
// directory) and how I/O runs (start_io: in place, or through io_uring).
#pragma once

#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/chunk_store.h"
#include "store/packed_files.h"

namespace benchfs {

class ArenaChunkStore : public ChunkStore {
 public:
  ~ArenaChunkStore() override;

  void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) override;
  void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) override;
  void truncate(uint64_t file_id, uint64_t size, Done done) override;
  void remove(uint64_t file_id, Done done) override;
  void fsync(uint64_t file_id, Done done) override;
  int direct_extent(uint64_t file_id, uint64_t offset, bool create, DirectExtent* out) override;
  bool offers_backing_files() const override { return direct_; }
  size_t file_count() const override { return files_ ? files_->file_count() : 0; }
  // Bytes this server stored itself: per chunk, up to its highest written
  // byte (what a memory limit counts).
  uint64_t used() const { return files_ ? files_->used() : 0; }
  static constexpr unsigned kLargeFiles = 4;
  // The arenas' descriptors: the small arena's, then the large arena's files.
  std::vector<int> arena_fds() const;

 protected:
  // The layout of a store whose servers split files in `chunk_size` chunks
  // over `nservers`; this one is `rank`.  `direct`: same-host clients may
  // hold addresses in the large arena (never reused then).
  static PackedLayout layout_for(uint64_t chunk_size, int nservers, int rank, bool direct,
                                 uint64_t max_arena_bytes);
  // Takes the arenas (owned from now on: the small one, kLargeFiles large
  // ones); called once by the backend.  layout_for's max_arena_bytes is
  // per file.
  void set_arenas(int small_fd, const std::vector<int>& large_fds, const PackedLayout& layout,
                  bool direct, uint64_t limit);
  void close_arenas();

  enum class IoKind { kWrite, kRead, kFsync };
  // Runs one I/O on an arena: len bytes at address (none for kFsync); done
  // gets bytes transferred (a read past the arena's end is zeros) or -errno.
  // By default in place (pwrite/pread/fdatasync).
  virtual void start_io(IoKind kind, int fd, char* buf, size_t len, uint64_t address, Done done);
  // Whether start_io of this kind, on the calling thread, completes before
  // it returns (then nothing is in flight to wait for).
  virtual bool completes_in_place(IoKind kind) const {
    (void)kind;
    return true;
  }

 private:
  // I/O in flight per file id, and what waits for it to drain: an
  // operation that moves or frees a file's bytes must not overlap I/O that
  // still uses their old address (that address may go to another file).
  struct Busy {
    unsigned in_flight = 0;
    std::vector<std::function<void()>> after;
  };
  // Runs `op` now, or once the file's I/O in flight has completed.
  void when_idle(uint64_t id, std::function<void()> op);
  // Whether an operation on the file waits already.
  bool waiting(uint64_t id) const {
    auto it = busy_.find(id);
    return it != busy_.end() && !it->second.after.empty();
  }
  void io(uint64_t id, IoKind kind, Arena arena, char* buf, size_t len, uint64_t address,
          Done done);
  // Moves a small file's bytes to a new extent of the large arena and
  // punches its slot; on failure the file stays as it was.
  int move_to_large(uint64_t id);
  int punch(const std::vector<ArenaSpan>& spans);

  std::optional<PackedFiles> files_;
  // The file and offset of an arena address (the large arena's addresses
  // run over its files as one).
  int file_of(Arena arena, uint64_t address, uint64_t* offset) const;

  int small_fd_ = -1;
  std::vector<int> large_fds_;
  bool direct_ = false;
  uint64_t limit_ = 0;
  std::unordered_map<uint64_t, Busy> busy_;
};

}  // namespace benchfs
