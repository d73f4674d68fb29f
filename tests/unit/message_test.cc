// Tests of src/rpc/message.h (field encoding, the message header) and
// src/rpc/protocol.h (every request and reply struct).
#include "rpc/message.h"
#include "rpc/protocol.h"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace benchfs {
namespace {

// A heap copy of exactly n bytes, so reading past it is a real overrun
// (visible to ASan/valgrind), unlike std::string's terminator and capacity.
struct ExactBuffer {
  explicit ExactBuffer(std::string_view s) : size(s.size()), data(new char[s.size() ? s.size() : 1]) {
    if (!s.empty()) std::memcpy(data.get(), s.data(), s.size());
  }
  std::string_view view() const { return std::string_view(data.get(), size); }
  size_t size;
  std::unique_ptr<char[]> data;
};

MsgHeader sample_header() {
  MsgHeader h;
  h.opcode = static_cast<uint16_t>(Opcode::kWrite);
  h.src_rank = 7;
  h.status = -ENOENT;
  h.req_id = 0x0123456789abcdefULL;
  h.data_len = 1ULL << 33;
  return h;
}

// Raw header bytes with the given fields, followed by `body_len` bytes.
std::string raw_header(uint32_t magic, uint16_t opcode, uint32_t args_len, size_t body_len) {
  MsgHeader h;
  h.magic = magic;
  h.opcode = opcode;
  h.args_len = args_len;
  std::string out(sizeof(MsgHeader) + body_len, 'm');
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

int decode(const std::string& bytes, MsgHeader* h, std::string_view* args) {
  return decode_header(bytes.data(), bytes.size(), h, args);
}

}  // namespace

TEST_CASE("Encoder/Decoder: round trip of every field type") {
  Encoder e;
  e.u8(0).u8(0xff).u32(0).u32(0xdeadbeef).u64(0).u64(std::numeric_limits<uint64_t>::max());
  e.i64(-1).i64(std::numeric_limits<int64_t>::min()).i64(std::numeric_limits<int64_t>::max());
  e.str("").str("/a/b/c").str(std::string("with\0nul", 8));
  CHECK(e.bytes().size() == 2 + 8 + 16 + 24 + 4 + 10 + 12);

  ExactBuffer buf(e.bytes());
  Decoder d(buf.view());
  CHECK(d.u8() == 0);
  CHECK(d.u8() == 0xff);
  CHECK(d.u32() == 0);
  CHECK(d.u32() == 0xdeadbeefu);
  CHECK(d.u64() == 0);
  CHECK(d.u64() == std::numeric_limits<uint64_t>::max());
  CHECK(d.i64() == -1);
  CHECK(d.i64() == std::numeric_limits<int64_t>::min());
  CHECK(d.i64() == std::numeric_limits<int64_t>::max());
  CHECK(d.str() == "");
  CHECK(d.str() == "/a/b/c");
  CHECK(d.str() == std::string("with\0nul", 8));
  CHECK(d.ok());
  CHECK(d.done());
}

TEST_CASE("Encoder: take() moves the bytes out") {
  Encoder e;
  e.u32(5).str("xy");
  std::string copy = e.bytes();
  std::string taken = e.take();
  CHECK(taken == copy);
  CHECK(taken.size() == 10);
}

// --- rpc/protocol.h -------------------------------------------------------------

namespace {

Attr sample_attr() {
  Attr a;
  a.id = 0xfedcba9876543210ULL;
  a.mode = S_IFREG | 0644;
  a.uid = 1000;
  a.gid = 100;
  a.nlink = 1;
  a.size = (1ULL << 40) + 3;
  a.atime_ns = -5;
  a.mtime_ns = 1700000000123456789LL;
  a.ctime_ns = std::numeric_limits<int64_t>::max();
  return a;
}

// Gives every listed field of v a distinct value, counting from *next.
template <class T>
void fill(T& v, uint64_t* next) {
  if constexpr (std::is_integral_v<T>) {
    v = static_cast<T>(0x0102030405060708ULL * (*next)++);
  } else if constexpr (std::is_same_v<T, std::string>) {
    v = "/field" + std::to_string((*next)++);
  } else if constexpr (std::is_same_v<T, Attr>) {
    attr_fields(v, [&](auto&... f) { (fill(f, next), ...); });
  } else {
    T::fields(v, [&](auto&... f) { (fill(f, next), ...); });
  }
}

template <class T>
size_t listed_fields() {
  T v;
  size_t n = 0;
  T::fields(v, [&](auto&... f) { n = sizeof...(f); });
  return n;
}

// Converts to any member type, so T{AnyMember{}, ...} compiles for exactly
// as many initialisers as T has members (an aggregate's data members).
struct AnyMember {
  template <class M>
  operator M() const;
};
template <class T, class... Members>
constexpr size_t member_count() {
  if constexpr (requires { T{Members{}..., AnyMember{}}; })
    return member_count<T, Members..., AnyMember>();
  else
    return sizeof...(Members);
}

// A message with every field set survives encode/decode; every shorter or
// longer block fails to decode; and its field list names every member.
template <class T>
void check_message(const char* what) {
  CAPTURE(what);
  CHECK(listed_fields<T>() == member_count<T>());
  T m;
  uint64_t next = 1;
  fill(m, &next);
  const std::string bytes = encode(m);
  T back;
  REQUIRE(decode(ExactBuffer(bytes).view(), &back));
  CHECK(encode(back) == bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    T cut;
    CHECK_FALSE(decode(ExactBuffer(bytes.substr(0, n)).view(), &cut));
  }
  T longer;
  CHECK_FALSE(decode(ExactBuffer(bytes + "x").view(), &longer));
  CHECK_FALSE(decode(ExactBuffer(bytes + std::string(8, '\0')).view(), &longer));
}

}  // namespace

TEST_CASE("protocol: every opcode's Args and Reply round-trip, and only whole blocks decode") {
  size_t opcodes = 0;
  for_each_rpc([&]<class R>(R) {
    ++opcodes;
    check_message<typename R::Args>(opcode_name(R::Args::kOp));
    check_message<typename R::Reply>(opcode_name(R::Args::kOp));
  });
  CHECK(opcodes == static_cast<size_t>(Opcode::kCount) - 1);
  check_message<ReadDirEntry>("readdir entry");
  static_assert(std::is_same_v<ReplyOf<OpenArgs>, OpenReply>);
  static_assert(std::is_same_v<Rpc<Opcode::kChmod>::Reply, EmptyReply>);
}

TEST_CASE("protocol: an Attr keeps every field, between other fields") {
  const Attr a = sample_attr();
  RenameInsertArgs m{"/before", a, 42, ""};
  RenameInsertArgs back;
  REQUIRE(decode(ExactBuffer(encode(m)).view(), &back));
  CHECK(back.path == "/before");
  CHECK(back.parent_id == 42);
  const Attr& b = back.attr;
  CHECK(b.id == a.id);
  CHECK(b.mode == a.mode);
  CHECK(b.uid == a.uid);
  CHECK(b.gid == a.gid);
  CHECK(b.nlink == a.nlink);
  CHECK(b.size == a.size);
  CHECK(b.atime_ns == a.atime_ns);
  CHECK(b.mtime_ns == a.mtime_ns);
  CHECK(b.ctime_ns == a.ctime_ns);
  CHECK(b.is_reg());
  CHECK_FALSE(b.is_dir());
}

// The layouts the structs replaced, written out field by field: a change
// here is a change of the wire format (and of tests/fuzz/corpus).
TEST_CASE("protocol: wire layouts are unchanged") {
  const Attr a = sample_attr();
  Encoder attr;
  attr.u64(a.id).u32(a.mode).u32(a.uid).u32(a.gid).u32(a.nlink).u64(a.size);
  attr.i64(a.atime_ns).i64(a.mtime_ns).i64(a.ctime_ns);
  const std::string at = attr.take();
  CHECK(at.size() == 56);
  const std::string p = Encoder().str("/p").take();
  auto u64s = [](std::initializer_list<uint64_t> vs) {
    Encoder e;
    for (uint64_t v : vs) e.u64(v);
    return e.take();
  };

  CHECK(encode(OpenArgs{"/p", 1, 2, 3, 4, 5}) == p + Encoder().u32(1).u32(2).u32(3).u32(4).u64(5).take());
  CHECK(encode(OpenReply{a, 6, 7}) == at + u64s({6, 7}));
  CHECK(encode(StatArgs{"/p"}) == p);
  CHECK(encode(StatReply{a, "t"}) == at + Encoder().str("t").take());
  CHECK(encode(UnlinkArgs{"/p"}) == p);
  CHECK(encode(UnlinkReply{1, 2, 1, 1}) == u64s({1, 2}) + Encoder().u8(1).u8(1).take());
  CHECK(encode(CloseUpdateArgs{"/p", 1, 2, 1, 1}) ==
        p + u64s({1, 2}) + Encoder().u8(1).u8(1).take());
  CHECK(encode(MkdirArgs{"/p", 1, 2, 3, 4}) == p + Encoder().u32(1).u32(2).u32(3).u64(4).take());
  CHECK(encode(RmdirArgs{"/p", 9}) == p + u64s({9}));
  CHECK(encode(FenceDirArgs{"/p", 9}) == p + u64s({9}));
  CHECK(encode(FenceDirReply{1}) == Encoder().u8(1).take());
  CHECK(encode(UnfenceDirArgs{9}) == u64s({9}));
  CHECK(encode(TruncateArgs{"/p", 9}) == p + u64s({9}));
  CHECK(encode(TruncateReply{1, 2}) == u64s({1, 2}));
  CHECK(encode(ChmodArgs{"/p", 0644}) == p + Encoder().u32(0644).take());
  CHECK(encode(ReadDirArgs{"/p", "n", 9}) == p + Encoder().str("n").u64(9).take());
  CHECK(encode(ReadDirReply{1}) == Encoder().u8(1).take());
  CHECK(encode(ReadDirEntry{1, 2, "n"}) == Encoder().u32(1).u64(2).str("n").take());
  CHECK(encode(StatfsArgs{}).empty());
  CHECK(encode(StatfsReply{1, 2, 3, 4, 1}) == u64s({1, 2, 3, 4}) + Encoder().u8(1).take());
  CHECK(encode(RenameInsertArgs{"/p", a, 9, "t"}) ==
        p + at + u64s({9}) + Encoder().str("t").take());
  CHECK(encode(RenameInsertReply{1, 2, 3, 1}) ==
        Encoder().u8(1).u64(2).u64(3).u8(1).take());
  CHECK(encode(RenameRemoveArgs{"/p", 9}) == p + u64s({9}));
  CHECK(encode(WriteArgs{1, 2, 1}) == u64s({1, 2}) + Encoder().u8(1).take());
  CHECK(encode(WriteReply{9}) == u64s({9}));
  CHECK(encode(ReadArgs{1, 2, 3}) == u64s({1, 2, 3}));
  CHECK(encode(TruncateDataArgs{1, 2}) == u64s({1, 2}));
  CHECK(encode(RemoveDataArgs{9, 1}) == u64s({9}) + Encoder().u8(1).take());
  CHECK(encode(RemoveDataReply{1}) == Encoder().u8(1).take());
  CHECK(encode(WritersArgs{9, 1}) == u64s({9}) + Encoder().u8(1).take());
  CHECK(encode(FsyncDataArgs{9}) == u64s({9}));
  CHECK(encode(OpenDataArgs{9, 1, 7}) == u64s({9}) + Encoder().u8(1).take() + u64s({7}));
  CHECK(encode(OpenDataReply{1, 2, 3, 4, 5, 6}) ==
        Encoder().u32(1).u64(2).u64(3).u64(4).u64(5).u64(6).take());
  CHECK(encode(AppendArgs{"/p", 1, 2, 3}) == p + u64s({1, 2, 3}));
  CHECK(encode(AppendReply{9}) == u64s({9}));
  CHECK(encode(UtimensArgs{"/p", 1, UtimensArgs::kTimeOmit}) == p + u64s({1, uint64_t(-2)}));
  CHECK(encode(SymlinkArgs{"/p", "t", 1, 2, 3}) ==
        p + Encoder().str("t").u32(1).u32(2).u64(3).take());
  CHECK(encode(EmptyReply{}).empty());
}

TEST_CASE("Decoder: every truncation of a message fails and yields zeros") {
  Encoder e;
  e.u64(0x1111111111111111ULL).str("/some/path").u32(0x22222222).u8(0x33).i64(-7);
  std::string full = e.take();
  for (size_t n = 0; n < full.size(); ++n) {
    CAPTURE(n);
    ExactBuffer buf(std::string_view(full).substr(0, n));
    Decoder d(buf.view());
    uint64_t a = d.u64();
    std::string s = d.str();
    uint32_t b = d.u32();
    uint8_t c = d.u8();
    int64_t x = d.i64();
    CHECK_FALSE(d.ok());
    CHECK_FALSE(d.done());
    // Whatever was read before the cut is right; everything after is zero.
    CHECK((a == 0x1111111111111111ULL || a == 0));
    CHECK((s == "/some/path" || s.empty()));
    CHECK((b == 0x22222222u || b == 0));
    CHECK((c == 0x33 || c == 0));
    CHECK(x == 0);
    if (n < 8) CHECK(a == 0);
    if (n < 8 + 4 + 10) CHECK(s.empty());
  }
}

TEST_CASE("Decoder: a failed read is sticky") {
  ExactBuffer buf(std::string("\x01\x02\x03", 3));
  Decoder d(buf.view());
  CHECK(d.u32() == 0);  // needs 4, has 3
  CHECK_FALSE(d.ok());
  CHECK(d.u8() == 0);   // 3 bytes remain, but the decoder already failed
  CHECK_FALSE(d.ok());
  CHECK_FALSE(d.done());
}

TEST_CASE("Decoder: empty input") {
  Decoder d(std::string_view{});
  CHECK(d.ok());
  CHECK(d.done());
  CHECK(d.u8() == 0);
  CHECK_FALSE(d.ok());
  CHECK_FALSE(d.done());
}

TEST_CASE("Decoder: str with a huge declared length fails cleanly") {
  for (uint32_t declared : {0xffffffffu, 0x80000000u, 1u << 20, 4u}) {
    CAPTURE(declared);
    Encoder e;
    e.u32(declared);
    e.u8('a').u8('b').u8('c');  // only 3 bytes follow
    ExactBuffer buf(e.bytes());
    Decoder d(buf.view());
    std::string s = d.str();
    CHECK(s.empty());
    CHECK_FALSE(d.ok());
    CHECK_FALSE(d.done());
    CHECK(d.u8() == 0);
  }
  // Exactly enough bytes is fine.
  Encoder e;
  e.u32(3).u8('a').u8('b').u8('c');
  ExactBuffer buf(e.bytes());
  Decoder d(buf.view());
  CHECK(d.str() == "abc");
  CHECK(d.done());
}

TEST_CASE("Decoder: done() is false with trailing bytes") {
  Encoder e;
  e.u32(1).u8(2);
  ExactBuffer buf(e.bytes());
  Decoder d(buf.view());
  CHECK(d.u32() == 1);
  CHECK(d.ok());
  CHECK_FALSE(d.done());
  CHECK(d.u8() == 2);
  CHECK(d.done());
}

TEST_CASE("encode_header/decode_header round trip") {
  MsgHeader h = sample_header();
  h.args_len = 999;  // encode_header must set it from the args it is given
  Encoder enc;
  enc.str("/dir/file").u64(77);
  std::string args = enc.take();
  std::string bytes = encode_header(h, args);
  REQUIRE(bytes.size() == sizeof(MsgHeader) + args.size());

  ExactBuffer buf(bytes);
  MsgHeader out;
  std::string_view got_args;
  REQUIRE(decode_header(buf.data.get(), buf.size, &out, &got_args) == 0);
  CHECK(out.magic == kMsgMagic);
  CHECK(out.opcode == static_cast<uint16_t>(Opcode::kWrite));
  CHECK(out.src_rank == 7);
  CHECK(out.status == -ENOENT);
  CHECK(out.req_id == 0x0123456789abcdefULL);
  CHECK(out.args_len == args.size());
  CHECK(out.data_len == (1ULL << 33));
  CHECK(got_args == args);
  // The args view points into the message, right after the header.
  CHECK(got_args.data() == buf.data.get() + sizeof(MsgHeader));

  Decoder d(got_args);
  CHECK(d.str() == "/dir/file");
  CHECK(d.u64() == 77);
  CHECK(d.done());
}

TEST_CASE("encode_header/decode_header: empty args and every opcode") {
  for (uint16_t op = 1; op < static_cast<uint16_t>(Opcode::kCount); ++op) {
    CAPTURE(op);
    MsgHeader h;
    h.opcode = op;
    h.req_id = op;
    std::string bytes = encode_header(h, {});
    CHECK(bytes.size() == sizeof(MsgHeader));
    MsgHeader out;
    std::string_view args = "sentinel";
    REQUIRE(decode(bytes, &out, &args) == 0);
    CHECK(out.opcode == op);
    CHECK(out.req_id == op);
    CHECK(out.args_len == 0);
    CHECK(args.empty());
  }
}

TEST_CASE("decode_header: accepts args of exactly kMaxArgsLen") {
  std::string args(kMaxArgsLen, 'q');
  MsgHeader h = sample_header();
  std::string bytes = encode_header(h, args);
  MsgHeader out;
  std::string_view got;
  CHECK(decode(bytes, &out, &got) == 0);
  CHECK(got.size() == kMaxArgsLen);
}

TEST_CASE("decode_header rejects malformed headers with EPROTO") {
  MsgHeader out;
  std::string_view args;
  const uint16_t write_op = static_cast<uint16_t>(Opcode::kWrite);

  SUBCASE("null or too short") {
    CHECK(decode_header(nullptr, 0, &out, &args) == EPROTO);
    CHECK(decode_header(nullptr, sizeof(MsgHeader), &out, &args) == EPROTO);
    std::string good = encode_header(sample_header(), "");
    for (size_t n = 0; n < sizeof(MsgHeader); ++n) {
      CAPTURE(n);
      ExactBuffer buf(std::string_view(good).substr(0, n));
      CHECK(decode_header(buf.data.get(), n, &out, &args) == EPROTO);
    }
  }
  SUBCASE("bad magic") {
    CHECK(decode(raw_header(0, write_op, 0, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic ^ 1, write_op, 0, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(0x534F4CBE, write_op, 0, 0), &out, &args) == EPROTO);  // byte-swapped
    CHECK(decode(raw_header(kMsgMagic, write_op, 0, 0), &out, &args) == 0);       // control
  }
  SUBCASE("opcode 0") {
    CHECK(decode(raw_header(kMsgMagic, 0, 0, 0), &out, &args) == EPROTO);
  }
  SUBCASE("opcode >= kCount") {
    uint16_t count = static_cast<uint16_t>(Opcode::kCount);
    CHECK(decode(raw_header(kMsgMagic, count, 0, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, count + 1, 0, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, 0xffff, 0, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, count - 1, 0, 0), &out, &args) == 0);  // control
  }
  SUBCASE("args_len > kMaxArgsLen, even when the length matches") {
    uint32_t too_big = static_cast<uint32_t>(kMaxArgsLen + 1);
    CHECK(decode(raw_header(kMsgMagic, write_op, too_big, too_big), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, write_op, 0xffffffffu, 16), &out, &args) == EPROTO);
  }
  SUBCASE("length mismatch") {
    CHECK(decode(raw_header(kMsgMagic, write_op, 10, 9), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, write_op, 10, 11), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, write_op, 0, 1), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, write_op, 1, 0), &out, &args) == EPROTO);
    CHECK(decode(raw_header(kMsgMagic, write_op, 10, 10), &out, &args) == 0);  // control
    CHECK(args.size() == 10);
  }
}

