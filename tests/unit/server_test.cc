// Tests of src/server/server.h against malformed requests: Server::handle
// driven directly (memory chunk store, no MPI), one ServerOp at a time, the
// way the progress engine hands them over.  Every request must get exactly
// one reply, a bad one an errno, and the server must keep serving.
#include "server/server.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/placement.h"
#include "store/memory_chunk_store.h"

namespace benchfs {
namespace {

constexpr uint64_t kChunk = 4096;
constexpr uint64_t kMemoryLimit = 1 << 20;

uint16_t op_code(Opcode op) { return static_cast<uint16_t>(op); }

struct Reply {
  int status = 0;
  std::string args;
  std::string data;
  size_t storage_capacity = 0;  // what the server allocated for the reply
};

// A server of rank `rank` in a job of `nranks`, whose replies land in a list.
class TestServer {
 public:
  explicit TestServer(int rank = 0, int nranks = 1) : rank_(rank), nranks_(nranks) {
    auto store = std::make_unique<MemoryChunkStore>(kChunk, kMemoryLimit);
    store_ = store.get();
    server_ = std::make_unique<Server>(rank, nranks, kChunk, std::move(store));
    server_->set_finish([this](ServerOp* op) {
      Reply r;
      r.status = op->status;
      r.args = op->reply_args;
      if (op->out_len) r.data.assign(op->out_data, op->out_len);
      r.storage_capacity = op->storage.capacity();
      replies_.push_back(std::move(r));
      delete op;  // as the progress engine does once the reply is sent
    });
    server_->create_root();
  }

  // Serves a request with this header; exactly one reply must come back.
  Reply send_header(const MsgHeader& header, std::string_view args, std::string_view payload) {
    auto* op = new ServerOp;
    op->header = header;
    op->args = std::string(args);
    op->storage.assign(payload.begin(), payload.end());
    op->in_data = op->storage.data();
    op->in_len = op->storage.size();
    size_t before = replies_.size();
    server_->handle(op);
    REQUIRE(replies_.size() == before + 1);  // the memory store completes at once
    Reply r = replies_.back();
    if (r.status != 0) {
      // An error reply carries nothing the sender might misread.
      CHECK(r.data.empty());
      CHECK(r.args.empty());
    }
    // The reply itself must fit the wire format.
    CHECK(r.args.size() <= kMaxArgsLen);
    return r;
  }

  Reply send(uint16_t opcode, std::string_view args, std::string_view payload = {}) {
    MsgHeader h;
    h.opcode = opcode;
    h.req_id = ++next_id_;
    h.data_len = payload.size();
    return send_header(h, args, payload);
  }
  Reply send(Opcode op, std::string_view args, std::string_view payload = {}) {
    return send(op_code(op), args, payload);
  }

  // What the transport does with an active message: decode_message, then the
  // server for anything answerable.  nullopt when the frame is dropped.
  std::optional<Reply> deliver(std::string_view frame, std::string_view data, int nranks = 1) {
    MsgHeader h;
    std::string_view args;
    int err = decode_message(frame.data(), frame.size(), data.size(), nranks, &h, &args);
    if (err == EBADMSG) return std::nullopt;
    REQUIRE((err == 0 || err == EPROTO));
    Reply r = send_header(h, args, err ? std::string_view() : data);
    if (err) CHECK(r.status == EPROTO);
    return r;
  }

