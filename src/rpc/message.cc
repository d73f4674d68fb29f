#include "rpc/message.h"

#include <cerrno>

namespace benchfs {

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::kOpen: return "open";
    case Opcode::kStat: return "stat";
    case Opcode::kUnlink: return "unlink";
    case Opcode::kCloseUpdate: return "close";
    case Opcode::kMkdir: return "mkdir";
    case Opcode::kRmdir: return "rmdir";
    case Opcode::kFenceDir: return "fence_dir";
    case Opcode::kUnfenceDir: return "unfence_dir";
    case Opcode::kTruncate: return "truncate";
    case Opcode::kChmod: return "chmod";
    case Opcode::kReadDir: return "readdir";
    case Opcode::kStatfs: return "statfs";
    case Opcode::kRenameInsert: return "rename_insert";
    case Opcode::kRenameRemove: return "rename_remove";
    case Opcode::kWrite: return "write";
    case Opcode::kRead: return "read";
    case Opcode::kTruncateData: return "truncate_data";
    case Opcode::kRemoveData: return "remove_data";
    case Opcode::kFsyncData: return "fsync_data";
    case Opcode::kOpenData: return "open_data";
    case Opcode::kAppend: return "append";
    case Opcode::kUtimens: return "utimens";
    case Opcode::kSymlink: return "symlink";
    case Opcode::kWriters: return "writers";
    case Opcode::kCount: break;
  }
  return "unknown";
}

int decode_header(const void* bytes, size_t len, MsgHeader* h, std::string_view* args) {
  if (bytes == nullptr || len < sizeof(MsgHeader)) return EPROTO;
  std::memcpy(h, bytes, sizeof(MsgHeader));
  if (h->magic != kMsgMagic) return EPROTO;
  if (h->opcode == 0 || h->opcode >= static_cast<uint16_t>(Opcode::kCount)) return EPROTO;
  if (h->args_len > kMaxArgsLen || len != sizeof(MsgHeader) + h->args_len) return EPROTO;
  *args = std::string_view(static_cast<const char*>(bytes) + sizeof(MsgHeader), h->args_len);
  return 0;
}

int decode_message(const void* bytes, size_t len, size_t data_len, int nranks, MsgHeader* h,
                   std::string_view* args) {
  int err = decode_header(bytes, len, h, args);
  // A payload is either carried (data_len bytes of AM data) or left at the
  // client (none carried).
  size_t carried = (h->flags & kFlagPeerMemory) ? 0 : h->data_len;
  if (err == 0 && carried == data_len && h->flags <= kFlagPeerMemory && h->src_rank >= 0 &&
      h->src_rank < nranks)
    return 0;
  // Salvage what identifies the sender and its request; nothing else of a
  // malformed message is trusted.
  if (bytes == nullptr || len < sizeof(MsgHeader)) return EBADMSG;
  MsgHeader raw;
  std::memcpy(&raw, bytes, sizeof raw);
  if (raw.magic != kMsgMagic || raw.src_rank < 0 || raw.src_rank >= nranks) return EBADMSG;
  MsgHeader salvaged;
  salvaged.opcode = raw.opcode;
  salvaged.src_rank = raw.src_rank;
  salvaged.req_id = raw.req_id;
  salvaged.status = EPROTO;
  *h = salvaged;
  *args = {};
  return EPROTO;
}

std::string encode_header(const MsgHeader& header, std::string_view args) {
  MsgHeader h = header;
  h.args_len = static_cast<uint32_t>(args.size());
  std::string out(sizeof(MsgHeader) + args.size(), '\0');
  std::memcpy(out.data(), &h, sizeof(MsgHeader));
  if (!args.empty()) std::memcpy(out.data() + sizeof(MsgHeader), args.data(), args.size());
  return out;
}

}  // namespace benchfs
