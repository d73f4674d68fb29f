// Wire format of BenchFS RPCs.
//
// Every message is one UCX active message.  Its AM header is a fixed
// MsgHeader followed by `args_len` bytes of encoded arguments; its AM data is
// the payload (chunk bytes of a write request or a read reply), sent eager
// below the eager threshold and rendezvous above it, or, between ranks of
// one host, left in the client's memory (kFlagPeerMemory).  Replies carry the
// request's id, so any number of requests of one kind can be in flight.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace benchfs {

// The arguments and reply of every opcode are structs in rpc/protocol.h
// (Rpc<Opcode>::Args and ::Reply).  The numbers are part of the wire format.
enum class Opcode : uint16_t {
  // Metadata, sent to metadata_owner(path); kFenceDir, kReadDir and
  // kStatfs to every server, kUnfenceDir to the servers kFenceDir fenced.
  kOpen = 1,
  kStat,
  kUnlink,
  kCloseUpdate,
  kMkdir,
  kRmdir,
  kFenceDir,
  kUnfenceDir,
  kTruncate,
  kChmod,
  kReadDir,
  kStatfs,
  kRenameInsert,
  kRenameRemove,
  // Data, sent to chunk_owner(id, chunk).
  kWrite,
  kRead,
  kTruncateData,
  kRemoveData,
  kFsyncData,
  kOpenData,
  kAppend,
  // Added later (the numbers are fixed once given): metadata,
  kUtimens,
  kSymlink,
  // and data.
  kWriters,
  kCount
};

const char* opcode_name(Opcode op);

// Payload bytes.  resize() leaves new bytes uninitialised: a buffer that is
// about to be filled by a copy is not zeroed first (a second pass over up
// to a chunk per request).
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    if constexpr (sizeof...(Args) == 0)
      ::new (static_cast<void*>(p)) U;  // default-initialised: left as is
    else
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using Bytes = std::vector<char, UninitializedAllocator<char>>;

constexpr uint32_t kMsgMagic = 0xBE4C4F53;  // "BenchFS"

// Header flag: the payload is not carried by the message; it stays in the
// sender's memory at peer_addr (a request: the write data the server copies
// from there) or is copied into it (a read: the server writes the chunk bytes
// to the client's buffer, the reply says how many).  Only between ranks on
// one host (cross-memory attach, see docs/architecture.md), only before
// deadline_ns.
constexpr uint16_t kFlagPeerMemory = 1;

struct MsgHeader {
  uint32_t magic = kMsgMagic;
  uint16_t opcode = 0;
  uint16_t flags = 0;
  int32_t src_rank = 0;   // sender, so the server knows where to reply
  int32_t status = 0;     // replies: 0 or an errno
  uint64_t req_id = 0;
  uint32_t args_len = 0;
  uint32_t reserved = 0;
  uint64_t data_len = 0;  // payload bytes: carried as AM data, or at peer_addr
  uint64_t peer_addr = 0;   // kFlagPeerMemory: the payload's address at the client
  int64_t deadline_ns = 0;  // kFlagPeerMemory: CLOCK_MONOTONIC time the client gives up
};
static_assert(sizeof(MsgHeader) == 56, "MsgHeader is part of the wire format");

// Largest encoded argument block: one path (PATH_MAX) plus small fields.
// It travels in the UCX AM header, which UCX caps (8100 bytes here); a
// second path would travel as payload.
constexpr size_t kMaxArgsLen = 4096 + 256;

// Largest file size, and end of any byte range, a message may carry: what
// off_t holds, since the C API's offsets and st_size are off_t.  A server
// refuses larger values (EINVAL) instead of storing a size no stat can show.
constexpr uint64_t kMaxFileSize = static_cast<uint64_t>(INT64_MAX);

// Largest readdir page a server builds (the client asks for 64 KiB).  The
// smallest it accepts holds one entry of the longest name, so every page
// makes progress.
constexpr uint64_t kMaxReadDirBytes = 1 << 20;
constexpr uint64_t kMinReadDirBytes = 4 + 8 + 4 + 255;  // u32 mode, u64 id, str of NAME_MAX

// Parses the AM header bytes.  Returns 0, or EPROTO for a truncated, foreign
// or inconsistent header (a malformed message must never crash a server).
int decode_header(const void* bytes, size_t len, MsgHeader* header, std::string_view* args);

// Checks one incoming active message, as the transport receives it: the AM
// header bytes, the length of the AM data, and the job size.  Returns
//   0        well formed: *header and *args are set.
//   EPROTO   malformed, but it carries our magic and a sender in the job:
//            *header keeps its opcode, src_rank and req_id, with status
//            EPROTO and no args or data, so the receiver answers a request
//            (or fails the call a reply belongs to) with EPROTO and the
//            sender learns at once instead of timing out.
//   EBADMSG  not ours, or no sender to answer: drop it.
int decode_message(const void* bytes, size_t len, size_t data_len, int nranks, MsgHeader* header,
                   std::string_view* args);

// Builds the AM header bytes for a message.
std::string encode_header(const MsgHeader& header, std::string_view args);

// The field encodings of argument blocks; rpc/protocol.h builds every
// block from its struct's field list with these.
class Encoder {
 public:
  Encoder& u8(uint8_t v) { return raw(&v, 1); }
  Encoder& u32(uint32_t v) { return raw(&v, 4); }
  Encoder& u64(uint64_t v) { return raw(&v, 8); }
  Encoder& i64(int64_t v) { return raw(&v, 8); }
  Encoder& str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    buf_.append(s.data(), s.size());
    return *this;
  }
  const std::string& bytes() const { return buf_; }
  std::string take() { return std::move(buf_); }

 private:
  Encoder& raw(const void* p, size_t n) {
    buf_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string buf_;
};

// Reads fields in order; any read past the end sets ok() false and yields
// zeros, so a handler checks ok() once after reading all its arguments.
class Decoder {
 public:
  explicit Decoder(std::string_view bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  uint8_t u8() { uint8_t v = 0; raw(&v, 1); return v; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  int64_t i64() { int64_t v = 0; raw(&v, 8); return v; }
  std::string str() {
    uint32_t n = u32();
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { ok_ = false; return {}; }
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && p_ == end_; }

 private:
  void raw(void* out, size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { ok_ = false; return; }
    std::memcpy(out, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

}  // namespace benchfs
