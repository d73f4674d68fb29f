// Request handlers of one rank's server: metadata it owns and chunks it
// stores.  The engine (engine/engine.h) hands it requests and takes its
// replies, always from the thread in its driver seat (the progress thread
// or a client thread driving its own calls), one at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/placement.h"
#include "engine/service.h"
#include "rpc/message.h"
#include "rpc/protocol.h"
#include "store/chunk_store.h"
#include "store/metadata_table.h"

namespace benchfs {

class Server final : public Service {
 public:
  Server(int rank, int nranks, uint64_t chunk_size, std::unique_ptr<ChunkStore> store);

  // Creates "/" if this rank owns it.
  void create_root();
  // Serves one request and replies exactly once through `finish`, with an
  // errno for a malformed one (see docs/reliability.md).
  void handle(ServerOp* op) override;
  // Whether a request with this header and payload size may be served: 0,
  // EPROTO (marked malformed by decode_message, nonzero status or unknown
  // opcode) or EMSGSIZE (more payload than its opcode can carry).  handle()
  // checks it; the engine also asks before it fetches a rendezvous
  // payload, so a garbage header cannot make the server allocate what it
  // declares.
  int admit(const MsgHeader& header, size_t payload_len) const override;
  void set_finish(Finish finish) override { finish_ = std::move(finish); }
  int event_fd() const override { return store_->event_fd(); }
  unsigned poll() override { return store_->poll(); }
  void set_owner_thread() override { store_->set_owner_thread(); }
  bool offers_backing_files() const override { return store_->offers_backing_files(); }

  ChunkStore& store() { return *store_; }
  MetadataTable& metadata() { return table_; }
  uint64_t served(Opcode op) const override { return served_[static_cast<size_t>(op)]; }

 private:
  void reply(ServerOp* op, int status);
  // Success, with the reply struct of the request's opcode.
  template <WireStruct Reply>
  void reply(ServerOp* op, const Reply& r) {
    op->reply_args = encode(r);
    reply(op, 0);
  }
  // Decodes the request's arguments as its opcode's Args (EPROTO unless
  // they decode exactly) and runs the handler, which must take those Args.
  template <Opcode kOp>
  void serve(ServerOp* op, void (Server::*handler)(ServerOp*, const typename Rpc<kOp>::Args&));

  void handle_open(ServerOp* op, const OpenArgs& args);
  void handle_stat(ServerOp* op, const StatArgs& args);
  void handle_unlink(ServerOp* op, const UnlinkArgs& args);
  void handle_close_update(ServerOp* op, const CloseUpdateArgs& args);
  void handle_mkdir(ServerOp* op, const MkdirArgs& args);
  void handle_rmdir(ServerOp* op, const RmdirArgs& args);
  void handle_fence_dir(ServerOp* op, const FenceDirArgs& args);
  void handle_unfence_dir(ServerOp* op, const UnfenceDirArgs& args);
  void handle_truncate(ServerOp* op, const TruncateArgs& args);
  void handle_chmod(ServerOp* op, const ChmodArgs& args);
  void handle_utimens(ServerOp* op, const UtimensArgs& args);
  void handle_readdir(ServerOp* op, const ReadDirArgs& args);
  void handle_statfs(ServerOp* op, const StatfsArgs& args);
  void handle_rename_insert(ServerOp* op, const RenameInsertArgs& args);
  void handle_rename_remove(ServerOp* op, const RenameRemoveArgs& args);
  void handle_write(ServerOp* op, const WriteArgs& args);
  void handle_read(ServerOp* op, const ReadArgs& args);
  void handle_truncate_data(ServerOp* op, const TruncateDataArgs& args);
  void handle_remove_data(ServerOp* op, const RemoveDataArgs& args);
  void handle_fsync_data(ServerOp* op, const FsyncDataArgs& args);
  void handle_open_data(ServerOp* op, const OpenDataArgs& args);
  void handle_append(ServerOp* op, const AppendArgs& args);
  void handle_symlink(ServerOp* op, const SymlinkArgs& args);
  void handle_writers(ServerOp* op, const WritersArgs& args);

  // Argument checks shared by the handlers: 0 or the errno to reply.
  int check_path_request(const std::string& path, bool owned) const;
  int check_chunk_range(uint64_t id, uint64_t offset, uint64_t len) const;
  int check_link_target(const std::string& target) const;

  uint64_t new_file_id() { return make_file_id(rank_, ++last_file_id_); }
  // Forgets a file this server made, which is being removed; 1 if it had
  // writers (its id must then be made stale everywhere), else 0.
  uint8_t forget_writers(uint64_t id);
  // One writer more or fewer; a new writer of a file no longer live is
  // ESTALE.
  int count_writer(uint64_t id, bool add);
  // Whether a data request for id is refused (ESTALE): see kRemoveData.
  bool stale(uint64_t id) const;

  int rank_;
  int nranks_;
  uint64_t chunk_size_;
  std::unique_ptr<ChunkStore> store_;
  Finish finish_;
  MetadataTable table_;
  uint64_t last_file_id_ = 0;
  // The files this server made (chunk 0 lives here) that are not removed,
  // and the writers (see kWriters) of those that have any.
  std::unordered_set<uint64_t> live_files_;
  std::unordered_map<uint64_t, uint32_t> writers_;
  std::unordered_set<uint64_t> stale_ids_;  // files removed while open for writing
  uint64_t served_[static_cast<size_t>(Opcode::kCount)] = {};
};

}  // namespace benchfs
