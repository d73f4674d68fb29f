// Chunk bytes a server holds, addressed by (file id, global offset).
//
// Operations are asynchronous: each takes a completion that runs with a
// result >= 0 or -errno, either before the call returns (memory, and
// io_uring operations started off the owner thread) or from poll() when the
// I/O finished (io_uring).  The store is used by one thread at a time: the
// thread in the engine's driver seat (engine/engine.h).
#pragma once

#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace benchfs {

struct Config;

// An extent of a store's large arena, as direct_extent() names it.
struct DirectExtent {
  int fd = -1;             // the arena, in the server's process
  uint64_t dev = 0;        // its device and inode: what a client must find
  uint64_t ino = 0;        //   behind its duplicate of fd
  uint64_t local_start = 0;  // local offset (striping.h) of the extent's first byte
  uint64_t address = 0;      // where that byte is in the arena
  uint64_t length = 0;
};

// Which servers' capacity() counts the same storage, so that statvfs
// counts it once (each rank's alone otherwise: 4 ranks of a host sharing a
// disk reported 4 times its size).
struct StoragePool {
  // 0: this server's own storage (a memory store's limit); else equal for
  // every server on the same storage: one kernel (its boot id, so one
  // host, simulated hosts of one machine included) and one file system, or
  // that host's RAM.
  uint64_t key = 0;
  // true: capacity() gives the pool's numbers, everyone's use included (a
  // file system): count once.  false: the capacity is the pool's, the used
  // bytes (capacity - free) this server's own (RAM): sum those.
  bool shared_usage = false;
};

// The pool key of storage `what` (a file system's device, "ram") on the
// kernel this process runs on.
uint64_t storage_pool_key(const std::string& what);

class ChunkStore {
 public:
  using Done = std::function<void(int64_t result)>;

  virtual ~ChunkStore() = default;

  // Writes len bytes at the file's global offset; result = bytes written,
  // fewer than len only when the storage filled up part way (the next
  // write then fails with -ENOSPC).
  virtual void write(uint64_t file_id, uint64_t offset, const void* buf, size_t len, Done done) = 0;
  // Reads len bytes; bytes this server never stored read as zeros; result = len.
  virtual void read(uint64_t file_id, uint64_t offset, void* buf, size_t len, Done done) = 0;
  // Drops every byte at or past size.
  virtual void truncate(uint64_t file_id, uint64_t size, Done done) = 0;
  // Drops everything stored for the file.
  virtual void remove(uint64_t file_id, Done done) = 0;
  // Makes the file's bytes durable (a real fsync for the uring backend).
  virtual void fsync(uint64_t file_id, Done done) = 0;

  // Where a client on this host may read and write the bytes of a file's
  // chunk at global `offset` itself (client/direct_io.h): the extent of the
  // store's large arena holding it (store/packed_files.h).  Created if
  // `create`.  0; ENOENT (nothing stored there); EAGAIN (served by requests
  // for now: a small file); ENOSPC; EOPNOTSUPP (a store whose bytes a peer
  // cannot copy in one step).
  virtual int direct_extent(uint64_t file_id, uint64_t offset, bool create, DirectExtent* out) {
    (void)file_id, (void)offset, (void)create, (void)out;
    return EOPNOTSUPP;
  }
  // Whether direct_extent() can succeed (fixed once the store is open).
  virtual bool offers_backing_files() const { return false; }

  // Makes the calling thread the one whose asynchronous I/O (io_uring) this
  // store submits; operations run on any other thread complete in place
  // (the progress thread calls it; by default the thread that opened it).
  virtual void set_owner_thread() {}

  // Capacity and free bytes of this server's storage.  0 or an errno.
  virtual int capacity(uint64_t* total, uint64_t* free) const = 0;
  // Which other servers' capacity() counts the same storage.
  virtual StoragePool storage_pool() const = 0;

  // Completes finished operations; returns how many completed.
  virtual unsigned poll() = 0;
  // An fd that is signalled (written) when poll() may have work, or -1.  The
  // store never drains it: watch it edge-triggered (EPOLLET).
  virtual int event_fd() const = 0;
  // True while operations are in flight.
  virtual bool busy() const = 0;
  // Number of files with bytes here (tests check reclamation with it).
  virtual size_t file_count() const = 0;
  // Removes the store's backing directory unless told to keep it.
  virtual void destroy(bool keep) = 0;
};

// Creates the backend named by config.backend for rank `rank` of `nranks`;
// on failure returns null and sets *error.  `job_tag` makes the backing
// directory unique.
std::unique_ptr<ChunkStore> make_chunk_store(const Config& config, int rank, int nranks,
                                             const std::string& job_tag, std::string* error);

}  // namespace benchfs
