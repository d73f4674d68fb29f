// Tests of src/server/server.h against malformed requests: Server::handle
// driven directly (memory chunk store, no MPI), one ServerOp at a time, the
// way the engine hands them over.  Every request must get exactly
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
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/placement.h"
#include "rpc/protocol.h"
#include "test_server.h"

namespace benchfs {
namespace {


struct ValidRequest {
  Opcode op;
  std::string args;
  std::string payload;
  bool path_first;  // the block starts with a string (the path)
  int status = 0;   // what a valid request gets
};

template <WireStruct Args>
ValidRequest valid(const Args& args, std::string payload = "", int status = 0) {
  constexpr bool path_first = requires { args.path; };
  return {Args::kOp, encode(args), std::move(payload), path_first, status};
}

// One valid request per opcode, in opcode order, against a populated server.
std::vector<ValidRequest> valid_requests(TestServer& s, uint64_t id) {
  const uint64_t d = stat_of(s, "/d").id;
  std::vector<ValidRequest> v = {
      valid(open_args("/d/g", O_CREAT | O_RDWR)),
      valid(StatArgs{"/d/f"}),
      valid(UnlinkArgs{"/d/u"}),
      valid(CloseUpdateArgs{"/d/f", id, 5, 1, 0}),
      valid(mkdir_args("/d/m")),
      valid(RmdirArgs{"/d/e", stat_of(s, "/d/e").id}),
      valid(FenceDirArgs{"/d", d}),
      valid(UnfenceDirArgs{d}),
      valid(TruncateArgs{"/d/f", 3}),
      valid(ChmodArgs{"/d/f", 0600}),
      valid(ReadDirArgs{"/d", "", 64 << 10}),
      valid(StatfsArgs{}),
      valid(RenameInsertArgs{"/d/r", stat_of(s, "/d/f"), 0, ""}),  // parent 0: never fenced
      valid(RenameRemoveArgs{"/d/f", id}),
      valid(WriteArgs{id, kChunk, 0}, "abc"),
      valid(ReadArgs{id, 0, 5}),
      valid(TruncateDataArgs{id, 2}),
      valid(RemoveDataArgs{id, 0}),
      valid(FsyncDataArgs{id}),
      // A memory store with a limit offers no extents for clients to copy into.
      valid(OpenDataArgs{id, 1}, "", EOPNOTSUPP),
      valid(AppendArgs{"/d/f", id, 10, 0}),
      valid(UtimensArgs{"/d/f", 1, 2}),
      valid(SymlinkArgs{"/d/s", "f", 0, 0, d}),
      valid(WritersArgs{id, 1}),
  };
  REQUIRE(v.size() == static_cast<size_t>(Opcode::kCount) - 1);
  for (size_t i = 0; i < v.size(); ++i) REQUIRE(v[i].op == static_cast<Opcode>(i + 1));
  return v;
}

// Whether `args` decode exactly as the reply of `op`.
bool is_reply_of(Opcode op, std::string_view args) {
  bool decoded = false;
  for_each_rpc([&]<class R>(R) {
    typename R::Reply reply;
    if (R::Args::kOp == op) decoded = decode(args, &reply);
  });
  return decoded;
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
    ServerReply r = s.send(v.op, v.args, v.payload);
    CHECK(r.status == v.status);
    if (r.status == 0) CHECK(is_reply_of(v.op, r.args));
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
  CHECK(s.send(WriteArgs{id, 0, 0}).status == EINVAL);  // nothing to write
  CHECK(s.send(WriteArgs{id, 0, 0}, std::string(kChunk + 1, 'w')).status == EMSGSIZE);
  CHECK(s.store().used() == used);
  CHECK(s.send(WriteArgs{id, 0, 0}, std::string(kChunk, 'w')).status == 0);
}

TEST_CASE("server: unknown opcodes and requests carrying a status get EPROTO") {
  TestServer s;
  for (uint16_t op : {uint16_t{0}, op_code(Opcode::kCount), uint16_t(op_code(Opcode::kCount) + 1),
                      uint16_t{0xffff}}) {
    CAPTURE(op);
    CHECK(s.send(op, encode(StatArgs{"/"})).status == EPROTO);
    CHECK(s.send(op, "").status == EPROTO);
    s.expect_serving();
  }
  MsgHeader h;
  h.opcode = op_code(Opcode::kStat);
  h.status = ENOENT;
  CHECK(s.send_header(h, encode(StatArgs{"/"}), "").status == EPROTO);
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
      // A plausible start:
      if (iter % 3 == 0) args = encode(StatArgs{"/d/f"}) + args.substr(0, rng() % 24);
      if (iter % 3 == 1 && args.size() >= 8) std::memcpy(args.data(), &id, 8);
      std::string payload(rng() % 4 == 0 ? rng() % (2 * kChunk) : 0, 'p');
      ServerReply r = s.send(op, args, payload);
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
    return s.send(ReadArgs{id, offset, len});
  };
  for (uint64_t len : {uint64_t{1} << 30, ~uint64_t{0}, kChunk + 1, uint64_t{0}}) {
    CAPTURE(len);
    ServerReply r = read(0, len);
    CHECK(r.status == EINVAL);
    CHECK(r.storage_capacity == 0);  // refused before the reply buffer exists
  }
  CHECK(read(kChunk - 1, 2).status == EINVAL);    // crosses into the next chunk
  CHECK(read(~uint64_t{0} - 9, 10).status == EINVAL);  // offset + len wraps around
  CHECK(read(kMaxFileSize - kChunk + 1, kChunk).status == EINVAL);  // ends past off_t
  ServerReply last = read(kMaxFileSize - kChunk + 1, kChunk - 1);  // the last bytes a file may have
  CHECK(last.status == 0);
  CHECK(last.data == std::string(kChunk - 1, '\0'));
  ServerReply whole = read(0, kChunk);
  REQUIRE(whole.status == 0);
  CHECK(whole.data.substr(0, 6) == std::string("hello\0", 6));
  s.expect_serving();
}

TEST_CASE("server: writes are bounded by one chunk and an off_t offset") {
  TestServer s;
  uint64_t id = populate(s);
  uint64_t used = s.store().used();
  auto write = [&](uint64_t offset, std::string_view data) {
    return s.send(WriteArgs{id, offset, 0}, data);
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
    ServerReply r = write(k * kChunk * 7, std::string(kChunk, 'z'));
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
    CHECK(s.send(TruncateArgs{"/d/f", size}).status == EINVAL);
    CHECK(s.send(TruncateDataArgs{id, size}).status == EINVAL);
    CHECK(s.send(CloseUpdateArgs{"/d/f", id, size, 1, 0}).status == EINVAL);
  }
  CHECK(stat_of(s, "/d/f").size == 0);  // close_update not yet applied; nothing absurd stored
  CHECK(s.send(TruncateArgs{"/d/f", kMaxFileSize}).status == 0);
  CHECK(s.send(TruncateDataArgs{id, kMaxFileSize}).status == 0);
  s.expect_serving();
}

TEST_CASE("server: readdir page sizes are bounded") {
  TestServer s;
  populate(s);
  auto readdir = [&](uint64_t max_bytes) {
    return s.send(ReadDirArgs{"/d", "", max_bytes});
  };
  for (uint64_t max : {~uint64_t{0}, uint64_t{1} << 30, kMaxReadDirBytes + 1, kMinReadDirBytes - 1,
                       uint64_t{0}}) {
    CAPTURE(max);
    CHECK(readdir(max).status == EINVAL);
  }
  for (uint64_t max : {kMinReadDirBytes, kMaxReadDirBytes}) {
    ServerReply r = readdir(max);
    REQUIRE(r.status == 0);
    CHECK(r.data.size() <= max);
    CHECK(r.args == encode(ReadDirReply{0}));  // all three entries fit: no more
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
    CHECK(s.send(open_args(c.path, O_CREAT | O_RDWR)).status == c.err);
    CHECK(s.send(StatArgs{c.path}).status == c.err);
    CHECK(s.send(UnlinkArgs{c.path}).status == c.err);
    CHECK(s.send(mkdir_args(c.path)).status == c.err);
    CHECK(s.send(RmdirArgs{c.path, 1}).status == c.err);
    CHECK(s.send(FenceDirArgs{c.path, 1}).status == c.err);
    CHECK(s.send(TruncateArgs{c.path, 0}).status == c.err);
    CHECK(s.send(ChmodArgs{c.path, 0}).status == c.err);
    CHECK(s.send(ReadDirArgs{c.path, "", 4096}).status == c.err);
    CHECK(s.send(CloseUpdateArgs{c.path, 1, 0, 0, 0}).status == c.err);
    CHECK(s.send(RenameRemoveArgs{c.path, 1}).status == c.err);
    Attr a;
    a.mode = S_IFREG | 0644;
    CHECK(s.send(RenameInsertArgs{c.path, a, 0, ""}).status == c.err);  // parent 0: never fenced
  }
  // Nothing of that landed in the table.
  CHECK(s.expect_ok(StatfsArgs{}).entries == 5);  // "/", /d, /d/e, /d/f, /d/u
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
  CHECK(s.send(open_args(theirs, O_CREAT | O_RDWR)).status == EPROTO);
  CHECK(s.send(mkdir_args(theirs)).status == EPROTO);
  CHECK(s.send(open_args(mine, O_CREAT | O_RDWR)).status == 0);
  // Asked of every server: any path.
  CHECK(s.send(FenceDirArgs{theirs, 1}).status == 0);
  CHECK(s.send(ReadDirArgs{theirs, "", 4096}).status == 0);

  const uint64_t id = 12345;
  uint64_t here = first_chunk_on(id, 0, nranks);
  uint64_t elsewhere = here + 1;
  CHECK(s.send(WriteArgs{id, elsewhere * kChunk, 0}, "x").status == EPROTO);
  CHECK(s.send(ReadArgs{id, elsewhere * kChunk, 1}).status == EPROTO);
  CHECK(s.store().file_count() == 0);
  CHECK(s.send(WriteArgs{id, here * kChunk, 0}, "x").status == 0);
  CHECK(s.send(ReadArgs{id, here * kChunk, 1}).status == 0);
  s.expect_serving();
}

TEST_CASE("server: the root cannot be renamed away, and entries keep a real type") {
  TestServer s;
  // Parent id 0 in the inserts below: never fenced.
  Attr root = stat_of(s, "/");
  CHECK(s.send(RenameRemoveArgs{"/", root.id}).status == EBUSY);
  CHECK(s.send(RenameInsertArgs{"/", root, 0, ""}).status == EBUSY);
  s.expect_serving();

  for (uint32_t mode : {uint32_t{S_IFLNK | 0777}, uint32_t{S_IFIFO}, uint32_t{0}, ~uint32_t{0}}) {
    CAPTURE(mode);
    Attr a;
    a.id = 77;
    a.mode = mode;
    CHECK(s.send(RenameInsertArgs{"/odd", a, 0, ""}).status == EINVAL);
  }
  Attr big;
  big.id = 78;
  big.mode = S_IFREG | 0644;
  big.size = uint64_t{1} << 63;
  CHECK(s.send(RenameInsertArgs{"/big", big, 0, ""}).status == EINVAL);
  CHECK(s.send(StatArgs{"/odd"}).status == ENOENT);
  CHECK(s.send(StatArgs{"/big"}).status == ENOENT);
}

TEST_CASE("server: a repeated rename insert answers with a complete reply") {
  TestServer s;
  populate(s);
  const RenameInsertArgs insert{"/d/r", stat_of(s, "/d/f"), 0, ""};  // parent 0: never fenced
  for (int attempt = 0; attempt < 2; ++attempt) {
    CAPTURE(attempt);
    // The reply decodes whole (expect_ok checks), saying nothing was replaced.
    CHECK(s.expect_ok(insert).replaced == 0);
  }
}

TEST_CASE("server: no entry is created under a fenced directory") {
  TestServer s;
  populate(s);
  const uint64_t e = stat_of(s, "/d/e").id;
  CHECK(s.expect_ok(FenceDirArgs{"/d/e", e}).has_entries == 0);  // empty: fenced
  const RenameInsertArgs into_e{"/d/e/u", stat_of(s, "/d/u"), e, ""};
  auto refused = [&] {
    CHECK(s.send(open_args("/d/e/x", O_CREAT | O_RDWR, e)).status == ESTALE);
    CHECK(s.send(mkdir_args("/d/e/y", e)).status == ESTALE);
    CHECK(s.send(into_e).status == ESTALE);
    CHECK(s.send(StatArgs{"/d/e/x"}).status == ENOENT);
  };
  refused();
  // Only the id is fenced: other directories and plain opens are served.
  CHECK(s.send(open_args("/d/x", O_CREAT | O_RDWR, stat_of(s, "/d").id)).status == 0);
  CHECK(s.send(open_args("/d/f", O_RDONLY, e)).status == 0);
  // Counted: a second fence (another rmdir of it) outlives lifting one.
  s.expect_ok(FenceDirArgs{"/d/e", e});
  s.expect_ok(UnfenceDirArgs{e});
  refused();
  s.expect_ok(UnfenceDirArgs{e});
  CHECK(s.send(open_args("/d/e/x", O_CREAT | O_RDWR, e)).status == 0);
  CHECK(s.send(mkdir_args("/d/e/y", e)).status == 0);
  // With an entry under it, a directory is not fenced.
  CHECK(s.expect_ok(FenceDirArgs{"/d/e", e}).has_entries == 1);
  CHECK(s.send(open_args("/d/e/z", O_CREAT | O_RDWR, e)).status == 0);
  s.expect_serving();
}

TEST_CASE("server: rmdir removes only the directory the client fenced") {
  TestServer s;
  populate(s);
  const uint64_t e = stat_of(s, "/d/e").id;
  CHECK(s.send(RmdirArgs{"/d/e", e + 1000}).status == ESTALE);
  CHECK(stat_of(s, "/d/e").id == e);
  CHECK(s.send(RmdirArgs{"/d/e", e}).status == 0);
  CHECK(s.send(StatArgs{"/d/e"}).status == ENOENT);
}

TEST_CASE("server: a directory moved by rename gets a new id") {
  TestServer s;
  populate(s);
  Attr e = stat_of(s, "/d/e");
  s.expect_ok(RenameInsertArgs{"/m", e, 0, ""});
  Attr m = stat_of(s, "/m");
  CHECK(m.is_dir());
  CHECK(m.id != e.id);  // the old id stays fenced for the old path
  // A file keeps its id, and with it its chunks.
  Attr f = stat_of(s, "/d/f");
  s.expect_ok(RenameInsertArgs{"/g", f, 0, ""});
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
  std::string good = encode_header(h, encode(StatArgs{"/"}));

  auto ok = s.deliver(good, "");
  REQUIRE(ok);
  CHECK(ok->status == 0);

  // Inconsistent but ours: answered with EPROTO.
  std::string truncated_args = good.substr(0, good.size() - 1);
  auto r = s.deliver(truncated_args, "");
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
  r = s.deliver(encode_header(unknown, encode(StatArgs{"/"})), "");
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
  CHECK_FALSE(s.deliver(encode_header(stranger, encode(StatArgs{"/"})), "", 4));
  stranger.src_rank = -1;
  CHECK_FALSE(s.deliver(encode_header(stranger, encode(StatArgs{"/"})), "", 4));

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

// A file's chunk 0 lives with its metadata: the unlink drops the chunks
// there too, and the caller asks only the other servers.
TEST_CASE("server: unlink drops the chunks of a file this server made") {
  TestServer s;
  uint64_t id = s.expect_ok(open_args("/w", O_CREAT | O_RDWR)).attr.id;
  s.expect_ok(open_args("/o", O_CREAT | O_RDWR));
  CHECK(s.expect_ok(WriteArgs{id, 100, 0}, "abc").written == 3);
  CHECK(s.store().file_count() == 1);
  auto u = s.expect_ok(UnlinkArgs{"/w"});
  CHECK(u.id == id);
  CHECK(u.removed_here == 1);
  CHECK(s.store().file_count() == 0);
  // A file without bytes: nothing to drop, and still done here.
  CHECK(s.expect_ok(UnlinkArgs{"/o"}).removed_here == 1);
}

// O_APPEND: the owner hands out ranges at the end, one after the other,
// after the appender's own unreported writes; a stale id or a directory is
// refused.
TEST_CASE("server: appends get consecutive ranges at the end") {
  TestServer s;
  uint64_t id = s.expect_ok(open_args("/a", O_CREAT | O_RDWR)).attr.id;
  CHECK(s.expect_ok(AppendArgs{"/a", id, 10, 0}).offset == 0);
  CHECK(s.expect_ok(AppendArgs{"/a", id, 5, 0}).offset == 10);
  CHECK(s.expect_ok(AppendArgs{"/a", id, 1, 100}).offset == 100);  // its own writes first
  CHECK(stat_of(s, "/a").size == 101);
  CHECK(s.send(AppendArgs{"/a", id + 1, 1, 0}).status == ESTALE);
  CHECK(s.send(AppendArgs{"/a", id, 0, 0}).status == EINVAL);
  CHECK(s.send(AppendArgs{"/a", id, kMaxFileSize, 0}).status == EFBIG);
  CHECK(s.send(AppendArgs{"/gone", id, 1, 0}).status == ENOENT);
  s.expect_ok(mkdir_args("/dir"));
  CHECK(s.send(AppendArgs{"/dir", stat_of(s, "/dir").id, 1, 0}).status == EISDIR);
  CHECK(stat_of(s, "/a").size == 101);
}

// A symbolic link is an entry holding its target; requests that would
// act on what it names answer ELOOP (the client follows it) and change
// nothing, and a link carries no data to reclaim.
TEST_CASE("server: symbolic links") {
  TestServer s;
  s.expect_ok(mkdir_args("/d"));
  const uint64_t d = stat_of(s, "/d").id;
  s.expect_ok(SymlinkArgs{"/l", "d/x", 7, 8, 0});
  auto r = s.expect_ok(StatArgs{"/l"});
  CHECK(r.attr.is_link());
  CHECK((r.attr.mode & 07777) == 0777);
  CHECK(r.attr.size == 3);
  CHECK(r.attr.uid == 7);
  CHECK(r.link_target == "d/x");
  CHECK(s.expect_ok(StatArgs{"/d"}).link_target.empty());
  CHECK(s.send(SymlinkArgs{"/l", "y", 0, 0, 0}).status == EEXIST);
  CHECK(s.send(SymlinkArgs{"/d", "y", 0, 0, 0}).status == EEXIST);
  CHECK(s.send(SymlinkArgs{"/e", "", 0, 0, 0}).status == EINVAL);
  CHECK(s.send(SymlinkArgs{"/e", std::string("a\0b", 3), 0, 0, 0}).status == EINVAL);
  CHECK(s.send(SymlinkArgs{"/e", std::string(PATH_MAX, 'a'), 0, 0, 0}).status == ENAMETOOLONG);
  s.expect_ok(SymlinkArgs{"/e", std::string(PATH_MAX - 1, 'a'), 0, 0, 0});
  // Under a fenced directory, as every create.
  s.expect_ok(FenceDirArgs{"/d", d});
  CHECK(s.send(SymlinkArgs{"/d/l", "x", 0, 0, d}).status == ESTALE);
  s.expect_ok(UnfenceDirArgs{d});
  for (uint32_t flags : {O_RDONLY, O_RDWR | O_TRUNC, O_CREAT | O_WRONLY})
    CHECK(s.send(open_args("/l", flags)).status == ELOOP);
  CHECK(s.send(open_args("/l", O_CREAT | O_EXCL | O_WRONLY)).status == EEXIST);
  CHECK(s.send(TruncateArgs{"/l", 0}).status == ELOOP);
  CHECK(s.send(ChmodArgs{"/l", 0600}).status == ELOOP);
  CHECK(s.send(RmdirArgs{"/l", r.attr.id}).status == ENOTDIR);
  CHECK(stat_of(s, "/l").size == 3);
  // A link moves with its target, which must match its size; a file moved
  // onto a link replaces it without data to reclaim.
  Attr link = r.attr;
  CHECK(s.send(RenameInsertArgs{"/m", link, 0, ""}).status == EINVAL);
  CHECK(s.send(RenameInsertArgs{"/m", link, 0, "toolong"}).status == EINVAL);
  s.expect_ok(RenameInsertArgs{"/m", link, 0, "d/x"});
  CHECK(s.expect_ok(StatArgs{"/m"}).link_target == "d/x");
  Attr file = s.expect_ok(open_args("/f", O_CREAT | O_RDWR)).attr;
  CHECK(s.send(RenameInsertArgs{"/g", file, 0, "t"}).status == EINVAL);  // a file has no target
  auto replaced = s.expect_ok(RenameInsertArgs{"/m", file, 0, ""});
  CHECK(replaced.replaced == 1);
  CHECK(replaced.old_size == 0);
  // Unlinking a link reports no data, and nothing to remove elsewhere.
  auto u = s.expect_ok(UnlinkArgs{"/l"});
  CHECK(u.size == 0);
  CHECK(u.removed_here == 1);
  CHECK(u.open_for_writing == 0);
  CHECK(s.send(StatArgs{"/l"}).status == ENOENT);
  s.expect_serving();
}

// Issue 24, item 3: the server that made an id counts the descriptors
// writing to it; a removal that finds writers makes the id stale, and
// every data request for a stale id is refused without storing anything.
TEST_CASE("server: writers are counted, and a stale id is refused") {
  TestServer s;
  uint64_t id = s.expect_ok(open_args("/w", O_CREAT | O_RDWR)).attr.id;
  CHECK(s.expect_ok(WriteArgs{id, 0, 1}, "abc").written == 3);  // a first write counts
  s.expect_ok(WritersArgs{id, 1});                               // and a second writer
  s.expect_ok(WritersArgs{id, 0});                               // who closes
  auto u = s.expect_ok(UnlinkArgs{"/w"});
  CHECK(u.open_for_writing == 1);
  CHECK(u.removed_here == 1);
  CHECK(s.expect_ok(RemoveDataArgs{id, 1}).had_writers == 0);  // forgotten by the unlink
  CHECK(s.send(WriteArgs{id, 0, 0}, "late").status == ESTALE);
  CHECK(s.send(WriteArgs{id, 0, 1}, "late").status == ESTALE);
  CHECK(s.send(ReadArgs{id, 0, 4}).status == ESTALE);
  CHECK(s.send(TruncateDataArgs{id, 0}).status == ESTALE);
  CHECK(s.send(FsyncDataArgs{id}).status == ESTALE);
  CHECK(s.send(WritersArgs{id, 1}).status == ESTALE);
  CHECK(s.store().file_count() == 0);  // nothing stored for it again
  // Writers that all closed leave nothing to count: a plain removal.
  uint64_t quiet = s.expect_ok(open_args("/q", O_CREAT | O_RDWR)).attr.id;
  CHECK(s.expect_ok(WriteArgs{quiet, 0, 1}, "abc").written == 3);
  s.expect_ok(CloseUpdateArgs{"/q", quiet, 3, 1, 1});
  CHECK(s.expect_ok(UnlinkArgs{"/q"}).open_for_writing == 0);
  CHECK(s.expect_ok(WriteArgs{quiet, 0, 0}, "new").written == 3);  // not stale: counted writers
  // A descriptor opened before that writes only now is refused: the file
  // is no longer live where it was made.
  CHECK(s.send(WritersArgs{quiet, 1}).status == ESTALE);
  CHECK(s.send(WriteArgs{quiet, 0, 1}, "late").status == ESTALE);
  s.expect_ok(RemoveDataArgs{quiet, 0});
  // The count lives with the id's maker: RemoveData reports and forgets it
  // (a file whose metadata lives elsewhere, after a rename).
  uint64_t moved = s.expect_ok(open_args("/m", O_CREAT | O_RDWR)).attr.id;
  s.expect_ok(WritersArgs{moved, 1});
  CHECK(s.expect_ok(RemoveDataArgs{moved, 0}).had_writers == 1);
  CHECK(s.expect_ok(RemoveDataArgs{moved, 0}).had_writers == 0);
  CHECK(s.send(WritersArgs{moved, 2}).status == EPROTO);
  CHECK(s.send(RemoveDataArgs{moved, 2}).status == EPROTO);
  s.expect_serving();
}

TEST_CASE("server: only the id's maker counts its writers") {
  TestServer s(0, 2);
  // Ids made by rank 1: chunk 0 lives there.
  const uint64_t foreign = make_file_id(1, 5);
  uint64_t k = 0;
  while (chunk_owner(foreign, k, 2) != 0) ++k;
  CHECK(s.send(WritersArgs{foreign, 1}).status == EPROTO);
  CHECK(s.send(WriteArgs{foreign, k * kChunk, 1}, "x").status == EPROTO);
  CHECK(s.send(WriteArgs{foreign, k * kChunk, 0}, "x").status == 0);
}

}  // namespace benchfs
