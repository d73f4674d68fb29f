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

  // The backing file of a file id, for clients on this host that read and
  // write it themselves (client/direct_io.h): its fd in this process, its
  // device and inode.  Created if `create`.  0, ENOENT (absent) or
  // EOPNOTSUPP (a store that does not keep files where a peer can copy in
  // one step).  The fd stays valid until the file is removed.
  virtual int backing_file(uint64_t file_id, bool create, int* fd, uint64_t* dev, uint64_t* ino) {
    (void)file_id, (void)create, (void)fd, (void)dev, (void)ino;
    return EOPNOTSUPP;
  }
  // Whether backing_file() can succeed (fixed once the store is open).
  virtual bool offers_backing_files() const { return false; }

  // Makes the calling thread the one whose asynchronous I/O (io_uring) this
  // store submits; operations run on any other thread complete in place
  // (the progress thread calls it; by default the thread that opened it).
  virtual void set_owner_thread() {}

  // Capacity and free bytes of this server's storage.  0 or an errno.
  virtual int capacity(uint64_t* total, uint64_t* free) const = 0;

  // Completes finished operations; returns how many completed.
  virtual unsigned poll() = 0;
  // An fd that is signalled (written) when poll() may have work, or -1.  The
  // store never drains it: watch it edge-triggered (EPOLLET).
  virtual int event_fd() const = 0;
  // True while operations are in flight.
  virtual bool busy() const = 0;
  // Number of files with stored bytes (tests check reclamation with it).
  virtual size_t file_count() const = 0;
  // Removes the store's backing directory unless told to keep it.
  virtual void destroy(bool keep) = 0;
};

// The error for a store file (a backing file or memory file, one per file
// id with bytes on this server) that could not be created: running out of
// descriptors (EMFILE, ENFILE) means this store holds as many files as it
// can, i.e. it is full (ENOSPC, logged once with the reason); other errors
// pass unchanged.
int store_file_error(int err);

// What backing_file() replies for the store's descriptor `file`: the
// descriptor, its device and inode (the client checks its duplicate against
// them).  0 or an errno.
int name_backing_file(int file, int* fd, uint64_t* dev, uint64_t* ino);

// The directory holding every rank's backing directory of a job (uring).
std::string job_directory(const Config& config, const std::string& job_tag);

// Creates the backend named by config.backend for this rank; on failure
// returns null and sets *error.  `job_tag` makes the backing directory unique.
std::unique_ptr<ChunkStore> make_chunk_store(const Config& config, int rank,
                                             const std::string& job_tag, std::string* error);

}  // namespace benchfs
