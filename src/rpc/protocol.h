// The arguments and the reply of every RPC, each a struct whose fields are
// listed once, in wire order, by its `fields` function: encode() and
// decode() both walk that list, so the client, the server, the tests and
// the fuzzer share one definition of every layout and the compiler checks
// that they use it.  Rpc<Opcode> names the Args and Reply of an opcode.
//
// Field encodings (little endian, no padding, no tags): uint8_t 1 byte,
// uint32_t 4, uint64_t and int64_t 8, std::string a u32 length and its
// bytes, Attr its fields in attr_fields() order.  An argument block
// (MsgHeader::args_len bytes) is one encoded Args, a reply's one encoded
// Reply; payloads (write data, read data, readdir pages) travel apart.
//
// Changing a list changes the wire format: tests/fuzz/corpus must then be
// regenerated (scripts/fuzz says how), and message_test's pinned layouts
// say which messages changed.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/attr.h"
#include "rpc/message.h"

namespace benchfs {

// Attr as replies and rename inserts carry it.  A member function would put
// the wire format into common/attr.h; this takes a const or mutable Attr.
template <class A, class F>
  requires std::same_as<std::remove_const_t<A>, Attr>
void attr_fields(A& a, F&& f) {
  f(a.id, a.mode, a.uid, a.gid, a.nlink, a.size, a.atime_ns, a.mtime_ns, a.ctime_ns);
}

// A message struct: `static void fields(auto& m, auto&& f)` calls f with m's
// members in wire order; m is const when encoding and mutable when decoding,
// so one list serves both.
template <class T>
concept WireStruct = requires(T& m) { T::fields(m, [](auto&...) {}); };

// --- Metadata requests, sent to metadata_owner(path) -------------------------
// A create (kOpen with O_CREAT, kMkdir, kSymlink, kRenameInsert) names the parent
// directory's id, 0 for the root (never removed); under a fenced id it is
// refused with ESTALE (see MetadataTable::fence).
// A request that would act on what a symbolic link names (kOpen, kTruncate,
// kChmod) and finds the link itself at path changes nothing and answers
// ELOOP: the client reads the link and sends the request to its target.
// No entry ever exists below a link's own path, so a lookup through a link
// is plain ENOENT, and the client looks for the link only then.

// Requests whose reply carries nothing but the status.
struct EmptyReply {
  static void fields(auto&, auto&& f) { f(); }
};

struct OpenArgs {
  static constexpr Opcode kOp = Opcode::kOpen;
  std::string path;
  uint32_t flags = 0;      // open(2) flags
  uint32_t mode = 0;       // of a created file, umask applied
  uint32_t uid = 0;        // owner of a created file
  uint32_t gid = 0;
  uint64_t parent_id = 0;  // with O_CREAT, else unused (0)
  static void fields(auto& m, auto&& f) { f(m.path, m.flags, m.mode, m.uid, m.gid, m.parent_id); }
};
struct OpenReply {
  Attr attr;
  // O_TRUNC of a non-empty file gives it a new id; the caller removes the
  // old id's chunks, of the old size.  0 when nothing was truncated.
  uint64_t truncated_from = 0;
  uint64_t old_id = 0;
  static void fields(auto& m, auto&& f) { f(m.attr, m.truncated_from, m.old_id); }
};

struct StatArgs {
  static constexpr Opcode kOp = Opcode::kStat;
  std::string path;
  static void fields(auto& m, auto&& f) { f(m.path); }
};
// The entry itself, not what a symbolic link names (lstat): the client
// follows links (client/resolve.cc), so a link's target comes with it.
struct StatReply {
  Attr attr;
  std::string link_target;  // of a symbolic link, else empty
  static void fields(auto& m, auto&& f) { f(m.attr, m.link_target); }
};

struct UnlinkArgs {
  static constexpr Opcode kOp = Opcode::kUnlink;
  std::string path;
  static void fields(auto& m, auto&& f) { f(m.path); }
};
struct UnlinkReply {  // what the caller reclaims on the data servers
  uint64_t id = 0;
  uint64_t size = 0;
  // 1: this server held chunk 0 (it made the id) and removed the file's
  // chunks here itself; the caller asks only the others.
  uint8_t removed_here = 0;
  // 1 (with removed_here): the file has writers (see kWriters): the caller
  // removes it on every server, as stale (see kRemoveData).
  uint8_t open_for_writing = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.size, m.removed_here, m.open_for_writing); }
};

