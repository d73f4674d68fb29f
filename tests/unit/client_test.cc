// Client against the Runtime seam: a job of in-process servers (memory
// chunk stores, no MPI, no UCX) that serves each call at once, records
// where it went, and can fail or garble the replies of one server.  What
// is tested is the client's own arithmetic: how a pwrite is striped over
// servers, short reads at the end of a file, what truncate reclaims, and
// how a server's errors reach the caller.
#include "client/client.h"

#include <doctest/doctest.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/placement.h"
#include "server/server.h"
#include "store/memory_chunk_store.h"

namespace benchfs {
namespace {

constexpr uint64_t kChunk = 64 << 10;

class LocalJob final : public Runtime {
 public:
  explicit LocalJob(int nranks) {
    for (int r = 0; r < nranks; ++r) {
      auto store = std::make_unique<MemoryChunkStore>(kChunk, 256 << 20);
      stores.push_back(store.get());
      servers.push_back(std::make_unique<Server>(r, nranks, kChunk, std::move(store)));
      // As the engine's intake does for a caller on the server's own rank.
      servers.back()->set_finish([](ServerOp* op) {
        op->deliver_to_local();
        delete op;
      });
      servers.back()->create_root();
    }
  }

  struct Sent {
    int target;
    Opcode op;
    size_t send_len;
  };
  std::vector<Sent> sent;  // every call, in the order executed
  std::vector<MemoryChunkStore*> stores;
  std::vector<std::unique_ptr<Server>> servers;
  // Calls to this server fail with this errno, without being served.
  int failing_server = -1;
  int failing_errno = 0;
  // Replies of this opcode carry one byte too many (a garbled reply).
  Opcode garbled = Opcode::kCount;

  size_t count(Opcode op) const {
    size_t n = 0;
    for (const Sent& s : sent) n += s.op == op;
    return n;
  }

  int rank() const override { return 0; }
  int size() const override { return static_cast<int>(servers.size()); }
  void execute(Call* calls, size_t n, size_t) override {
    for (size_t i = 0; i < n; ++i) {
      Call& c = calls[i];
      sent.push_back({c.target, c.op, c.send_len});
      c.status = 0;
      c.recv_len = 0;
      if (c.target == failing_server) {
        c.status = failing_errno;
        continue;
      }
      auto* op = new ServerOp;
      op->header.opcode = static_cast<uint16_t>(c.op);
      op->header.req_id = i + 1;
      op->args = c.args;
      op->in_data = static_cast<const char*>(c.send_data);
      op->in_len = c.send_len;
      op->local = &c;
      servers[static_cast<size_t>(c.target)]->handle(op);  // the memory store completes at once
      if (c.op == garbled && c.status == 0) c.reply_args.push_back('\0');
    }
  }
  bool offers_backing_files() const override { return false; }
  bool same_host(int) const override { return false; }
  int take_peer_fd(int, int) const override { return -1; }
  void count_direct(uint64_t) override {}
};

Config job_config() {
  Config c;
  c.chunk_size = kChunk;
  c.backend = "memory";
  c.direct_io = false;
  return c;
}

std::vector<char> pattern(size_t len, unsigned seed) {
  std::vector<char> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>((i * 131 + seed * 7) >> 3);
  return v;
}

TEST_CASE("Client: a pwrite is split at chunk boundaries, each piece sent to its chunk's owner") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/striped", O_CREAT | O_RDWR, 0644, &f) == 0);
  job.sent.clear();
  // From 10 KiB into chunk 0 to 20 KiB into chunk 3: four pieces.
  const uint64_t offset = 10 << 10;
  const size_t len = 3 * kChunk + (10 << 10);
  auto data = pattern(len, 1);
  size_t done = 0;
  REQUIRE(client.pwrite(f, data.data(), len, offset, &done) == 0);
  CHECK(done == len);
  REQUIRE(job.sent.size() == 4);
  const size_t want_len[] = {kChunk - (10 << 10), kChunk, kChunk, 20 << 10};
  for (uint64_t k = 0; k < 4; ++k) {
    CHECK(job.sent[k].op == Opcode::kWrite);
    CHECK(job.sent[k].target == chunk_owner(f.id, k, 4));
    CHECK(job.sent[k].send_len == want_len[k]);
  }
  // Four consecutive chunks land on four different servers.
  for (int r = 0; r < 4; ++r) CHECK(job.stores[static_cast<size_t>(r)]->file_count() == 1);
  std::vector<char> back(len);
  REQUIRE(client.pread(f, back.data(), len, offset, &done) == 0);
  CHECK(done == len);
  CHECK(back == data);
  CHECK(client.close(f) == 0);
}

TEST_CASE("Client: reads stop at the end of the file; bytes never written read as zeros") {
  LocalJob job(3);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/short", O_CREAT | O_RDWR, 0644, &f) == 0);
  const size_t size = kChunk + 1000;
  auto data = pattern(size, 2);
  size_t done = 0;
  // Written in two parts with a hole between them.
  REQUIRE(client.pwrite(f, data.data(), 100, 0, &done) == 0);
  REQUIRE(client.pwrite(f, data.data() + 5000, size - 5000, 5000, &done) == 0);
  REQUIRE(client.close(f) == 0);

  OpenFile r;
  REQUIRE(client.open("/short", O_RDONLY, 0, &r) == 0);
  std::vector<char> buf(2 * kChunk, 'x');
  REQUIRE(client.pread(r, buf.data(), buf.size(), 0, &done) == 0);
  CHECK(done == size);  // short: the size the writer reported at close
  CHECK(std::memcmp(buf.data(), data.data(), 100) == 0);
  CHECK(std::all_of(buf.begin() + 100, buf.begin() + 5000, [](char c) { return c == 0; }));
  CHECK(std::memcmp(buf.data() + 5000, data.data() + 5000, size - 5000) == 0);
  REQUIRE(client.pread(r, buf.data(), 10, size - 4, &done) == 0);
  CHECK(done == 4);
  REQUIRE(client.pread(r, buf.data(), 10, size, &done) == 0);
  CHECK(done == 0);
  REQUIRE(client.pread(r, buf.data(), 10, 10 * kChunk, &done) == 0);
  CHECK(done == 0);
  CHECK(client.close(r) == 0);
}

TEST_CASE("Client: truncate reclaims exactly the chunks past the new size") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/t", O_CREAT | O_RDWR, 0644, &f) == 0);
  const size_t size = 5 * kChunk;
  auto data = pattern(size, 3);
  size_t done = 0;
  REQUIRE(client.pwrite(f, data.data(), size, 0, &done) == 0);
  REQUIRE(client.close(f) == 0);

