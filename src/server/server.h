// Request handlers of one rank's server: metadata it owns and chunks it
// stores.  Runs on the progress thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "rpc/call.h"
#include "rpc/message.h"
#include "store/chunk_store.h"
#include "store/metadata_table.h"

namespace benchfs {

// One request being served.  The progress engine creates it (from a UCX
// message or, for the caller's own rank, straight from the client's Call)
// and the server hands it back through `finish` with the reply filled in.
struct ServerOp {
  MsgHeader header;  // opcode, src_rank, req_id of the request
  std::string meta;
  const char* in_data = nullptr;  // request payload
  size_t in_len = 0;

  int status = 0;  // reply
  std::string reply_meta;
  char* out_data = nullptr;  // reply payload
  size_t out_len = 0;

  std::vector<char> storage;  // owns payload bytes when they are not the client's
  Call* local = nullptr;      // the caller's Call when it is on this rank

  Opcode opcode() const { return static_cast<Opcode>(header.opcode); }
  // Buffer for a reply payload of len bytes: the local caller's own buffer
  // when it fits (no copy), else storage.
  char* reply_buffer(size_t len);
};

class Server {
 public:
  using Finish = std::function<void(ServerOp*)>;

  Server(int rank, int nranks, uint64_t chunk_size, std::unique_ptr<ChunkStore> store,
         Finish finish);

  // Creates "/" if this rank owns it.
  void create_root();
  void handle(ServerOp* op);

  ChunkStore& store() { return *store_; }
  MetadataTable& metadata() { return table_; }
  uint64_t served(Opcode op) const { return served_[static_cast<size_t>(op)]; }

 private:
  void reply(ServerOp* op, int status);
  void handle_open(ServerOp* op, Decoder& d);
  void handle_stat(ServerOp* op, Decoder& d);
  void handle_unlink(ServerOp* op, Decoder& d);
  void handle_close_update(ServerOp* op, Decoder& d);
  void handle_mkdir(ServerOp* op, Decoder& d);
  void handle_rmdir(ServerOp* op, Decoder& d);
  void handle_has_children(ServerOp* op, Decoder& d);
  void handle_truncate(ServerOp* op, Decoder& d);
  void handle_chmod(ServerOp* op, Decoder& d);
  void handle_readdir(ServerOp* op, Decoder& d);
  void handle_statfs(ServerOp* op, Decoder& d);
  void handle_rename_insert(ServerOp* op, Decoder& d);
  void handle_rename_remove(ServerOp* op, Decoder& d);
  void handle_write(ServerOp* op, Decoder& d);
  void handle_read(ServerOp* op, Decoder& d);
  void handle_truncate_data(ServerOp* op, Decoder& d);
  void handle_remove_data(ServerOp* op, Decoder& d);
  void handle_fsync_data(ServerOp* op, Decoder& d);

  uint64_t new_file_id() { return (static_cast<uint64_t>(rank_) << 40) | ++last_file_id_; }

  int rank_;
  int nranks_;
  uint64_t chunk_size_;
  std::unique_ptr<ChunkStore> store_;
  Finish finish_;
  MetadataTable table_;
  uint64_t last_file_id_ = 0;
  uint64_t served_[static_cast<size_t>(Opcode::kCount)] = {};
};

}  // namespace benchfs