// Close-to-open: a writer's highest byte, at fsync and close.
struct CloseUpdateArgs {
  static constexpr Opcode kOp = Opcode::kCloseUpdate;
  std::string path;
  uint64_t id = 0;  // ESTALE unless path still names this file
  uint64_t written_end = 0;
  uint8_t wrote = 0;    // 1: set mtime and ctime
  // 1: a writer of the file (see kWriters) closes; the owner counts it off
  // if it made the id (else the client tells the server that did).
  uint8_t closing = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.id, m.written_end, m.wrote, m.closing); }
};

struct MkdirArgs {
  static constexpr Opcode kOp = Opcode::kMkdir;
  std::string path;
  uint32_t mode = 0;  // umask applied
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t parent_id = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.mode, m.uid, m.gid, m.parent_id); }
};

// Removes the directory only if it still has the id the client fenced.
struct RmdirArgs {
  static constexpr Opcode kOp = Opcode::kRmdir;
  std::string path;
  uint64_t id = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.id); }
};

// Sent to every server: fences id unless this server holds entries under path.
struct FenceDirArgs {
  static constexpr Opcode kOp = Opcode::kFenceDir;
  std::string path;
  uint64_t id = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.id); }
};
struct FenceDirReply {
  uint8_t has_entries = 0;  // 1: nothing fenced here
  static void fields(auto& m, auto&& f) { f(m.has_entries); }
};

// Lifts one fence of id, on a server where kFenceDir placed it.
struct UnfenceDirArgs {
  static constexpr Opcode kOp = Opcode::kUnfenceDir;
  uint64_t id = 0;
  static void fields(auto& m, auto&& f) { f(m.id); }
};

struct TruncateArgs {
  static constexpr Opcode kOp = Opcode::kTruncate;
  std::string path;
  uint64_t size = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.size); }
};
struct TruncateReply {  // the caller cuts the chunks past the new size
  uint64_t id = 0;
  uint64_t old_size = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.old_size); }
};

struct ChmodArgs {
  static constexpr Opcode kOp = Opcode::kChmod;
  std::string path;
  uint32_t mode = 0;  // permission bits
  static void fields(auto& m, auto&& f) { f(m.path, m.mode); }
};

// Sets a path's access and modification times, as utimensat: each is
// nanoseconds since the epoch, or kTimeNow (the server's clock) or kTimeOmit
// (left as is).  The change time becomes the server's now.
struct UtimensArgs {
  static constexpr Opcode kOp = Opcode::kUtimens;
  static constexpr int64_t kTimeNow = -1;
  static constexpr int64_t kTimeOmit = -2;
  std::string path;
  int64_t atime_ns = kTimeOmit;
  int64_t mtime_ns = kTimeOmit;
  static void fields(auto& m, auto&& f) { f(m.path, m.atime_ns, m.mtime_ns); }
};

// Sent to every server: one page of its entries under path, in name order,
// after the name `after`, as a payload of ReadDirEntry of at most max_bytes.
struct ReadDirArgs {
  static constexpr Opcode kOp = Opcode::kReadDir;
  std::string path;
  std::string after;
  uint64_t max_bytes = 0;  // kMinReadDirBytes .. kMaxReadDirBytes
  static void fields(auto& m, auto&& f) { f(m.path, m.after, m.max_bytes); }
};
struct ReadDirReply {
  uint8_t more = 0;  // 1: entries after the page's last remain
  static void fields(auto& m, auto&& f) { f(m.more); }
};
struct ReadDirEntry {  // one entry of a readdir page, back to back
  uint32_t mode = 0;
  uint64_t id = 0;
  std::string name;
  static void fields(auto& m, auto&& f) { f(m.mode, m.id, m.name); }
};