  job.sent.clear();
  const uint64_t cut = kChunk + kChunk / 2;
  REQUIRE(client.truncate("/t", cut, false, {}) == 0);
  // Chunks 1..4 hold bytes at or past the cut; chunk 4 shares chunk 0's
  // server, so four servers are asked, and chunk 0's is asked once.
  CHECK(job.count(Opcode::kTruncateData) == 4);
  Attr a;
  REQUIRE(client.stat("/t", &a) == 0);
  CHECK(a.size == cut);

  // Grown again: what was cut reads as zeros, what stayed is intact.
  REQUIRE(client.truncate("/t", size, false, {}) == 0);
  OpenFile r;
  REQUIRE(client.open("/t", O_RDONLY, 0, &r) == 0);
  std::vector<char> back(size, 'x');
  REQUIRE(client.pread(r, back.data(), size, 0, &done) == 0);
  REQUIRE(done == size);
  CHECK(std::memcmp(back.data(), data.data(), cut) == 0);
  CHECK(std::all_of(back.begin() + cut, back.end(), [](char c) { return c == 0; }));
  CHECK(client.close(r) == 0);

  // Truncated to 0 and unlinked: nothing is left on any server.
  REQUIRE(client.truncate("/t", 0, false, {}) == 0);
  REQUIRE(client.unlink("/t") == 0);
  for (auto* s : job.stores) CHECK(s->file_count() == 0);
}

TEST_CASE("Client: unlink reclaims the chunks on every server that holds some") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/u", O_CREAT | O_WRONLY, 0644, &f) == 0);
  auto data = pattern(3 * kChunk, 4);
  size_t done = 0;
  REQUIRE(client.pwrite(f, data.data(), data.size(), 0, &done) == 0);
  REQUIRE(client.close(f) == 0);
  size_t holding = 0;
  for (auto* s : job.stores) holding += s->file_count();
  CHECK(holding == 3);
  job.sent.clear();
  REQUIRE(client.unlink("/u") == 0);
  // Only the servers that hold chunks; chunk 0's, which owns the metadata
  // too, removed its own as part of the unlink.
  CHECK(job.count(Opcode::kRemoveData) == 2);
  for (auto* s : job.stores) CHECK(s->file_count() == 0);
  Attr a;
  CHECK(client.stat("/u", &a) == ENOENT);
}

