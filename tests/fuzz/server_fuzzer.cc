// libFuzzer harness for what a BenchFS server does with incoming bytes:
// decode_message (the transport's check of an active message) and then
// Server::handle with a memory chunk store, as the engine runs them.
//
// Input: one config byte (job size 1..4 and this server's rank), then
// records until the input ends:
//     u16 header_len, header_len bytes of AM header,
//     u16 data_len,   data_len bytes of AM data
// (little endian).  Several records share one server, so a record can act on
// what earlier ones created.  A record cut short by the end of the input is
// dropped.
//
// Invariants (a violation aborts, which libFuzzer reports as a crash):
// decode_message gives 0, EPROTO or EBADMSG and its outputs fit the frame; a
// dropped frame reaches no handler; every handled request gets exactly one
// reply, before handle() returns (the memory store completes at once); a
// frame decode_message salvaged is answered EPROTO; a request admit()
// refuses (what the engine refuses before fetching a rendezvous
// payload) is answered with admit()'s errno; a reply's status is 0 or an
// errno, an error carries no args or data, a success's reply frame decodes
// and its payload fits one chunk or one readdir page; the store stays within
// its limit; afterwards the server still answers statfs, and stat("/") on
// the root's owner.  ASan/UBSan/LSan check memory.
//
//   server_fuzzer --write-seeds DIR   writes the seed corpus (one file per
//                                     opcode, every request in it valid)
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/placement.h"
#include "rpc/message.h"
#include "rpc/protocol.h"
#include "server/server.h"
#include "store/memory_chunk_store.h"

namespace benchfs {
namespace {

constexpr uint64_t kChunk = 4096;
constexpr uint64_t kMemoryLimit = 64 << 10;  // small, so ENOSPC is reachable

[[noreturn]] void violated(const char* what, int detail = 0) {
  std::fprintf(stderr, "server_fuzzer: invariant violated: %s (%d)\n", what, detail);
  std::abort();
}
#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) violated(#cond, static_cast<int>(detail)); \
  } while (0)

// Reads the input front to back.
struct Reader {
  const uint8_t* p;
  size_t left;
  bool take(size_t n, const uint8_t** out) {
    if (left < n) return false;
    *out = p;
    p += n;
    left -= n;
    return true;
  }
  bool u16(uint16_t* v) {
    const uint8_t* b;
    if (!take(2, &b)) return false;
    *v = static_cast<uint16_t>(b[0] | b[1] << 8);
    return true;
  }
};

struct Harness {
  int rank;
  int nranks;
  MemoryChunkStore* store = nullptr;
  std::unique_ptr<Server> server;
  int replies = 0;
  ServerOp* last = nullptr;  // the op of the latest reply, deleted after the checks

  Harness(int r, int n) : rank(r), nranks(n) {
    auto s = std::make_unique<MemoryChunkStore>(kChunk, kMemoryLimit, n, r);
    store = s.get();
    server = std::make_unique<Server>(rank, nranks, kChunk, std::move(s));
    server->set_finish([this](ServerOp* op) {
      ++replies;
      FUZZ_CHECK(last == nullptr, replies);  // a second reply to one request
      last = op;
    });
    server->create_root();
  }
  ~Harness() { delete last; }

  // Serves one decoded request and checks its reply; returns its status.
  int serve(const MsgHeader& h, std::string_view args, const uint8_t* data, size_t len) {
    int admitted = server->admit(h, len);
    auto* op = new ServerOp;
    op->header = h;
    op->args.assign(args.data(), args.size());
    op->storage.assign(data, data + len);  // as handle_incoming keeps eager data
    op->in_data = op->storage.data();
    op->in_len = op->storage.size();
    int before = replies;
    server->handle(op);
    FUZZ_CHECK(replies == before + 1, replies - before);
    ServerOp* r = last;
    FUZZ_CHECK(r == op, 0);
    int status = r->status;
    if (admitted) FUZZ_CHECK(status == admitted, status);
    FUZZ_CHECK(status >= 0 && status < 4096, status);
    if (status != 0) {
      FUZZ_CHECK(r->reply_args.empty(), r->reply_args.size());
      FUZZ_CHECK(r->out_len == 0, r->out_len);
    } else {
      // What finish_server_op would send must be a frame its receiver accepts.
      MsgHeader rh;
      rh.opcode = h.opcode;
      rh.src_rank = rank;
      rh.req_id = h.req_id;
      rh.data_len = r->out_len;
      std::string frame = encode_header(rh, r->reply_args);
      MsgHeader back;
      std::string_view back_args;
      FUZZ_CHECK(decode_message(frame.data(), frame.size(), r->out_len, nranks, &back, &back_args) == 0,
                 r->reply_args.size());
      FUZZ_CHECK(r->out_len <= std::max<uint64_t>(kChunk, kMaxReadDirBytes), r->out_len);
      if (r->out_len) {
        FUZZ_CHECK(r->out_data != nullptr, 0);
        // Touch every byte, so ASan sees a reply buffer that is not live.
        unsigned sum = 0;
        for (size_t i = 0; i < r->out_len; ++i) sum += static_cast<unsigned char>(r->out_data[i]);
        (void)sum;
      }
    }
    FUZZ_CHECK(store->used() <= kMemoryLimit, 0);
    last = nullptr;
    delete r;
    return status;
  }