// Sent to every server.
struct StatfsArgs {
  static constexpr Opcode kOp = Opcode::kStatfs;
  static void fields(auto&, auto&& f) { f(); }
};
struct StatfsReply {
  uint64_t capacity = 0;
  uint64_t free = 0;
  uint64_t entries = 0;  // metadata entries this server holds
  uint64_t pool = 0;           // StoragePool::key: servers counting the same storage
  uint8_t shared_usage = 0;    // StoragePool::shared_usage
  static void fields(auto& m, auto&& f) {
    f(m.capacity, m.free, m.entries, m.pool, m.shared_usage);
  }
};

// Rename, first step, at the new path's owner: inserts attr under path,
// replacing an entry of the same type (a link or a file replaces either).
struct RenameInsertArgs {
  static constexpr Opcode kOp = Opcode::kRenameInsert;
  std::string path;
  Attr attr;
  uint64_t parent_id = 0;
  std::string link_target;  // the moved symbolic link's, else empty
  static void fields(auto& m, auto&& f) { f(m.path, m.attr, m.parent_id, m.link_target); }
};
struct RenameInsertReply {  // the entry replaced, whose chunks the caller removes
  uint8_t replaced = 0;
  uint64_t old_id = 0;
  uint64_t old_size = 0;
  uint8_t old_was_dir = 0;
  static void fields(auto& m, auto&& f) { f(m.replaced, m.old_id, m.old_size, m.old_was_dir); }
};

// Rename, second step, at the old path's owner: removes the entry only if
// it still has id.
struct RenameRemoveArgs {
  static constexpr Opcode kOp = Opcode::kRenameRemove;
  std::string path;
  uint64_t id = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.id); }
};

// Creates a symbolic link at path (EEXIST if anything is there) whose
// target is stored as given: resolution is the client's.
struct SymlinkArgs {
  static constexpr Opcode kOp = Opcode::kSymlink;
  std::string path;
  std::string target;  // 1 .. PATH_MAX - 1 bytes, no NUL
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t parent_id = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.target, m.uid, m.gid, m.parent_id); }
};

// --- Data requests, sent to chunk_owner(id, chunk) ---------------------------

// The payload (1 .. chunk size bytes, inside one chunk) is the data.
struct WriteArgs {
  static constexpr Opcode kOp = Opcode::kWrite;
  uint64_t id = 0;
  uint64_t offset = 0;
  // 1: the descriptor's first write, sent to the server that made the id
  // (chunk 0's): count a writer, as kWriters does, in the same request.
  uint8_t new_writer = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.offset, m.new_writer); }
};
struct WriteReply {
  uint64_t written = 0;
  static void fields(auto& m, auto&& f) { f(m.written); }
};

// The reply's payload is the bytes read.
struct ReadArgs {
  static constexpr Opcode kOp = Opcode::kRead;
  uint64_t id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.offset, m.length); }
};

struct TruncateDataArgs {
  static constexpr Opcode kOp = Opcode::kTruncateData;
  uint64_t id = 0;
  uint64_t size = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.size); }
};

// stale = 1 (the file was removed, or replaced by O_TRUNC or a rename,
// while it had writers; sent to every server): from now on every data
// request for the id is refused with ESTALE, so a descriptor opened before
// gets that error instead of storing bytes nobody would ever reclaim.
struct RemoveDataArgs {
  static constexpr Opcode kOp = Opcode::kRemoveData;
  uint64_t id = 0;
  uint8_t stale = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.stale); }
};
struct RemoveDataReply {
  // 1: this server made the id and counted writers of it (see kWriters),
  // now forgotten: the caller removes it again, as stale, everywhere.
  uint8_t had_writers = 0;
  static void fields(auto& m, auto&& f) { f(m.had_writers); }
};