TEST_CASE("Client: a failed server gives the caller the prefix stored and the server's errno") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/e", O_CREAT | O_RDWR, 0644, &f) == 0);
  job.failing_server = chunk_owner(f.id, 2, 4);
  job.failing_errno = ENOSPC;
  auto data = pattern(4 * kChunk, 5);
  size_t done = 0;
  CHECK(client.pwrite(f, data.data(), data.size(), 0, &done) == ENOSPC);
  CHECK(done == 2 * kChunk);  // chunks 0 and 1, before the failed one
  // Chunk 3 landed too: the size covers it, so unlink reclaims it.
  job.failing_server = -1;
  REQUIRE(client.close(f) == 0);
  Attr a;
  REQUIRE(client.stat("/e", &a) == 0);
  CHECK(a.size == 4 * kChunk);

  // A server that is gone: EIO from reads of its chunk, others still work.
  job.failing_server = chunk_owner(f.id, 1, 4);
  job.failing_errno = EIO;
  OpenFile r;
  REQUIRE(client.open("/e", O_RDONLY, 0, &r) == 0);
  std::vector<char> back(kChunk);
  CHECK(client.pread(r, back.data(), kChunk, kChunk, &done) == EIO);
  REQUIRE(client.pread(r, back.data(), kChunk, 0, &done) == 0);
  CHECK(std::memcmp(back.data(), data.data(), kChunk) == 0);
  CHECK(client.close(r) == 0);
}

TEST_CASE("Client: a reply that does not decode is EPROTO, not a wrong result") {
  LocalJob job(2);
  Client client(job, job_config(), 022);
  REQUIRE(client.mkdir("/d", 0755) == 0);
  job.garbled = Opcode::kStat;
  Attr a;
  CHECK(client.stat("/d", &a) == EPROTO);
  job.garbled = Opcode::kUnlink;
  OpenFile f;
  REQUIRE(client.open("/d/f", O_CREAT | O_WRONLY, 0644, &f) == 0);
  REQUIRE(client.close(f) == 0);
  CHECK(client.unlink("/d/f") == EPROTO);
  job.garbled = Opcode::kCount;
  CHECK(client.stat("/d/f", &a) == ENOENT);  // the unlink itself was served
}

TEST_CASE("Client: errors of the namespace come back as POSIX errnos") {
  LocalJob job(3);
  Client client(job, job_config(), 022);
  Attr a;
  CHECK(client.stat("/missing", &a) == ENOENT);
  REQUIRE(client.mkdir("/dir", 0755) == 0);
  CHECK(client.mkdir("/dir", 0755) == EEXIST);
  OpenFile f;
  CHECK(client.open("/nodir/f", O_CREAT | O_WRONLY, 0644, &f) == ENOENT);
  REQUIRE(client.open("/dir/f", O_CREAT | O_WRONLY, 0644, &f) == 0);
  REQUIRE(client.close(f) == 0);
  OpenFile g;
  CHECK(client.open("/dir/f", O_CREAT | O_EXCL | O_WRONLY, 0644, &g) == EEXIST);
  CHECK(client.open("/dir/f/x", O_CREAT | O_WRONLY, 0644, &g) == ENOTDIR);
  CHECK(client.rmdir("/dir") == ENOTEMPTY);
  CHECK(client.unlink("/dir") == EISDIR);
  REQUIRE(client.unlink("/dir/f") == 0);
  CHECK(client.rmdir("/dir") == 0);
  CHECK(client.stat("/dir/f", &a) == ENOENT);
  CHECK(client.stat("/dir/f/x", &a) == ENOENT);
}

// A file at /d/f, a directory link /l -> /d and a relative /rel -> d.
void make_linked_tree(Client& client) {
  REQUIRE(client.mkdir("/d", 0755) == 0);
  OpenFile f;
  REQUIRE(client.open("/d/f", O_CREAT | O_WRONLY, 0644, &f) == 0);
  REQUIRE(client.close(f) == 0);
  REQUIRE(client.symlink("/d", "/l") == 0);
  REQUIRE(client.symlink("d", "/rel") == 0);
}

