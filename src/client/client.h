// The client side of a rank: turns file operations into calls to the
// servers that own the metadata and the chunks.  Thread-safe: any number of
// application threads may use one Client at once.
//
// Internal convention: functions return 0 or a positive errno; byte counts
// come back through out-parameters.
//
// Paths: every public call taking a path resolves symbolic links in it
// (client/resolve.cc): a link in the middle of the path always, the last
// component where the POSIX call follows it (stat, open without
// O_NOFOLLOW, truncate, chmod, access, opendir; not lstat, unlink, rmdir,
// mkdir, rename, symlink, readlink).  Paths without links cost what they
// did: the request goes to the literal path first, and links are looked
// for only when it fails (ENOENT, or ELOOP from a link it follows).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/attr.h"
#include "common/config.h"
#include "client/direct_io.h"
#include "engine/call.h"
#include "engine/runtime.h"
#include "rpc/protocol.h"

namespace benchfs {

// The client's state of one open file.
struct OpenFile {
  std::string path;  // normalised, with every symbolic link resolved
  uint64_t id = 0;
  std::atomic<int> flags{0};  // open's flags; benchfs_fcntl may change O_APPEND
  bool is_dir = false;

  std::mutex offset_mutex;  // guards offset for read/write/lseek
  uint64_t offset = 0;

  // Close-to-open: the end of the highest byte this rank wrote, sent to the
  // metadata owner at fsync and close.
  std::atomic<uint64_t> written_end{0};
  std::atomic<bool> wrote{false};
  // This fd is counted as a writer by the server that made the id (kWriters).
  std::atomic<bool> counted_writer{false};
  // Largest size this client knows of (from open, stat or its own writes).
  std::atomic<uint64_t> known_size{0};

  // Same-host direct I/O (client/direct_io.h).
  DirectFiles direct;
};

// A directory being listed: pages of entries fetched from one server after
// the other, so no listing is ever held whole.
struct DirListing {
  using Entry = ReadDirEntry;  // name, type (mode) and id, as servers list them
  std::string path;        // resolved, as OpenFile::path
  uint64_t id = 0;         // the directory's own id
  uint64_t parent_id = 0;
  int stage = 0;           // 0: ".", 1: "..", 2: the servers' entries
  int server = 0;          // server whose entries are being listed
  std::string after;       // last name received from that server
  bool server_more = true; // that server has entries after `after`
  std::vector<Entry> page;
  size_t next = 0;         // next entry of page to return
};

// Sums over every server.
struct FsStats {
  uint64_t capacity = 0;
  uint64_t free = 0;
  uint64_t entries = 0;
};

class Client {
 public:
  Client(Runtime& runtime, const Config& config, mode_t umask);

  // The umask creates are masked with (the process's at benchfs_init).
  mode_t umask() const { return umask_; }

  // Opens (and with O_CREAT creates) a file, or a directory for reading.
  // O_DIRECTORY never truncates; a directory with O_CREAT or O_TRUNC is EISDIR.
  int open(const std::string& path, int flags, mode_t mode, OpenFile* file);
  int close(OpenFile& file);
  int pread(OpenFile& file, void* buf, size_t len, uint64_t offset, size_t* done);
  // Writes len bytes at offset.  *done is the length of the prefix of buf
  // that is stored: len, or less when a server failed (ENOSPC) and the
  // error is returned.  Pieces past a failed one that did land count in
  // the file's size, so unlink and truncate still reclaim them.
  int pwrite(OpenFile& file, const void* buf, size_t len, uint64_t offset, size_t* done);
  int fsync(OpenFile& file);
  // O_APPEND: where a write of len bytes goes, handed out by the metadata
  // owner at the file's end (appends from any ranks never overlap).  A
  // file unlinked or replaced meanwhile appends at the end this rank knows.
  int append_offset(OpenFile& file, size_t len, uint64_t* offset);
  // Current size as far as this rank can tell: the owner's size merged with
  // this rank's own unreported writes.
  int file_size(OpenFile& file, uint64_t* size);
  int fstat(OpenFile& file, Attr* attr);

  int stat(const std::string& path, Attr* attr);
  // The entry itself where the last component is a symbolic link, with its
  // target in *link_target (if given; empty for other entries).
  int lstat(const std::string& path, Attr* attr, std::string* link_target = nullptr);
  // Creates a symbolic link at linkpath holding target as given (resolved
  // only when followed).  EEXIST, ENOENT, ENOTDIR as a create.
  int symlink(const std::string& target, const std::string& linkpath);
  // The target of the symbolic link path; EINVAL for another entry.
  int readlink(const std::string& path, std::string* target);
  int unlink(const std::string& path);
  int mkdir(const std::string& path, mode_t mode);
  int rmdir(const std::string& path);
  // Sets the size; shrinking reclaims the chunks past it on every server.
  // This rank's open files of it (among open_files) lose their unpublished
  // writes past the new size.  by_fd: path is an open file's, resolved.
  int truncate(const std::string& path, uint64_t length, bool by_fd,
               const std::vector<std::shared_ptr<OpenFile>>& open_files);
  int chmod(const std::string& path, mode_t mode);
  // times as utimensat's (NULL: both now; UTIME_NOW, UTIME_OMIT).
  int utimens(const std::string& path, const struct timespec* times);
  // F_OK or R_OK/W_OK/X_OK against the caller's effective ids.
  int access(const std::string& path, int mode);
  int rename(const std::string& from, const std::string& to);
  int statfs(FsStats* stats);
  int opendir(const std::string& path, DirListing* listing);
  // Next entry, or ENOENT at the end.
  int readdir(DirListing& listing, DirListing::Entry* entry);