  // One active message, as Transport::on_am and handle_incoming treat it.
  void deliver(const uint8_t* header, size_t header_len, const uint8_t* data, size_t data_len) {
    MsgHeader h;
    std::string_view args;
    int rc = decode_message(header, header_len, data_len, nranks, &h, &args);
    if (rc == EBADMSG) return;  // dropped: nobody to answer
    FUZZ_CHECK(rc == 0 || rc == EPROTO, rc);
    FUZZ_CHECK(h.magic == kMsgMagic && h.src_rank >= 0 && h.src_rank < nranks, h.src_rank);
    if (rc == 0) {
      const char* begin = reinterpret_cast<const char*>(header);
      FUZZ_CHECK(args.data() == begin + sizeof(MsgHeader), 0);
      FUZZ_CHECK(args.size() == h.args_len && h.args_len <= kMaxArgsLen, h.args_len);
      FUZZ_CHECK(sizeof(MsgHeader) + args.size() == header_len, header_len);
      if (h.flags & kFlagPeerMemory) {
        // Its payload is in another process (the engine copies it
        // from a same-host peer, see serve_peer_memory); here only the
        // admission check runs, as the engine runs it first.
        FUZZ_CHECK(data_len == 0, data_len);
        int err = server->admit(h, h.data_len);
        FUZZ_CHECK(err == 0 || err == EPROTO || err == EMSGSIZE, err);
        return;
      }
      FUZZ_CHECK(h.data_len == data_len, data_len);
      serve(h, args, data, data_len);
    } else {
      FUZZ_CHECK(h.status == EPROTO && args.empty() && h.data_len == 0, h.status);
      FUZZ_CHECK(serve(h, args, nullptr, 0) == EPROTO, 0);  // its data is dropped
    }
  }

  // The server must still serve after whatever came before.
  void check_alive() {
    MsgHeader h;
    h.opcode = static_cast<uint16_t>(Opcode::kStatfs);
    FUZZ_CHECK(serve(h, encode(StatfsArgs{}), nullptr, 0) == 0, 0);
    if (metadata_owner("/", nranks) == rank) {
      h.opcode = static_cast<uint16_t>(Opcode::kStat);
      // The root can be chmod-ed, but never removed or replaced.
      FUZZ_CHECK(serve(h, encode(StatArgs{"/"}), nullptr, 0) == 0, 0);
    }
  }
};

// --- Seeds --------------------------------------------------------------------

struct SeedWriter {
  std::string bytes = std::string(1, '\0');  // config 0: one rank, rank 0
  uint64_t req_id = 0;