// Descriptors that wrote to a file and are not closed yet, counted by the
// server that made its id (chunk 0's server, which never changes): add = 1
// at a descriptor's first write when none of its pieces go there
// (WriteArgs::new_writer otherwise), add = 0 at its close when the
// metadata owner is another server (CloseUpdateArgs::closing otherwise).
// A removal that finds writers makes the id stale (kRemoveData).  A count
// too high (a writer that died) costs a removal messages to every server,
// never a wrong result.
struct WritersArgs {
  static constexpr Opcode kOp = Opcode::kWriters;
  uint64_t id = 0;
  uint8_t add = 0;  // 1: one more, 0: one fewer
  static void fields(auto& m, auto&& f) { f(m.id, m.add); }
};

struct FsyncDataArgs {
  static constexpr Opcode kOp = Opcode::kFsyncData;
  uint64_t id = 0;
  static void fields(auto& m, auto&& f) { f(m.id); }
};

// Same-host direct I/O (see DirectIo::locate): the extent of the server's
// large arena that holds the chunk byte at `offset` of id
// (ChunkStore::direct_extent); the client duplicates the arena's
// descriptor once per server.
struct OpenDataArgs {
  static constexpr Opcode kOp = Opcode::kOpenData;
  uint64_t id = 0;
  uint8_t create = 0;  // 0 or 1
  uint64_t offset = 0;
  static void fields(auto& m, auto&& f) { f(m.id, m.create, m.offset); }
};
struct OpenDataReply {
  uint32_t fd = 0;  // the server's descriptor number of its large arena
  uint64_t dev = 0;  // identify the file the client must find behind it
  uint64_t ino = 0;
  uint64_t local_start = 0;  // the extent: local offset (striping.h) of its first byte,
  uint64_t address = 0;      //   that byte's place in the arena,
  uint64_t length = 0;       //   and its length
  static void fields(auto& m, auto&& f) {
    f(m.fd, m.dev, m.ino, m.local_start, m.address, m.length);
  }
};

// O_APPEND, at the metadata owner: hands out [offset, offset + len) at the
// file's end and raises the size in one step, so appends from any ranks
// never overlap.  The end first covers `written_end`, the caller's own
// writes not reported yet.  ESTALE: the path names another file now.
struct AppendArgs {
  static constexpr Opcode kOp = Opcode::kAppend;
  std::string path;
  uint64_t id = 0;
  uint64_t len = 0;
  uint64_t written_end = 0;
  static void fields(auto& m, auto&& f) { f(m.path, m.id, m.len, m.written_end); }
};
struct AppendReply {
  uint64_t offset = 0;
  static void fields(auto& m, auto&& f) { f(m.offset); }
};

// --- The opcode table ----------------------------------------------------------

template <Opcode>
struct Rpc;
template <class ArgsT, class ReplyT>
struct RpcTypes {
  using Args = ArgsT;
  using Reply = ReplyT;
};
template <> struct Rpc<Opcode::kOpen> : RpcTypes<OpenArgs, OpenReply> {};
template <> struct Rpc<Opcode::kStat> : RpcTypes<StatArgs, StatReply> {};
template <> struct Rpc<Opcode::kUnlink> : RpcTypes<UnlinkArgs, UnlinkReply> {};
template <> struct Rpc<Opcode::kCloseUpdate> : RpcTypes<CloseUpdateArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kMkdir> : RpcTypes<MkdirArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kRmdir> : RpcTypes<RmdirArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kFenceDir> : RpcTypes<FenceDirArgs, FenceDirReply> {};
template <> struct Rpc<Opcode::kUnfenceDir> : RpcTypes<UnfenceDirArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kTruncate> : RpcTypes<TruncateArgs, TruncateReply> {};
template <> struct Rpc<Opcode::kChmod> : RpcTypes<ChmodArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kUtimens> : RpcTypes<UtimensArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kReadDir> : RpcTypes<ReadDirArgs, ReadDirReply> {};
template <> struct Rpc<Opcode::kStatfs> : RpcTypes<StatfsArgs, StatfsReply> {};
template <> struct Rpc<Opcode::kRenameInsert> : RpcTypes<RenameInsertArgs, RenameInsertReply> {};
template <> struct Rpc<Opcode::kRenameRemove> : RpcTypes<RenameRemoveArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kWrite> : RpcTypes<WriteArgs, WriteReply> {};
template <> struct Rpc<Opcode::kRead> : RpcTypes<ReadArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kTruncateData> : RpcTypes<TruncateDataArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kRemoveData> : RpcTypes<RemoveDataArgs, RemoveDataReply> {};
template <> struct Rpc<Opcode::kFsyncData> : RpcTypes<FsyncDataArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kOpenData> : RpcTypes<OpenDataArgs, OpenDataReply> {};
template <> struct Rpc<Opcode::kAppend> : RpcTypes<AppendArgs, AppendReply> {};
template <> struct Rpc<Opcode::kSymlink> : RpcTypes<SymlinkArgs, EmptyReply> {};
template <> struct Rpc<Opcode::kWriters> : RpcTypes<WritersArgs, EmptyReply> {};