TEST_CASE("decode_message: well formed, answerable, or dropped") {
  MsgHeader h = sample_header();
  h.data_len = 3;
  h.src_rank = 2;
  std::string frame = encode_header(h, "args");
  MsgHeader out;
  std::string_view args;
  auto check_salvaged = [&](const MsgHeader& s) {
    CHECK(s.magic == kMsgMagic);
    CHECK(s.opcode == h.opcode);
    CHECK(s.src_rank == 2);
    CHECK(s.req_id == h.req_id);
    CHECK(s.status == EPROTO);
    CHECK(s.args_len == 0);
    CHECK(s.data_len == 0);
    CHECK(args.empty());
  };

  ExactBuffer good(frame);
  REQUIRE(decode_message(good.data.get(), good.size, 3, 4, &out, &args) == 0);
  CHECK(args == "args");
  CHECK(out.status == h.status);  // a reply's status passes untouched

  // Data length disagreeing with the header, truncated or oversized args,
  // an unknown opcode: answerable.
  args = "x";
  CHECK(decode_message(good.data.get(), good.size, 2, 4, &out, &args) == EPROTO);
  check_salvaged(out);
  args = "x";
  CHECK(decode_message(good.data.get(), good.size - 1, 3, 4, &out, &args) == EPROTO);
  check_salvaged(out);
  std::string longer = frame + "z";
  args = "x";
  CHECK(decode_message(longer.data(), longer.size(), 3, 4, &out, &args) == EPROTO);
  check_salvaged(out);
  std::string unknown = frame;
  uint16_t op = 0xbeef;
  std::memcpy(unknown.data() + offsetof(MsgHeader, opcode), &op, 2);
  args = "x";
  CHECK(decode_message(unknown.data(), unknown.size(), 3, 4, &out, &args) == EPROTO);
  CHECK(out.opcode == 0xbeef);
  CHECK(out.status == EPROTO);

  // No sender to answer, or not ours: dropped.
  CHECK(decode_message(good.data.get(), good.size, 3, 2, &out, &args) == EBADMSG);  // rank 2 of 2
  CHECK(decode_message(good.data.get(), good.size - 1, 3, 2, &out, &args) == EBADMSG);
  for (size_t n = 0; n < sizeof(MsgHeader); ++n) {
    CAPTURE(n);
    ExactBuffer cut(std::string_view(frame).substr(0, n));
    CHECK(decode_message(cut.data.get(), n, 3, 4, &out, &args) == EBADMSG);
  }
  CHECK(decode_message(nullptr, 0, 0, 4, &out, &args) == EBADMSG);
  std::string foreign = frame;
  foreign[3] ^= 1;
  CHECK(decode_message(foreign.data(), foreign.size(), 3, 4, &out, &args) == EBADMSG);
  MsgHeader negative = h;
  negative.src_rank = -1;
  std::string neg = encode_header(negative, "args");
  CHECK(decode_message(neg.data(), neg.size(), 3, 4, &out, &args) == EBADMSG);
}

