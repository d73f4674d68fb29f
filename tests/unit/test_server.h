// The harness of tests/unit/server_test.cc: a Server driven directly, as
// the engine drives it but without MPI or UCX (a memory chunk
// store, one ServerOp at a time), and typed requests to it.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/placement.h"
#include "rpc/protocol.h"
#include "server/server.h"
#include "store/memory_chunk_store.h"

namespace benchfs {

constexpr uint64_t kChunk = 4096;
constexpr uint64_t kMemoryLimit = 1 << 20;

inline uint16_t op_code(Opcode op) { return static_cast<uint16_t>(op); }

struct ServerReply {
  int status = 0;
  std::string args;
  std::string data;
  size_t storage_capacity = 0;  // what the server allocated for the reply
};

// A server of rank `rank` in a job of `nranks`, whose replies land in a list.
class TestServer {
 public:
  explicit TestServer(int rank = 0, int nranks = 1) : rank_(rank), nranks_(nranks) {
    auto store = std::make_unique<MemoryChunkStore>(kChunk, kMemoryLimit, nranks, rank);
    store_ = store.get();
    server_ = std::make_unique<Server>(rank, nranks, kChunk, std::move(store));
    server_->set_finish([this](ServerOp* op) {
      ServerReply r;
      r.status = op->status;
      r.args = op->reply_args;
      if (op->out_len) r.data.assign(op->out_data, op->out_len);
      r.storage_capacity = op->storage.capacity();
      replies_.push_back(std::move(r));
      delete op;  // as the engine does once the reply is sent
    });
    server_->create_root();
  }

  // Serves a request with this header; exactly one reply must come back.
  ServerReply send_header(const MsgHeader& header, std::string_view args,
                          std::string_view payload) {
    auto* op = new ServerOp;
    op->header = header;
    op->args = std::string(args);
    op->storage.assign(payload.begin(), payload.end());
    op->in_data = op->storage.data();
    op->in_len = op->storage.size();
    size_t before = replies_.size();
    server_->handle(op);
    REQUIRE(replies_.size() == before + 1);  // the memory store completes at once
    ServerReply r = replies_.back();
    if (r.status != 0) {
      // An error reply carries nothing the sender might misread.
      CHECK(r.data.empty());
      CHECK(r.args.empty());
    }
    // The reply itself must fit the wire format.
    CHECK(r.args.size() <= kMaxArgsLen);
    return r;
  }

  ServerReply send(uint16_t opcode, std::string_view args, std::string_view payload = {}) {
    MsgHeader h;
    h.opcode = opcode;
    h.req_id = ++next_id_;
    h.data_len = payload.size();
    return send_header(h, args, payload);
  }
  ServerReply send(Opcode op, std::string_view args, std::string_view payload = {}) {
    return send(op_code(op), args, payload);
  }
  template <WireStruct Args>
  ServerReply send(const Args& args, std::string_view payload = {}) {
    return send(Args::kOp, encode(args), payload);
  }
  // Sends a request that must succeed; returns its reply, which must decode.
  template <WireStruct Args>
  ReplyOf<Args> expect_ok(const Args& args, std::string_view payload = {}) {
    ServerReply r = send(args, payload);
    REQUIRE(r.status == 0);
    ReplyOf<Args> out;
    REQUIRE(decode(r.args, &out));
    return out;
  }

  // What the transport does with an active message: decode_message, then the
  // server for anything answerable.  nullopt when the frame is dropped.
  std::optional<ServerReply> deliver(std::string_view frame, std::string_view data,
                                     int nranks = 1) {
    MsgHeader h;
    std::string_view args;
    int err = decode_message(frame.data(), frame.size(), data.size(), nranks, &h, &args);
    if (err == EBADMSG) return std::nullopt;
    REQUIRE((err == 0 || err == EPROTO));
    ServerReply r = send_header(h, args, err ? std::string_view() : data);
    if (err) CHECK(r.status == EPROTO);
    return r;
  }

  // A request every server must always answer with success.
  void expect_serving() {
    if (metadata_owner("/", nranks()) == rank()) CHECK(expect_ok(StatArgs{"/"}).attr.is_dir());
    expect_ok(StatfsArgs{});
  }

  Server& server() { return *server_; }
  MemoryChunkStore& store() { return *store_; }
  int rank() const { return rank_; }
  int nranks() const { return nranks_; }

 private:
  int rank_;
  int nranks_;
  std::unique_ptr<Server> server_;
  MemoryChunkStore* store_ = nullptr;
  std::vector<ServerReply> replies_;
  uint64_t next_id_ = 0;
};

// Creates name their parent by id; 0 is the root, never fenced.
inline OpenArgs open_args(std::string path, uint32_t flags, uint64_t parent = 0) {
  return OpenArgs{std::move(path), flags, 0644, 0, 0, parent};
}

inline MkdirArgs mkdir_args(std::string path, uint64_t parent = 0) {
  return MkdirArgs{std::move(path), 0755, 0, 0, parent};
}

inline Attr stat_of(TestServer& s, std::string path) {
  return s.expect_ok(StatArgs{std::move(path)}).attr;
}

// A one-rank server holding /d (dir), /d/f (file with 5 bytes), /d/u (file),
// /d/e (empty dir); returns the id of /d/f.
inline uint64_t populate(TestServer& s) {
  s.expect_ok(mkdir_args("/d"));
  s.expect_ok(mkdir_args("/d/e"));
  s.expect_ok(open_args("/d/u", O_CREAT | O_RDWR));
  uint64_t id = s.expect_ok(open_args("/d/f", O_CREAT | O_RDWR)).attr.id;
  s.expect_ok(WriteArgs{id, 0}, "hello");
  return id;
}

}  // namespace benchfs