  // A request every server must always answer with success.
  void expect_serving() {
    if (metadata_owner("/", nranks()) == rank()) {
      Reply r = send(Opcode::kStat, Encoder().str("/").take());
      REQUIRE(r.status == 0);
      Decoder d(r.args);
      CHECK(decode_attr(d).is_dir());
      CHECK(d.done());
    }
    Reply s = send(Opcode::kStatfs, "");
    REQUIRE(s.status == 0);
    CHECK(s.args.size() == 24);
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
  std::vector<Reply> replies_;
  uint64_t next_id_ = 0;
};

std::string path_meta(std::string_view path) { return Encoder().str(path).take(); }

// Creates name their parent by id; 0 is the root, never fenced.
std::string open_meta(std::string_view path, uint32_t flags, uint64_t parent = 0) {
  return Encoder().str(path).u32(flags).u32(0644).u32(0).u32(0).u64(parent).take();
}

std::string mkdir_meta(std::string_view path, uint64_t parent = 0) {
  return Encoder().str(path).u32(0755).u32(0).u32(0).u64(parent).take();
}

std::string id_meta(std::string_view path, uint64_t id) {
  return Encoder().str(path).u64(id).take();
}

// A rename's insert of `a` under `path`.
std::string insert_meta(std::string_view path, const Attr& a, uint64_t parent = 0) {
  Encoder e;
  e.str(path);
  encode_attr(e, a);
  return e.u64(parent).take();
}

Attr stat_of(TestServer& s, std::string_view path) {
  Reply r = s.send(Opcode::kStat, path_meta(path));
  REQUIRE(r.status == 0);
  Decoder d(r.args);
  return decode_attr(d);
}

// A one-rank server holding /d (dir), /d/f (file with 5 bytes), /d/u (file),
// /d/e (empty dir); returns the id of /d/f.
uint64_t populate(TestServer& s) {
  REQUIRE(s.send(Opcode::kMkdir, mkdir_meta("/d")).status == 0);
  REQUIRE(s.send(Opcode::kMkdir, mkdir_meta("/d/e")).status == 0);
  REQUIRE(s.send(Opcode::kOpen, open_meta("/d/u", O_CREAT | O_RDWR)).status == 0);
  Reply r = s.send(Opcode::kOpen, open_meta("/d/f", O_CREAT | O_RDWR));
  REQUIRE(r.status == 0);
  Decoder d(r.args);
  uint64_t id = decode_attr(d).id;
  REQUIRE(s.send(Opcode::kWrite, Encoder().u64(id).u64(0).take(), "hello").status == 0);
  return id;
}

struct ValidRequest {
  Opcode op;
  std::string args;
  std::string payload;
  bool path_first;  // the block starts with a string
  int status = 0;   // what a valid request gets
};

// One valid request per opcode against a populated server.
std::vector<ValidRequest> valid_requests(TestServer& s, uint64_t id) {
  Reply st = s.send(Opcode::kStat, path_meta("/d/f"));
  REQUIRE(st.status == 0);
  Decoder d(st.args);
  Attr f = decode_attr(d);
  Encoder rename;
  rename.str("/d/r");
  encode_attr(rename, f);
  rename.u64(0);  // parent id 0: never fenced
  std::vector<ValidRequest> v = {
      {Opcode::kOpen, open_meta("/d/g", O_CREAT | O_RDWR), "", true},
      {Opcode::kStat, path_meta("/d/f"), "", true},
      {Opcode::kUnlink, path_meta("/d/u"), "", true},
      {Opcode::kCloseUpdate, Encoder().str("/d/f").u64(id).u64(5).u8(1).take(), "", true},
      {Opcode::kMkdir, mkdir_meta("/d/m"), "", true},
      {Opcode::kRmdir, id_meta("/d/e", stat_of(s, "/d/e").id), "", true},
      {Opcode::kFenceDir, id_meta("/d", stat_of(s, "/d").id), "", true},
      {Opcode::kUnfenceDir, Encoder().u64(stat_of(s, "/d").id).take(), "", false},
      {Opcode::kTruncate, Encoder().str("/d/f").u64(3).take(), "", true},
      {Opcode::kChmod, Encoder().str("/d/f").u32(0600).take(), "", true},
      {Opcode::kReadDir, Encoder().str("/d").str("").u64(64 << 10).take(), "", true},
      {Opcode::kStatfs, "", "", false},
      {Opcode::kRenameInsert, rename.take(), "", true},
      {Opcode::kRenameRemove, Encoder().str("/d/f").u64(id).take(), "", true},
      {Opcode::kWrite, Encoder().u64(id).u64(kChunk).take(), "abc", false},
      {Opcode::kRead, Encoder().u64(id).u64(0).u64(5).take(), "", false},
      {Opcode::kTruncateData, Encoder().u64(id).u64(2).take(), "", false},
      {Opcode::kRemoveData, Encoder().u64(id).take(), "", false},
      {Opcode::kFsyncData, Encoder().u64(id).take(), "", false},
      // The memory store keeps no backing files for clients to copy into.
      {Opcode::kOpenData, Encoder().u64(id).u8(1).take(), "", false, EOPNOTSUPP},
  };
  REQUIRE(v.size() == static_cast<size_t>(Opcode::kCount) - 1);
  return v;
}

void set_u32(std::string& bytes, size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); }

// The errnos a server may answer with; anything else is a bug.
const std::set<int> kServerErrnos = {EPROTO, EINVAL,  ENAMETOOLONG, EMSGSIZE, ENOENT,
                                     EEXIST, EISDIR,  ENOTDIR,      ENOTEMPTY, EBUSY,
                                     ESTALE, ENOSPC,  EOPNOTSUPP};

}  // namespace

TEST_CASE("server: one valid request per opcode succeeds (the baseline of the tests below)") {
  TestServer probe;
  uint64_t id = populate(probe);
  for (const ValidRequest& v : valid_requests(probe, id)) {
    CAPTURE(opcode_name(v.op));
    TestServer s;
    populate(s);
    Reply r = s.send(v.op, v.args, v.payload);
    CHECK(r.status == v.status);
  }
}

TEST_CASE("server: malformed argument blocks of every opcode get EPROTO, and serving goes on") {
  TestServer probe;
  uint64_t id = populate(probe);
  for (const ValidRequest& v : valid_requests(probe, id)) {
    CAPTURE(opcode_name(v.op));
    TestServer s;
    REQUIRE(populate(s) == id);  // ids are deterministic, so the table fits

    for (size_t n = 0; n < v.args.size(); ++n) {
      CAPTURE(n);
      CHECK(s.send(v.op, v.args.substr(0, n), v.payload).status == EPROTO);
    }
    CHECK(s.send(v.op, v.args + "x", v.payload).status == EPROTO);
    CHECK(s.send(v.op, v.args + std::string(8, '\0'), v.payload).status == EPROTO);
    if (v.path_first) {
      uint32_t real;
      std::memcpy(&real, v.args.data(), 4);
      for (uint32_t bad : {real + 1, real - 1, static_cast<uint32_t>(v.args.size()),
                           0x7fffffffu, 0xffffffffu}) {
        CAPTURE(bad);
        std::string m = v.args;
        set_u32(m, 0, bad);
        CHECK(s.send(v.op, m, v.payload).status == EPROTO);
      }
    }
    s.expect_serving();
    // None of that changed anything: the valid request still does its job.
    CHECK(s.send(v.op, v.args, v.payload).status == v.status);
    s.expect_serving();
  }
}

TEST_CASE("server: payload and opcode must agree") {
  TestServer probe;
  uint64_t id = populate(probe);
  for (const ValidRequest& v : valid_requests(probe, id)) {
    if (v.op == Opcode::kWrite) continue;
    CAPTURE(opcode_name(v.op));
    TestServer s;
    populate(s);
    CHECK(s.send(v.op, v.args, "payload on a request that takes none").status == EMSGSIZE);
    CHECK(s.send(v.op, v.args, "x").status == EMSGSIZE);
    CHECK(s.send(v.op, v.args).status == v.status);
  }
  TestServer s;
  populate(s);
  uint64_t used = s.store().used();
  CHECK(s.send(Opcode::kWrite, Encoder().u64(id).u64(0).take()).status == EINVAL);  // nothing to write
  CHECK(s.send(Opcode::kWrite, Encoder().u64(id).u64(0).take(), std::string(kChunk + 1, 'w')).status ==
        EMSGSIZE);
  CHECK(s.store().used() == used);
  CHECK(s.send(Opcode::kWrite, Encoder().u64(id).u64(0).take(), std::string(kChunk, 'w')).status == 0);
}

TEST_CASE("server: unknown opcodes and requests carrying a status get EPROTO") {
  TestServer s;
  for (uint16_t op : {uint16_t{0}, op_code(Opcode::kCount), uint16_t(op_code(Opcode::kCount) + 1),
                      uint16_t{0xffff}}) {
    CAPTURE(op);
    CHECK(s.send(op, path_meta("/")).status == EPROTO);
    CHECK(s.send(op, "").status == EPROTO);
    s.expect_serving();
  }
  MsgHeader h;
  h.opcode = op_code(Opcode::kStat);
  h.status = ENOENT;
  CHECK(s.send_header(h, path_meta("/"), "").status == EPROTO);
  s.expect_serving();
  // The served counters count only what was served.
  CHECK(s.server().served(Opcode::kStat) == 5);  // the five expect_serving() probes
}

TEST_CASE("server: random argument blocks and payloads never break a server") {
  std::mt19937_64 rng(8);
  for (uint16_t op = 0; op <= op_code(Opcode::kCount); ++op) {
    CAPTURE(op);
    TestServer s;
    uint64_t id = populate(s);
    for (int iter = 0; iter < 300; ++iter) {
      std::string args(rng() % 80, '\0');
      for (auto& c : args) c = static_cast<char>(rng());
      if (iter % 3 == 0) args = path_meta("/d/f") + args.substr(0, rng() % 24);  // plausible start
      if (iter % 3 == 1 && args.size() >= 8) std::memcpy(args.data(), &id, 8);
      std::string payload(rng() % 4 == 0 ? rng() % (2 * kChunk) : 0, 'p');
      Reply r = s.send(op, args, payload);
      if (r.status != 0) CHECK(kServerErrnos.count(r.status) == 1);
      CHECK(s.store().used() <= kMemoryLimit);
      CHECK(r.data.size() <= std::max<uint64_t>(kChunk, kMaxReadDirBytes));
    }
    s.expect_serving();
  }
}

TEST_CASE("server: reads are bounded by one chunk and allocate nothing when refused") {
  TestServer s;
  uint64_t id = populate(s);
  auto read = [&](uint64_t offset, uint64_t len) {
    return s.send(Opcode::kRead, Encoder().u64(id).u64(offset).u64(len).take());
  };
  for (uint64_t len : {uint64_t{1} << 30, ~uint64_t{0}, kChunk + 1, uint64_t{0}}) {
    CAPTURE(len);
    Reply r = read(0, len);
    CHECK(r.status == EINVAL);
    CHECK(r.storage_capacity == 0);  // refused before the reply buffer exists
  }
  CHECK(read(kChunk - 1, 2).status == EINVAL);    // crosses into the next chunk
  CHECK(read(~uint64_t{0} - 9, 10).status == EINVAL);  // offset + len wraps around
  CHECK(read(kMaxFileSize - kChunk + 1, kChunk).status == EINVAL);  // ends past off_t
  Reply last = read(kMaxFileSize - kChunk + 1, kChunk - 1);  // the last bytes a file may have
  CHECK(last.status == 0);
  CHECK(last.data == std::string(kChunk - 1, '\0'));
  Reply whole = read(0, kChunk);
  REQUIRE(whole.status == 0);
  CHECK(whole.data.substr(0, 6) == std::string("hello\0", 6));
  s.expect_serving();
}

TEST_CASE("server: writes are bounded by one chunk and an off_t offset") {
  TestServer s;
  uint64_t id = populate(s);
  uint64_t used = s.store().used();
  auto write = [&](uint64_t offset, std::string_view data) {
    return s.send(Opcode::kWrite, Encoder().u64(id).u64(offset).take(), data);
  };
  CHECK(write(kChunk - 1, "ab").status == EINVAL);
  CHECK(write(~uint64_t{0} - 1, "ab").status == EINVAL);
  CHECK(write(kMaxFileSize - 1, "ab").status == EINVAL);
  CHECK(s.store().used() == used);
  CHECK(write(kMaxFileSize - 2, "ab").status == 0);
  // More than the store holds is ENOSPC, and the store stays as it was.
  used = s.store().used();
  int refused = 0;
  for (uint64_t k = 1; k <= kMemoryLimit / kChunk + 1; ++k) {
    Reply r = write(k * kChunk * 7, std::string(kChunk, 'z'));
    if (r.status == ENOSPC) ++refused;
    else CHECK(r.status == 0);
  }
  CHECK(refused > 0);
  CHECK(s.store().used() <= kMemoryLimit);
  s.expect_serving();
}

TEST_CASE("server: sizes past off_t are refused") {
  TestServer s;
  uint64_t id = populate(s);
  for (uint64_t size : {uint64_t{1} << 63, ~uint64_t{0}}) {
    CAPTURE(size);
    CHECK(s.send(Opcode::kTruncate, Encoder().str("/d/f").u64(size).take()).status == EINVAL);
    CHECK(s.send(Opcode::kTruncateData, Encoder().u64(id).u64(size).take()).status == EINVAL);
    CHECK(s.send(Opcode::kCloseUpdate, Encoder().str("/d/f").u64(id).u64(size).u8(1).take()).status ==
          EINVAL);
  }
  Reply st = s.send(Opcode::kStat, path_meta("/d/f"));
  Decoder d(st.args);
  CHECK(decode_attr(d).size == 0);  // close_update not yet applied; nothing absurd stored
  CHECK(s.send(Opcode::kTruncate, Encoder().str("/d/f").u64(kMaxFileSize).take()).status == 0);
  CHECK(s.send(Opcode::kTruncateData, Encoder().u64(id).u64(kMaxFileSize).take()).status == 0);
  s.expect_serving();
}

TEST_CASE("server: readdir page sizes are bounded") {
  TestServer s;
  populate(s);
  auto readdir = [&](uint64_t max_bytes) {
    return s.send(Opcode::kReadDir, Encoder().str("/d").str("").u64(max_bytes).take());
  };
  for (uint64_t max : {~uint64_t{0}, uint64_t{1} << 30, kMaxReadDirBytes + 1, kMinReadDirBytes - 1,
                       uint64_t{0}}) {
    CAPTURE(max);
    CHECK(readdir(max).status == EINVAL);
  }
  for (uint64_t max : {kMinReadDirBytes, kMaxReadDirBytes}) {
    Reply r = readdir(max);
    REQUIRE(r.status == 0);
    CHECK(r.data.size() <= max);
    CHECK(r.args == std::string("\0", 1));  // all three entries fit: no more
  }
  s.expect_serving();
}

TEST_CASE("server: paths must be absolute, normalised, NUL-free and at most PATH_MAX - 1 bytes") {
  TestServer s;
  populate(s);
  std::string long_name(NAME_MAX + 1, 'n');
  std::string long_path;
  while (long_path.size() < PATH_MAX) long_path += "/" + std::string(200, 'p');
  struct Case {
    std::string path;
    int err;
  };
  std::vector<Case> cases = {
      {"", EINVAL},          {"d/f", EINVAL},        {"/d//f", EINVAL},      {"/d/f/", EINVAL},
      {"/d/./f", EINVAL},    {"/d/../d/f", EINVAL},  {"//", EINVAL},         {std::string("/d\0f", 4), EINVAL},
      {"/" + long_name, ENAMETOOLONG},               {long_path, ENAMETOOLONG},
  };
  for (const Case& c : cases) {
    CAPTURE(c.path);
    CHECK(s.send(Opcode::kOpen, open_meta(c.path, O_CREAT | O_RDWR)).status == c.err);
    CHECK(s.send(Opcode::kStat, path_meta(c.path)).status == c.err);
    CHECK(s.send(Opcode::kUnlink, path_meta(c.path)).status == c.err);
    CHECK(s.send(Opcode::kMkdir, mkdir_meta(c.path)).status == c.err);
    CHECK(s.send(Opcode::kRmdir, id_meta(c.path, 1)).status == c.err);
    CHECK(s.send(Opcode::kFenceDir, id_meta(c.path, 1)).status == c.err);
    CHECK(s.send(Opcode::kTruncate, Encoder().str(c.path).u64(0).take()).status == c.err);
    CHECK(s.send(Opcode::kChmod, Encoder().str(c.path).u32(0).take()).status == c.err);
    CHECK(s.send(Opcode::kReadDir, Encoder().str(c.path).str("").u64(4096).take()).status == c.err);
    CHECK(s.send(Opcode::kCloseUpdate, Encoder().str(c.path).u64(1).u64(0).u8(0).take()).status ==
          c.err);
    CHECK(s.send(Opcode::kRenameRemove, Encoder().str(c.path).u64(1).take()).status == c.err);
    Attr a;
    a.mode = S_IFREG | 0644;
    Encoder e;
    e.str(c.path);
    encode_attr(e, a);
    e.u64(0);  // parent id 0: never fenced
    CHECK(s.send(Opcode::kRenameInsert, e.take()).status == c.err);
  }
  // Nothing of that landed in the table.
  Reply r = s.send(Opcode::kStatfs, "");
  Decoder d(r.args);
  d.u64();
  d.u64();
  CHECK(d.u64() == 5);  // "/", /d, /d/e, /d/f, /d/u
  s.expect_serving();
}

TEST_CASE("server: requests for another server's metadata or chunks are refused") {
  const int nranks = 4;
  TestServer s(0, nranks);
  // Paths this rank owns and does not own.
  std::string mine, theirs;
  for (int i = 0; mine.empty() || theirs.empty(); ++i) {
    std::string p = "/p" + std::to_string(i);
    (metadata_owner(p, nranks) == 0 ? mine : theirs) = p;
  }
  CHECK(s.send(Opcode::kOpen, open_meta(theirs, O_CREAT | O_RDWR)).status == EPROTO);
  CHECK(s.send(Opcode::kMkdir, mkdir_meta(theirs)).status == EPROTO);
  CHECK(s.send(Opcode::kOpen, open_meta(mine, O_CREAT | O_RDWR)).status == 0);
  // Asked of every server: any path.
  CHECK(s.send(Opcode::kFenceDir, id_meta(theirs, 1)).status == 0);
  CHECK(s.send(Opcode::kReadDir, Encoder().str(theirs).str("").u64(4096).take()).status == 0);

  const uint64_t id = 12345;
  uint64_t here = first_chunk_on(id, 0, nranks);
  uint64_t elsewhere = here + 1;
  CHECK(s.send(Opcode::kWrite, Encoder().u64(id).u64(elsewhere * kChunk).take(), "x").status == EPROTO);
  CHECK(s.send(Opcode::kRead, Encoder().u64(id).u64(elsewhere * kChunk).u64(1).take()).status ==
        EPROTO);
  CHECK(s.store().file_count() == 0);
  CHECK(s.send(Opcode::kWrite, Encoder().u64(id).u64(here * kChunk).take(), "x").status == 0);
  CHECK(s.send(Opcode::kRead, Encoder().u64(id).u64(here * kChunk).u64(1).take()).status == 0);
  s.expect_serving();
}

TEST_CASE("server: the root cannot be renamed away, and entries keep a real type") {
  TestServer s;
  Reply root = s.send(Opcode::kStat, path_meta("/"));
  REQUIRE(root.status == 0);
  Decoder d(root.args);
  Attr ra = decode_attr(d);
  CHECK(s.send(Opcode::kRenameRemove, Encoder().str("/").u64(ra.id).take()).status == EBUSY);
  Encoder onto_root;
  onto_root.str("/");
  encode_attr(onto_root, ra);
  onto_root.u64(0);  // parent id 0: never fenced
  CHECK(s.send(Opcode::kRenameInsert, onto_root.take()).status == EBUSY);
  s.expect_serving();

  for (uint32_t mode : {uint32_t{S_IFLNK | 0777}, uint32_t{S_IFIFO}, uint32_t{0}, ~uint32_t{0}}) {
    CAPTURE(mode);
    Attr a;
    a.id = 77;
    a.mode = mode;
    Encoder e;
    e.str("/odd");
    encode_attr(e, a);
    e.u64(0);  // parent id 0: never fenced
    CHECK(s.send(Opcode::kRenameInsert, e.take()).status == EINVAL);
  }
  Attr big;
  big.id = 78;
  big.mode = S_IFREG | 0644;
  big.size = uint64_t{1} << 63;
  Encoder e;
  e.str("/big");
  encode_attr(e, big);
  e.u64(0);  // parent id 0: never fenced
  CHECK(s.send(Opcode::kRenameInsert, e.take()).status == EINVAL);
  CHECK(s.send(Opcode::kStat, path_meta("/odd")).status == ENOENT);
  CHECK(s.send(Opcode::kStat, path_meta("/big")).status == ENOENT);
}

TEST_CASE("server: a repeated rename insert answers with a complete reply") {
  TestServer s;
  populate(s);
  Reply st = s.send(Opcode::kStat, path_meta("/d/f"));
  Decoder d(st.args);
  Attr f = decode_attr(d);
  Encoder e;
  e.str("/d/r");
  encode_attr(e, f);
  e.u64(0);  // parent id 0: never fenced
  std::string args = e.take();
  for (int attempt = 0; attempt < 2; ++attempt) {
    CAPTURE(attempt);
    Reply r = s.send(Opcode::kRenameInsert, args);
    REQUIRE(r.status == 0);
    Decoder rd(r.args);
    CHECK(rd.u8() == 0);  // nothing was replaced
    rd.u64();
    rd.u64();
    rd.u8();
    CHECK(rd.done());  // the client decodes all four fields
  }
}

TEST_CASE("server: no entry is created under a fenced directory") {
  TestServer s;
  populate(s);
  const uint64_t e = stat_of(s, "/d/e").id;
  Reply f = s.send(Opcode::kFenceDir, id_meta("/d/e", e));
  REQUIRE(f.status == 0);
  CHECK(f.args == Encoder().u8(0).take());  // empty: fenced
  const std::string into_e = insert_meta("/d/e/u", stat_of(s, "/d/u"), e);
  auto refused = [&] {
    CHECK(s.send(Opcode::kOpen, open_meta("/d/e/x", O_CREAT | O_RDWR, e)).status == ESTALE);
    CHECK(s.send(Opcode::kMkdir, mkdir_meta("/d/e/y", e)).status == ESTALE);
    CHECK(s.send(Opcode::kRenameInsert, into_e).status == ESTALE);
    CHECK(s.send(Opcode::kStat, path_meta("/d/e/x")).status == ENOENT);
  };
  refused();
  // Only the id is fenced: other directories and plain opens are served.
  CHECK(s.send(Opcode::kOpen, open_meta("/d/x", O_CREAT | O_RDWR, stat_of(s, "/d").id)).status == 0);
  CHECK(s.send(Opcode::kOpen, open_meta("/d/f", O_RDONLY, e)).status == 0);
  // Counted: a second fence (another rmdir of it) outlives lifting one.
  REQUIRE(s.send(Opcode::kFenceDir, id_meta("/d/e", e)).status == 0);
  REQUIRE(s.send(Opcode::kUnfenceDir, Encoder().u64(e).take()).status == 0);
  refused();
  REQUIRE(s.send(Opcode::kUnfenceDir, Encoder().u64(e).take()).status == 0);
  CHECK(s.send(Opcode::kOpen, open_meta("/d/e/x", O_CREAT | O_RDWR, e)).status == 0);
  CHECK(s.send(Opcode::kMkdir, mkdir_meta("/d/e/y", e)).status == 0);
  // With an entry under it, a directory is not fenced.
  f = s.send(Opcode::kFenceDir, id_meta("/d/e", e));
  REQUIRE(f.status == 0);
  CHECK(f.args == Encoder().u8(1).take());
  CHECK(s.send(Opcode::kOpen, open_meta("/d/e/z", O_CREAT | O_RDWR, e)).status == 0);
  s.expect_serving();
}

TEST_CASE("server: rmdir removes only the directory the client fenced") {
  TestServer s;
  populate(s);
  const uint64_t e = stat_of(s, "/d/e").id;
  CHECK(s.send(Opcode::kRmdir, id_meta("/d/e", e + 1000)).status == ESTALE);
  CHECK(stat_of(s, "/d/e").id == e);
  CHECK(s.send(Opcode::kRmdir, id_meta("/d/e", e)).status == 0);
  CHECK(s.send(Opcode::kStat, path_meta("/d/e")).status == ENOENT);
}

TEST_CASE("server: a directory moved by rename gets a new id") {
  TestServer s;
  populate(s);
  Attr e = stat_of(s, "/d/e");
  REQUIRE(s.send(Opcode::kRenameInsert, insert_meta("/m", e)).status == 0);
  Attr m = stat_of(s, "/m");
  CHECK(m.is_dir());
  CHECK(m.id != e.id);  // the old id stays fenced for the old path
  // A file keeps its id, and with it its chunks.
  Attr f = stat_of(s, "/d/f");
  REQUIRE(s.send(Opcode::kRenameInsert, insert_meta("/g", f)).status == 0);
  CHECK(stat_of(s, "/g").id == f.id);
}

TEST_CASE("server: admit bounds a rendezvous payload before it is fetched") {
  TestServer s;
  MsgHeader h;
  h.opcode = op_code(Opcode::kWrite);
  CHECK(s.server().admit(h, kChunk) == 0);
  CHECK(s.server().admit(h, kChunk + 1) == EMSGSIZE);
  CHECK(s.server().admit(h, size_t{1} << 40) == EMSGSIZE);
  h.opcode = op_code(Opcode::kRead);
  CHECK(s.server().admit(h, 0) == 0);
  CHECK(s.server().admit(h, 1) == EMSGSIZE);
  h.opcode = op_code(Opcode::kCount);
  CHECK(s.server().admit(h, 0) == EPROTO);
  h.opcode = op_code(Opcode::kWrite);
  h.status = EPROTO;
  CHECK(s.server().admit(h, 1) == EPROTO);
}

TEST_CASE("server: whole frames through decode_message, as the transport delivers them") {
  TestServer s;
  MsgHeader h;
  h.opcode = op_code(Opcode::kStat);
  h.req_id = 99;
  std::string good = encode_header(h, path_meta("/"));

  auto ok = s.deliver(good, "");
  REQUIRE(ok);
  CHECK(ok->status == 0);

  // Inconsistent but ours: answered with EPROTO.
  std::string truncated_meta = good.substr(0, good.size() - 1);
  auto r = s.deliver(truncated_meta, "");
  REQUIRE(r);
  CHECK(r->status == EPROTO);
  r = s.deliver(good + "trailing", "");
  REQUIRE(r);
  CHECK(r->status == EPROTO);
  r = s.deliver(good, "data the header does not declare");
  REQUIRE(r);
  CHECK(r->status == EPROTO);
  MsgHeader unknown = h;
  unknown.opcode = 0x7777;
  r = s.deliver(encode_header(unknown, path_meta("/")), "");
  REQUIRE(r);
  CHECK(r->status == EPROTO);

  // Not ours or no sender to answer: dropped.
  CHECK_FALSE(s.deliver(good.substr(0, sizeof(MsgHeader) - 1), ""));
  CHECK_FALSE(s.deliver("", ""));
  std::string foreign = good;
  foreign[0] ^= 0x5a;
  CHECK_FALSE(s.deliver(foreign, ""));
  CHECK_FALSE(s.deliver(good, "", 0));  // src_rank 0 in a job of no ranks
  MsgHeader stranger = h;
  stranger.src_rank = 5;
  CHECK_FALSE(s.deliver(encode_header(stranger, path_meta("/")), "", 4));
  stranger.src_rank = -1;
  CHECK_FALSE(s.deliver(encode_header(stranger, path_meta("/")), "", 4));

  // Random frames: dropped or answered exactly once (deliver checks both).
  std::mt19937_64 rng(88);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string frame(rng() % 120, '\0');
    for (auto& c : frame) c = static_cast<char>(rng());
    if (iter % 2 == 0 && frame.size() >= sizeof(MsgHeader)) {
      MsgHeader g;
      std::memcpy(&g, frame.data(), sizeof g);
      g.magic = kMsgMagic;
      g.src_rank = static_cast<int32_t>(rng() % 3);
      g.status = 0;
      g.opcode = static_cast<uint16_t>(rng() % (op_code(Opcode::kCount) + 1));
      if (rng() % 2) g.args_len = static_cast<uint32_t>(frame.size() - sizeof g);
      g.data_len = rng() % 3;
      std::memcpy(frame.data(), &g, sizeof g);
    }
    s.deliver(frame, std::string(rng() % 3, 'd'), 2);
  }
  s.expect_serving();
}

}  // namespace benchfs