TEST_CASE("opcode_name") {
  std::set<std::string> names;
  for (uint16_t op = 1; op < static_cast<uint16_t>(Opcode::kCount); ++op) {
    std::string name = opcode_name(static_cast<Opcode>(op));
    CHECK(name != "unknown");
    names.insert(name);
  }
  CHECK(names.size() == static_cast<size_t>(Opcode::kCount) - 1);
  CHECK(std::string(opcode_name(Opcode::kOpen)) == "open");
  CHECK(std::string(opcode_name(Opcode::kCount)) == "unknown");
}

TEST_CASE("fuzz: random bytes never crash decode_header or Decoder") {
  std::mt19937_64 rng(20240607);
  std::uniform_int_distribution<size_t> len_dist(0, 200);
  std::uniform_int_distribution<int> byte_dist(0, 255);
  const uint16_t count = static_cast<uint16_t>(Opcode::kCount);
  int accepted = 0;
  for (int iter = 0; iter < 10000; ++iter) {
    size_t len = len_dist(rng);
    std::string bytes(len, '\0');
    for (auto& b : bytes) b = static_cast<char>(byte_dist(rng));
    // A third of the time make the header plausible so the later checks run.
    if (iter % 3 == 0 && len >= sizeof(MsgHeader)) {
      MsgHeader h;
      std::memcpy(&h, bytes.data(), sizeof h);
      h.magic = kMsgMagic;
      h.opcode = static_cast<uint16_t>(1 + rng() % (count + 1));  // sometimes kCount, invalid
      if (rng() % 2) h.args_len = static_cast<uint32_t>(len - sizeof(MsgHeader));
      std::memcpy(bytes.data(), &h, sizeof h);
    }
    ExactBuffer buf(bytes);

    MsgHeader h;
    std::string_view args;
    int rc = decode_header(buf.data.get(), buf.size, &h, &args);
    CHECK((rc == 0 || rc == EPROTO));
    if (rc == 0) {
      ++accepted;
      CHECK(h.magic == kMsgMagic);
      CHECK(h.opcode >= 1);
      CHECK(h.opcode < count);
      CHECK(h.args_len <= kMaxArgsLen);
      CHECK(args.data() == buf.data.get() + sizeof(MsgHeader));
      CHECK(args.size() == buf.size - sizeof(MsgHeader));
    }

    Decoder d(buf.view());
    size_t consumed = 0;
    bool ok = true;
    for (int field = 0; field < 12 && ok; ++field) {
      switch (rng() % 5) {
        case 0: d.u8(); if (d.ok()) consumed += 1; break;
        case 1: d.u32(); if (d.ok()) consumed += 4; break;
        case 2: d.u64(); if (d.ok()) consumed += 8; break;
        case 3: d.i64(); if (d.ok()) consumed += 8; break;
        case 4: {
          std::string s = d.str();
          if (d.ok()) consumed += 4 + s.size();
          break;
        }
      }
      ok = d.ok();
    }
    CHECK(consumed <= buf.size);
    if (d.ok()) CHECK(d.done() == (consumed == buf.size));
    if (!d.ok()) CHECK_FALSE(d.done());
  }
  // The plausible headers must have produced some accepted messages.
  CHECK(accepted > 100);
}

}  // namespace benchfs