 private:
  // Runs the calls with at most config.window in flight; returns the first
  // error in call order, or 0.
  int run(Call* calls, size_t n);
  int run_one(Call& call) { return run(&call, 1); }
  int metadata_owner_of(const std::string& path) const;

  // One request: the entry at the literal path (links not followed).
  int lookup(const std::string& path, Attr* attr, std::string* link_target = nullptr);
  // Runs op(p, &link_target) with p = path, then with what symbolic links
  // make of it, while it fails because of one (defined in calls.h):
  //  - ENOENT: nothing exists below a link's own path, so the deepest
  //    existing ancestor tells (through_link): a link is replaced by its
  //    target and op runs again; a directory means ENOENT, a file ENOTDIR.
  //  - ELOOP, with follow_last: op met a link as the last component (its
  //    target in link_target if op had it, else looked up) and runs again
  //    on the target.
  // Past kMaxSymlinks links, ELOOP.
  template <typename Op>
  int resolve(const std::string& path, bool follow_last, Op&& op);
  // ENOENT for path: 0 and *next if an ancestor is a link, else the errno
  // the caller gets (ENOENT, or ENOTDIR if the deepest ancestor is a file).
  // Only failed calls get here, so lookups of existing paths cost nothing
  // more; a failed one costs a lookup per missing level, as before links.
  int through_link(const std::string& path, std::string* next);

  // The operations on a resolved path (no link on the way; the last
  // component may be one: see each).
  int open_entry(const std::string& path, int flags, mode_t mode, OpenFile* file);
  int unlink_entry(const std::string& path);
  int truncate_entry(const std::string& path, uint64_t length,
                     const std::vector<std::shared_ptr<OpenFile>>& open_files);
  int utimens_entry(const std::string& path, const struct timespec* times);
  int rmdir_entry(const std::string& path);
  int rename_entry(const std::string& from, const std::string& to);
  // Typed requests (rpc/protocol.h); the templates are defined in calls.h.
  // Sends `args` to the metadata owner of args.path and decodes its reply
  // into *reply (if given): 0, the call's errno, or EPROTO when the reply is
  // not exactly one Rpc<Args::kOp>::Reply.
  template <class Args>
  int call_metadata(const Args& args, ReplyOf<Args>* reply = nullptr);
  // Sends `args` to every server; (*calls)[r] is server r's call.  Returns
  // the first errno in rank order, or 0.
  template <class Args>
  int call_every_server(const Args& args, std::vector<Call>* calls);
  // Sends `args`, a data request for the file args.id, to every server
  // holding a chunk with an index in [first, last].
  template <class Args>
  int call_chunk_range(const Args& args, uint64_t first, uint64_t last);
  // The calls call_chunk_range runs.
  template <class Args>
  std::vector<Call> chunk_range_calls(const Args& args, uint64_t first, uint64_t last) const;
  // The same to every server holding a chunk of the file's first `size` bytes.
  template <class Args>
  int call_chunk_servers(const Args& args, uint64_t size);

  // The id of path's parent directory, which a create names (0 for "/",
  // which is never removed): remembered, or with `look_up` (or if not
  // remembered) asked for.  ENOENT if the parent is missing, ENOTDIR if it
  // is not a directory.
  int parent_dir_id(const std::string& path, bool look_up, uint64_t* id);
  void forget_dir(const std::string& path);
  // `args` of a create (OpenArgs, MkdirArgs) with the new entry's mode
  // under the umask, owner, group and parent id filled in.
  template <class Args>
  Args new_entry(Args args, mode_t mode, uint64_t parent_id) const;
  // Runs a create whose request names the parent's id: send(id) returns
  // its errno.  See the definition (calls.h) for ESTALE.
  template <typename Send>
  int create_in_parent(const std::string& path, Send&& send);
  // Publishes the fd's written size; `closing` also tells the owner that a
  // descriptor open for writing is gone.
  int report_written(OpenFile& file, bool closing);
  // The end of a write that failed with err: for ESTALE, frees the bytes
  // this fd copied into the removed file's extents.  Returns err.
  int stale_write(OpenFile& file, int err);
  // Removes the chunks of a file removed or replaced (O_TRUNC, a rename
  // onto it) from the servers holding its first `size` bytes and chunk 0's;
  // if that one counted writers, from every server as stale (make_stale).
  int remove_data(uint64_t id, uint64_t size);
  // RemoveData to the servers of chunks [first, last]; *had_writers is set
  // if one counted writers.  The first errno in call order, or 0.
  int remove_chunks(const RemoveDataArgs& args, uint64_t first, uint64_t last, bool* had_writers);
  // Removes id from every server and has them refuse it from now on.
  int make_stale(uint64_t id);
  // Fences directory `path` with id `id` on every server (see
  // MetadataTable::fence), so that no entry can be created under it.  If
  // some server holds an entry under it, *empty is false and no fence is
  // left.
  int fence_dir(const std::string& path, uint64_t id, bool* empty);
  // Lifts the fences of id on `servers` (all if empty), when the directory stays.
  void unfence_dir(uint64_t id, std::vector<int> servers = {});

  Runtime& runtime_;
  Config config_;
  int rank_;
  int nranks_;
  mode_t umask_;
  DirectIo direct_io_;
  // Directory path -> id, for the parents of creates (parent_dir_id).  A
  // stale entry costs a retry, never a wrong result: the servers refuse a
  // create under a removed directory's id.
  std::mutex dir_ids_mutex_;
  std::unordered_map<std::string, uint64_t> dir_ids_;
};

}  // namespace benchfs