  template <WireStruct Args>
  SeedWriter& msg(const Args& args, const std::string& data = {}) {
    MsgHeader h;
    h.opcode = static_cast<uint16_t>(Args::kOp);
    h.req_id = ++req_id;
    h.data_len = data.size();
    std::string header = encode_header(h, encode(args));
    put16(header.size());
    bytes += header;
    put16(data.size());
    bytes += data;
    return *this;
  }
  void put16(size_t v) {
    bytes.push_back(static_cast<char>(v & 0xff));
    bytes.push_back(static_cast<char>(v >> 8));
  }
};

// Ids a one-rank server hands out: the root is 1, then 2, 3, ...
constexpr uint64_t kFirstFileId = 2;

OpenArgs open_args(std::string path, uint32_t flags, uint64_t parent = 0) {
  return OpenArgs{std::move(path), flags, 0644, 0, 0, parent};
}

// A symbolic link to "f" as a rename moves it (id of no file in the seeds).
Attr symlink_attr() {
  Attr a;
  a.id = 0x78;
  a.mode = S_IFLNK | 0777;
  a.nlink = 1;
  a.size = 1;
  return a;
}

std::vector<std::pair<std::string, std::string>> seeds() {
  const uint64_t f = kFirstFileId;  // "/f", created first in the seeds that need it
  auto with_file = [&] {
    SeedWriter w;
    w.msg(open_args("/f", O_CREAT | O_RDWR));
    return w;
  };
  Attr moved;
  moved.id = 0x77;
  moved.mode = S_IFREG | 0644;
  moved.nlink = 1;
  moved.size = 5;

  std::vector<std::pair<std::string, std::string>> out;
  auto add = [&](Opcode op, SeedWriter w) { out.emplace_back(opcode_name(op), w.bytes); };
  add(Opcode::kOpen, with_file());
  add(Opcode::kStat, with_file().msg(StatArgs{"/f"}));
  add(Opcode::kUnlink, with_file().msg(UnlinkArgs{"/f"}));
  add(Opcode::kCloseUpdate, with_file().msg(CloseUpdateArgs{"/f", f, 5, 1, 1}));
  const MkdirArgs mkdir_d{"/d", 0755, 0, 0, 0};
  const uint64_t d = kFirstFileId;  // "/d", in the seeds that make it first
  add(Opcode::kMkdir, SeedWriter().msg(mkdir_d));
  add(Opcode::kRmdir, SeedWriter().msg(mkdir_d).msg(RmdirArgs{"/d", d}));
  add(Opcode::kFenceDir, with_file().msg(FenceDirArgs{"/", 1}));
  add(Opcode::kUnfenceDir, SeedWriter()
                               .msg(mkdir_d)
                               .msg(FenceDirArgs{"/d", d})
                               .msg(UnfenceDirArgs{d})
                               .msg(open_args("/d/x", O_CREAT | O_RDWR, d)));
  add(Opcode::kTruncate, with_file().msg(TruncateArgs{"/f", 3}));
  add(Opcode::kChmod, with_file().msg(ChmodArgs{"/f", 0600}));
  add(Opcode::kUtimens, with_file().msg(UtimensArgs{"/f", 1, UtimensArgs::kTimeNow}));
  add(Opcode::kReadDir, with_file().msg(ReadDirArgs{"/", "", 64 << 10}));
  add(Opcode::kStatfs, SeedWriter().msg(StatfsArgs{}));
  add(Opcode::kRenameInsert, SeedWriter().msg(RenameInsertArgs{"/g", moved, 0, ""}));
  add(Opcode::kRenameRemove, with_file().msg(RenameRemoveArgs{"/f", f}));
  add(Opcode::kWrite, with_file().msg(WriteArgs{f, 0, 0}, "hello"));
  add(Opcode::kRead, with_file().msg(WriteArgs{f, 0, 0}, "hello").msg(ReadArgs{f, 0, 5}));
  add(Opcode::kTruncateData,
      with_file().msg(WriteArgs{f, 0, 0}, "hello").msg(TruncateDataArgs{f, 2}));
  add(Opcode::kRemoveData, with_file().msg(WriteArgs{f, 0, 0}, "hello").msg(RemoveDataArgs{f, 1}));
  add(Opcode::kFsyncData, with_file().msg(FsyncDataArgs{f}));
  // No kOpenData seed: the harness's memory store answers it EOPNOTSUPP
  // (a limit: no extents for clients), and a seed holds valid requests only.
  add(Opcode::kAppend, with_file().msg(AppendArgs{"/f", f, 5, 0}).msg(WriteArgs{f, 0, 0}, "hello"));
  add(Opcode::kWriters, with_file()
                           .msg(WriteArgs{f, 0, 1}, "hello")
                           .msg(WritersArgs{f, 1})
                           .msg(WritersArgs{f, 0})
                           .msg(CloseUpdateArgs{"/f", f, 5, 1, 1})
                           .msg(RemoveDataArgs{f, 1}));
  add(Opcode::kSymlink, SeedWriter()
                           .msg(SymlinkArgs{"/s", "f", 0, 0, 0})
                           .msg(StatArgs{"/s"})
                           .msg(RenameInsertArgs{"/t", symlink_attr(), 0, "f"}));
  // Requests on or next to the root, which none may remove or replace.
  out.emplace_back("root", SeedWriter()
                               .msg(StatArgs{"/"})
                               .msg(ChmodArgs{"/", 0700})
                               .msg(RenameInsertArgs{"/r", moved, 0, ""})
                               .msg(RenameRemoveArgs{"/r", moved.id})
                               .bytes);
  return out;
}

// Writes the seeds after checking that every request in them succeeds.
int write_seeds(const char* dir) {
  for (const auto& [name, bytes] : seeds()) {
    Reader in{reinterpret_cast<const uint8_t*>(bytes.data()) + 1, bytes.size() - 1};
    Harness h(0, 1);
    uint16_t hlen, dlen;
    const uint8_t *header, *data;
    while (in.u16(&hlen) && in.take(hlen, &header) && in.u16(&dlen) && in.take(dlen, &data)) {
      MsgHeader mh;
      std::string_view args;
      if (decode_message(header, hlen, dlen, 1, &mh, &args) != 0 || h.serve(mh, args, data, dlen) != 0) {
        std::fprintf(stderr, "seed %s: a request fails\n", name.c_str());
        return 1;
      }
    }
    FUZZ_CHECK(in.left == 0, in.left);
    std::string path = std::string(dir) + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace benchfs

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  for (int i = 1; i + 1 < *argc; ++i)
    if (std::strcmp((*argv)[i], "--write-seeds") == 0) std::exit(benchfs::write_seeds((*argv)[i + 1]));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace benchfs;
  if (size == 0) return 0;
  int nranks = 1 + (data[0] & 3);
  int rank = (data[0] >> 2) % nranks;
  Harness h(rank, nranks);
  Reader in{data + 1, size - 1};
  uint16_t hlen, dlen;
  const uint8_t *header, *payload;
  while (in.u16(&hlen) && in.take(hlen, &header) && in.u16(&dlen) && in.take(dlen, &payload))
    h.deliver(header, hlen, payload, dlen);
  h.check_alive();
  return 0;
}