TEST_CASE("Client: symbolic links are followed in the middle and at the end of a path") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  make_linked_tree(client);
  Attr file, a;
  REQUIRE(client.stat("/d/f", &file) == 0);
  for (const char* p : {"/l/f", "/rel/f"}) {
    CAPTURE(p);
    REQUIRE(client.stat(p, &a) == 0);
    CHECK(a.id == file.id);
  }
  // stat follows the last link, lstat does not.
  REQUIRE(client.stat("/l", &a) == 0);
  CHECK(a.is_dir());
  std::string target;
  REQUIRE(client.lstat("/rel", &a, &target) == 0);
  CHECK(a.is_link());
  CHECK(a.size == 1);
  CHECK(target == "d");
  CHECK(client.readlink("/l", &target) == 0);
  CHECK(target == "/d");
  CHECK(client.readlink("/d", &target) == EINVAL);
  // Creates, renames and removals under a linked directory land in it.
  REQUIRE(client.mkdir("/l/sub", 0755) == 0);
  REQUIRE(client.stat("/d/sub", &a) == 0);
  CHECK(a.is_dir());
  OpenFile g;
  REQUIRE(client.open("/rel/sub/g", O_CREAT | O_WRONLY, 0644, &g) == 0);
  CHECK(g.path == "/d/sub/g");
  REQUIRE(client.close(g) == 0);
  REQUIRE(client.rename("/l/sub/g", "/rel/h") == 0);
  CHECK(client.stat("/d/h", &a) == 0);
  REQUIRE(client.unlink("/l/h") == 0);
  CHECK(client.stat("/d/h", &a) == ENOENT);
  REQUIRE(client.rmdir("/l/sub") == 0);
  // A link through a file is ENOTDIR; a dangling one ENOENT, and O_CREAT
  // through it makes the target.
  REQUIRE(client.symlink("/d/f", "/tofile") == 0);
  CHECK(client.stat("/tofile/x", &a) == ENOTDIR);
  REQUIRE(client.symlink("/d/new", "/dangling") == 0);
  CHECK(client.stat("/dangling", &a) == ENOENT);
  CHECK(client.open("/dangling", O_CREAT | O_EXCL | O_WRONLY, 0644, &g) == EEXIST);
  REQUIRE(client.open("/dangling", O_CREAT | O_WRONLY, 0644, &g) == 0);
  CHECK(g.path == "/d/new");
  REQUIRE(client.close(g) == 0);
  CHECK(client.stat("/d/new", &a) == 0);
  // O_NOFOLLOW refuses a link as the last component only.
  CHECK(client.open("/l", O_RDONLY | O_NOFOLLOW, 0, &g) == ELOOP);
  REQUIRE(client.open("/l/f", O_RDONLY | O_NOFOLLOW, 0, &g) == 0);
  // The link itself: mkdir and symlink over it are EEXIST, rmdir ENOTDIR,
  // rename moves it, unlink removes it and leaves the target.
  CHECK(client.mkdir("/l", 0755) == EEXIST);
  CHECK(client.symlink("/x", "/l") == EEXIST);
  CHECK(client.rmdir("/l") == ENOTDIR);
  REQUIRE(client.rename("/l", "/l2") == 0);
  CHECK(client.lstat("/l", &a) == ENOENT);
  REQUIRE(client.stat("/l2/f", &a) == 0);
  CHECK(a.id == file.id);
  REQUIRE(client.unlink("/l2") == 0);
  CHECK(client.stat("/d/f", &a) == 0);
  CHECK(client.lstat("/l2", &a) == ENOENT);
}

TEST_CASE("Client: ELOOP after 40 links, and for a loop") {
  LocalJob job(3);
  Client client(job, job_config(), 022);
  OpenFile f;
  REQUIRE(client.open("/end", O_CREAT | O_WRONLY, 0644, &f) == 0);
  REQUIRE(client.close(f) == 0);
  // /c1 -> /end, /cN -> /c(N-1): reaching /end from /c40 follows 40 links.
  REQUIRE(client.symlink("/end", "/c1") == 0);
  for (int i = 2; i <= 41; ++i)
    REQUIRE(client.symlink("/c" + std::to_string(i - 1), "/c" + std::to_string(i)) == 0);
  Attr a;
  CHECK(client.stat("/c40", &a) == 0);
  CHECK(client.stat("/c41", &a) == ELOOP);
  CHECK(client.lstat("/c41", &a) == 0);
  REQUIRE(client.symlink("/loop2", "/loop1") == 0);
  REQUIRE(client.symlink("loop1", "/loop2") == 0);
  CHECK(client.stat("/loop1", &a) == ELOOP);
  CHECK(client.stat("/loop1/x", &a) == ELOOP);
  CHECK(client.open("/loop1", O_CREAT | O_WRONLY, 0644, &f) == ELOOP);
  CHECK(client.mkdir("/loop1/x", 0755) == ELOOP);
}