// The reply type of a request type.
template <class Args>
using ReplyOf = typename Rpc<Args::kOp>::Reply;

// Calls f(Rpc<op>{}) for every opcode in order (the tests walk the table).
template <class F>
void for_each_rpc(F&& f) {
  [&]<size_t... I>(std::index_sequence<I...>) {
    (f(Rpc<static_cast<Opcode>(I + 1)>{}), ...);
  }(std::make_index_sequence<static_cast<size_t>(Opcode::kCount) - 1>{});
}

// Every opcode has an entry, and each entry's Args names its own opcode.
static_assert([]<size_t... I>(std::index_sequence<I...>) {
  return ((Rpc<static_cast<Opcode>(I + 1)>::Args::kOp == static_cast<Opcode>(I + 1)) && ...);
}(std::make_index_sequence<static_cast<size_t>(Opcode::kCount) - 1>{}));

// --- Encoding ------------------------------------------------------------------

template <class T>
inline constexpr bool kNotAWireType = false;

template <class T>
void write_field(Encoder& e, const T& v) {
  if constexpr (std::is_same_v<T, uint8_t>) e.u8(v);
  else if constexpr (std::is_same_v<T, uint32_t>) e.u32(v);
  else if constexpr (std::is_same_v<T, uint64_t>) e.u64(v);
  else if constexpr (std::is_same_v<T, int64_t>) e.i64(v);
  else if constexpr (std::is_same_v<T, std::string>) e.str(v);
  else if constexpr (std::is_same_v<T, Attr>)
    attr_fields(v, [&](const auto&... f) { (write_field(e, f), ...); });
  else if constexpr (WireStruct<T>)
    T::fields(v, [&](const auto&... f) { (write_field(e, f), ...); });
  else
    static_assert(kNotAWireType<T>, "fields are uint8_t, uint32_t, uint64_t, int64_t, "
                                    "std::string, Attr or a message struct");
}

// Reads v as write_field wrote it; a short input fails `d` (see Decoder).
template <class T>
void read_field(Decoder& d, T& v) {
  if constexpr (std::is_same_v<T, uint8_t>) v = d.u8();
  else if constexpr (std::is_same_v<T, uint32_t>) v = d.u32();
  else if constexpr (std::is_same_v<T, uint64_t>) v = d.u64();
  else if constexpr (std::is_same_v<T, int64_t>) v = d.i64();
  else if constexpr (std::is_same_v<T, std::string>) v = d.str();
  else if constexpr (std::is_same_v<T, Attr>)
    attr_fields(v, [&](auto&... f) { (read_field(d, f), ...); });
  else if constexpr (WireStruct<T>)
    T::fields(v, [&](auto&... f) { (read_field(d, f), ...); });
  else
    static_assert(kNotAWireType<T>, "fields are uint8_t, uint32_t, uint64_t, int64_t, "
                                    "std::string, Attr or a message struct");
}

template <WireStruct T>
std::string encode(const T& m) {
  Encoder e;
  write_field(e, m);
  return e.take();
}

// True if `bytes` is exactly one encoded T (nothing missing, nothing
// after); otherwise *m is partly filled and must not be used.
template <WireStruct T>
[[nodiscard]] bool decode(std::string_view bytes, T* m) {
  Decoder d(bytes);
  read_field(d, *m);
  return d.done();
}

}  // namespace benchfs