TEST_CASE("Client: a path without links costs the requests it cost before links") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  make_linked_tree(client);
  Attr a;
  job.sent.clear();
  REQUIRE(client.stat("/d/f", &a) == 0);  // one lookup
  CHECK(job.sent.size() == 1);
  job.sent.clear();
  OpenFile f;
  REQUIRE(client.open("/d/g", O_CREAT | O_WRONLY, 0644, &f) == 0);  // parent remembered
  CHECK(job.sent.size() == 1);
  job.sent.clear();
  REQUIRE(client.close(f) == 0);  // nothing written: nothing to say
  CHECK(job.sent.empty());
  REQUIRE(client.unlink("/d/g") == 0);  // empty file: the owner alone
  CHECK(job.sent.size() == 1);
  // A small file's life (mdtest-hard): create, write, close and unlink cost
  // a request each, as before writers were counted (kWriters: the first
  // write carries it).
  job.sent.clear();
  OpenFile s;
  REQUIRE(client.open("/d/small", O_CREAT | O_WRONLY, 0644, &s) == 0);
  auto bytes = pattern(3901, 2);
  size_t done = 0;
  REQUIRE(client.pwrite(s, bytes.data(), bytes.size(), 0, &done) == 0);
  REQUIRE(client.close(s) == 0);
  REQUIRE(client.unlink("/d/small") == 0);
  CHECK(job.sent.size() == 4);
  job.sent.clear();
  // Missing: the lookup, then one per missing level until an existing
  // directory (here /d): what telling ENOENT from ENOTDIR cost before.
  CHECK(client.stat("/d/x/y", &a) == ENOENT);
  CHECK(job.sent.size() == 3);
  job.sent.clear();
  // Through a link: the failed lookup, the walk up to the link, the lookup
  // of the target.
  REQUIRE(client.stat("/l/f", &a) == 0);
  CHECK(job.sent.size() == 3);
}

TEST_CASE("Client: a descriptor that writes after another's unlink gets ESTALE; nothing is stored") {
  LocalJob job(4);
  Client client(job, job_config(), 022);
  OpenFile early, late;
  REQUIRE(client.open("/f", O_CREAT | O_RDWR, 0644, &early) == 0);
  REQUIRE(client.open("/f", O_RDWR, 0, &late) == 0);
  auto data = pattern(4 * kChunk, 3);
  size_t done = 0;
  REQUIRE(client.pwrite(early, data.data(), data.size(), 0, &done) == 0);  // a writer
  REQUIRE(client.unlink("/f") == 0);
  // Every server holds the id as stale; the descriptor that wrote before
  // and the one that never did are refused alike.
  CHECK(client.pwrite(early, data.data(), data.size(), 0, &done) == ESTALE);
  CHECK(done == 0);
  CHECK(client.pwrite(late, data.data(), data.size(), 8 * kChunk, &done) == ESTALE);
  CHECK(client.pread(early, data.data(), kChunk, 0, &done) == ESTALE);
  for (auto* store : job.stores) CHECK(store->file_count() == 0);
  CHECK(client.close(early) == 0);
  CHECK(client.close(late) == 0);
  // Without writers left, an unlink is a plain one, and a descriptor
  // opened before it that writes only now is refused by the server that
  // made the id, before any byte is sent.
  OpenFile quiet;
  REQUIRE(client.open("/g", O_CREAT | O_RDWR, 0644, &quiet) == 0);
  REQUIRE(client.unlink("/g") == 0);
  job.sent.clear();
  CHECK(client.pwrite(quiet, data.data(), data.size(), kChunk, &done) == ESTALE);
  CHECK(job.sent.size() == 1);  // chunk 4's piece, sent ahead to chunk 0's server
  CHECK(job.sent[0].op == Opcode::kWrite);
  CHECK(job.sent[0].target == chunk_owner(quiet.id, 0, 4));
  for (auto* store : job.stores) CHECK(store->file_count() == 0);
  CHECK(client.close(quiet) == 0);
}

}  // namespace
}  // namespace benchfs
