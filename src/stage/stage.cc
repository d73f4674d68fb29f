#include "stage/stage.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "common/log.h"
#include "stage/problems.h"
#include "stage/walk.h"

namespace benchfs::stage {

namespace {

using Clock = std::chrono::steady_clock;

// Files larger than a piece are cut into pieces that several ranks copy.
// A piece is whole chunks, so no two ranks write into one chunk.
constexpr uint64_t kMinPieceBytes = 1 << 20;
// The copy buffer of each rank.
constexpr size_t kBufferBytes = 4 << 20;
// Creating, closing and finishing a file cost about as much as copying this
// many bytes: planning counts it, so small files are spread by number too.
constexpr uint64_t kFileCost = 64 << 10;
constexpr double kProgressSeconds = 2.0;
// Threads of a rank creating and copying its files: a small file's copy is
// a handful of requests that mostly wait (for a server, for the peer's
// progress thread to wake up), so a few run at once.
constexpr unsigned kFileWorkers = 4;

struct Piece {
  size_t file;
  uint64_t offset;
  uint64_t length;
};

// Who copies what; the same on every rank (it depends only on the listing).
struct Plan {
  std::vector<Piece> mine;   // this rank's pieces, in file order
  std::vector<int> creator;  // per file: the rank that creates and finishes it
  std::vector<bool> split;   // per file: cut into pieces
  uint64_t my_bytes = 0;
  uint64_t my_files = 0;     // files this rank creates
};

// Deals the pieces to the least loaded rank so far, file by file: small
// files spread by bytes and by count, a large file's pieces go round the
// ranks.
Plan make_plan(const std::vector<Entry>& files, uint64_t piece_bytes, int rank, int size) {
  Plan plan;
  plan.creator.resize(files.size());
  plan.split.resize(files.size());
  using Load = std::pair<uint64_t, int>;  // (bytes so far, rank)
  std::priority_queue<Load, std::vector<Load>, std::greater<Load>> least;
  for (int r = 0; r < size; ++r) least.push({0, r});
  auto take = [&](uint64_t cost) {
    Load l = least.top();
    least.pop();
    least.push({l.first + cost, l.second});
    return l.second;
  };
  for (size_t i = 0; i < files.size(); ++i) {
    const uint64_t size_i = files[i].size;
    plan.split[i] = size_i > piece_bytes;
    for (uint64_t off = 0; off == 0 || off < size_i; off += piece_bytes) {
      uint64_t len = std::min(piece_bytes, size_i - off);
      int r = take(len + (off == 0 ? kFileCost : 0));
      if (off == 0) plan.creator[i] = r;
      if (r != rank) continue;
      plan.mine.push_back({i, off, len});
      plan.my_bytes += len;
      if (off == 0) ++plan.my_files;
    }
  }
  return plan;
}

// Every rank's indices, as a per-file flag on every rank.
std::vector<bool> gather_flags(const std::vector<size_t>& mine, size_t count, MPI_Comm comm) {
  std::string bytes(mine.size() * sizeof(size_t), '\0');
  if (!mine.empty()) std::memcpy(bytes.data(), mine.data(), bytes.size());
  std::string all = allgather(bytes, comm);
  std::vector<bool> flags(count);
  for (size_t at = 0; at + sizeof(size_t) <= all.size(); at += sizeof(size_t)) {
    size_t i;
    std::memcpy(&i, all.data() + at, sizeof i);
    if (i < count) flags[i] = true;
  }
  return flags;
}

// The largest errno over the ranks (0 if none failed).
int agree(int err, MPI_Comm comm) {
  int any = 0;
  MPI_Allreduce(&err, &any, 1, MPI_INT, MPI_MAX, comm);
  return any;
}

size_t depth_of(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

bool same_contents(const Entry& now, const Entry& then) {
  return now.size == then.size && now.mtime.tv_sec == then.mtime.tv_sec &&
         now.mtime.tv_nsec == then.mtime.tv_nsec;
}

// mkdir -p.
int make_with_parents(Tree& tree, const std::string& path) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at < path.size() && path[at] != '/') continue;
    if (path[at - 1] == '/') continue;  // a repeated or trailing slash
    if (int err = tree.make_directory(path.substr(0, at), 0755)) return err;
  }
  return 0;
}

// One copy of a tree: the phases of copy_tree, with what they share.
class TreeCopy {
 public:
  TreeCopy(const Request& request, Problems& problems)
      : req_(request), from_(*request.from), to_(*request.to), problems_(problems),
        buffer_(kBufferBytes) {
    MPI_Comm_rank(req_.comm, &rank_);
    MPI_Comm_size(req_.comm, &size_);
  }

  Summary run() {
    const auto start = Clock::now();
    if (int err = check_roots()) {
      Summary failed;
      failed.problems = 1;
      failed.first_errno = err;
      return failed;
    }
    listing_ = walk(from_, req_.from_root, req_.comm, problems_);
    report_skipped();
    const uint64_t piece = std::max<uint64_t>(req_.chunk_size, kMinPieceBytes);
    plan_ = make_plan(listing_.files, piece, rank_, size_);
    if (rank_ == 0) log_listing();
    phase_done("walk and plan", start);
    make_directories();
    phase_done("directories", start);
    create_files();
    phase_done("files", start);
    copy_pieces();
    finish_split_files();
    phase_done("pieces of large files", start);
    MPI_Barrier(req_.comm);  // every file is in place before directories get their times
    set_directory_attributes();
    return summarize(start);
  }

 private:
  std::string source(const Entry& e) const { return req_.from_root + "/" + e.path; }
  std::string target(const Entry& e) const { return req_.to_root + "/" + e.path; }

  // Where file i is written: its final name, or a temporary name beside it.
  std::string written_as(size_t i) const {
    const Entry& e = listing_.files[i];
    if (!to_.writes_under_temporary_names()) return target(e);
    std::string final_name = target(e);
    return final_name.substr(0, final_name.rfind('/') + 1) + ".benchfs-stage-" +
           std::to_string(i);
  }

  // The source must be a directory; the target is made with its parents
  // (by rank 0, the others wait).
  int check_roots() {
    Entry root;
    int err = from_.stat(req_.from_root, &root);
    if (!err && root.kind != Kind::kDirectory) err = -ENOTDIR;
    if (err) problems_.report(req_.from_root, -err, "source directory");
    if ((err = agree(-err, req_.comm))) return err;
    if (rank_ == 0) {
      err = -make_with_parents(to_, req_.to_root);
      if (err) problems_.report(req_.to_root, err, "make target directory");
    }
    return agree(err, req_.comm);
  }

  void report_skipped() {
    if (rank_ != 0) return;
    for (const Entry& e : listing_.others)
      log().warn("{}: {}: skipped: neither a regular file nor a directory ({})", problems_.stage(),
                 source(e), S_ISLNK(e.mode) ? "a symbolic link" : "a special file");
  }

  void log_listing() {
    uint64_t bytes = 0;
    for (const Entry& f : listing_.files) bytes += f.size;
    log().info("{} {} -> {}: {} directories, {} files, {} bytes to copy on {} ranks",
               problems_.stage(), req_.from_root, req_.to_root, listing_.directories.size(),
               listing_.files.size(), bytes, size_);
  }

  // A level at a time, parents before children; made writable for the
  // copy (their own modes come at the end).
  void make_directories() {
    const auto& dirs = listing_.directories;
    for (size_t begin = 0; begin < dirs.size();) {
      size_t end = begin;
      while (end < dirs.size() && depth_of(dirs[end].path) == depth_of(dirs[begin].path)) ++end;
      for (size_t i = begin + static_cast<size_t>(rank_); i < end; i += static_cast<size_t>(size_)) {
        if (int err = to_.make_directory(target(dirs[i]), 0700))
          problems_.report(target(dirs[i]), -err, "mkdir");
        else
          ++directories_made_;
      }
      MPI_Barrier(req_.comm);
      begin = end;
    }
  }

  // Checks that the source still is as the walk found it (size and mtime).
  bool unchanged(int in, size_t i) {
    Entry now;
    if (int err = from_.fstat(in, &now)) {
      problems_.report(source(listing_.files[i]), -err, "fstat");
      return false;
    }
    if (same_contents(now, listing_.files[i])) return true;
    problems_.report(source(listing_.files[i]), EBUSY, "changed while being copied");
    return false;
  }

  // Copies [offset, offset + length) of file i from in to out.
  bool copy_range(int in, int out, size_t i, uint64_t offset, uint64_t length,
                  std::vector<char>& buffer) {
    const Entry& f = listing_.files[i];
    for (uint64_t done = 0; done < length;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - done));
      int64_t got = from_.pread(in, buffer.data(), n, offset + done);
      if (got < 0) {
        problems_.report(source(f), static_cast<int>(-got), "read");
        return false;
      }
      if (static_cast<size_t>(got) < n) {  // the file shrank
        problems_.report(source(f), EBUSY, "changed while being copied");
        return false;
      }
      int64_t put = to_.pwrite(out, buffer.data(), n, offset + done);
      if (put < 0) {
        problems_.report(target(f), static_cast<int>(-put), "write");
        return false;
      }
      done += n;
      copied_bytes_ += n;
      progress();
    }
    return true;
  }

  // Copies the pieces [first, last) of file i, which this rank owns.
  bool copy_file_pieces(size_t i, const Piece* first, const Piece* last, int out,
                        std::vector<char>& buffer) {
    const Entry& f = listing_.files[i];
    int in = from_.open(source(f), O_RDONLY, 0);
    if (in < 0) {
      problems_.report(source(f), -in, "open");
      return false;
    }
    // One check after the bytes are read is enough: the walk's record is
    // from before the copy, and a change since then moved the mtime.
    bool ok = true;
    for (const Piece* p = first; ok && p != last; ++p)
      ok = copy_range(in, out, i, p->offset, p->length, buffer);
    ok = ok && unchanged(in, i);
    from_.close(in);
    return ok;
  }

  // Gives a complete file its mode and time and its final name.
  bool finish(size_t i) {
    const Entry& f = listing_.files[i];
    const std::string written = written_as(i);
    int err = to_.set_attributes(written, !created_with_mode_[i], f.mode, f.mtime);
    if (!err && written != target(f)) err = to_.rename(written, target(f));
    if (err) {
      problems_.report(target(f), -err, "set attributes and rename");
      discard(i);
      return false;
    }
    ++files_done_;
    bytes_done_ += f.size;
    return true;
  }

  void discard(size_t i) { to_.unlink(written_as(i)); }

  // Creates file i (its first piece is p); a file that is one piece is
  // copied and finished right away.
  void create_file(const Piece& p, std::vector<char>& buffer) {
    const size_t i = p.file;
    // A new file may get its final mode at once; one that exists keeps its
    // own through the open, so it is set at the end.
    const mode_t mode = listing_.files[i].mode;
    created_with_mode_[i] = to_.creates_with(mode);
    int out = to_.open(written_as(i), O_CREAT | O_EXCL | O_WRONLY,
                       created_with_mode_[i] ? mode & 07777 : 0600);
    if (out == -EEXIST) {
      created_with_mode_[i] = false;
      out = to_.open(written_as(i), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    }
    if (out < 0) {
      problems_.report(target(listing_.files[i]), -out, "create");
      fail(i);
      return;
    }
    bool ok = plan_.split[i] || copy_file_pieces(i, &p, &p + 1, out, buffer);
    if (int err = to_.close(out); err && ok) {
      problems_.report(target(listing_.files[i]), -err, "close");
      ok = false;
    }
    if (plan_.split[i]) {
      if (!ok) fail(i);
    } else if (ok) {
      finish(i);
    } else {
      discard(i);
    }
  }

  void fail(size_t i) {
    std::lock_guard<std::mutex> guard(mutex_);
    failed_.push_back(i);
  }

  // Every rank creates the files it was given, kFileWorkers at a time.
  void create_files() {
    created_with_mode_.assign(listing_.files.size(), 0);
    std::vector<const Piece*> firsts;
    for (const Piece& p : plan_.mine)
      if (p.offset == 0) firsts.push_back(&p);
    std::atomic<size_t> next{0};
    auto work = [&] {
      std::vector<char> buffer(kBufferBytes);
      for (size_t k; (k = next++) < firsts.size();) create_file(*firsts[k], buffer);
    };
    std::vector<std::thread> workers;
    for (unsigned w = 1; w < kFileWorkers && w < firsts.size(); ++w) workers.emplace_back(work);
    work();
    for (auto& t : workers) t.join();
    failed_split_ = gather_flags(failed_, listing_.files.size(), req_.comm);
    failed_.clear();
  }

  // The pieces of split files, each rank its own, a file's run at a time.
  void copy_pieces() {
    const auto& mine = plan_.mine;
    for (size_t k = 0; k < mine.size();) {
      const size_t i = mine[k].file;
      size_t end = k;
      while (end < mine.size() && mine[end].file == i) ++end;
      if (plan_.split[i] && !failed_split_[i]) {
        int out = to_.open(written_as(i), O_WRONLY, 0);
        bool ok = out >= 0;
        if (!ok) problems_.report(target(listing_.files[i]), -out, "open");
        ok = ok && copy_file_pieces(i, &mine[k], &mine[0] + end, out, buffer_);
        if (out >= 0) {
          if (int err = to_.close(out); err && ok) {
            problems_.report(target(listing_.files[i]), -err, "close");
            ok = false;
          }
        }
        if (!ok) failed_.push_back(i);
      }
      k = end;
    }
    std::vector<bool> failed = gather_flags(failed_, listing_.files.size(), req_.comm);
    for (size_t i = 0; i < failed.size(); ++i)
      if (failed[i]) failed_split_[i] = true;
  }

  void finish_split_files() {
    for (size_t i = 0; i < listing_.files.size(); ++i) {
      if (!plan_.split[i] || plan_.creator[i] != rank_) continue;
      if (failed_split_[i])
        discard(i);
      else
        finish(i);
    }
  }

  // After every entry is in place (a rename into a directory changes its
  // time).
  void set_directory_attributes() {
    const auto& dirs = listing_.directories;
    for (size_t i = static_cast<size_t>(rank_); i < dirs.size(); i += static_cast<size_t>(size_)) {
      const Entry& d = dirs[dirs.size() - 1 - i];
      if (int err = to_.set_attributes(target(d), true, d.mode, d.mtime))
        problems_.report(target(d), -err, "set attributes of");
    }
  }

  // Rank 0 at debug level: where the time goes.
  void phase_done(const char* phase, Clock::time_point start) {
    if (rank_ != 0) return;
    log().debug("{}: {} done after {:.3f} s", problems_.stage(), phase,
                std::chrono::duration<double>(Clock::now() - start).count());
  }

  // Rank 0, every few seconds: its own share (the others copy as much).
  void progress() {
    if (rank_ != 0) return;
    std::unique_lock<std::mutex> guard(progress_mutex_, std::try_to_lock);
    if (!guard) return;  // another worker is at it
    auto now = Clock::now();
    if (last_progress_ == Clock::time_point{}) last_progress_ = started_ = now;
    double since = std::chrono::duration<double>(now - last_progress_).count();
    if (since < kProgressSeconds) return;
    last_progress_ = now;
    double elapsed = std::chrono::duration<double>(now - started_).count();
    log().info("{}: rank 0 has copied {} of its {} bytes and finished {} of its {} files ({:.0f} MiB/s)",
               problems_.stage(), copied_bytes_.load(), plan_.my_bytes, files_done_.load(),
               plan_.my_files, static_cast<double>(copied_bytes_) / (1 << 20) / elapsed);
  }

  Summary summarize(Clock::time_point start) {
    unsigned long long mine[4] = {files_done_, directories_made_, bytes_done_, problems_.count()};
    unsigned long long sum[4] = {};
    MPI_Allreduce(mine, sum, 4, MPI_UNSIGNED_LONG_LONG, MPI_SUM, req_.comm);
    Summary s;
    s.files = sum[0];
    s.directories = sum[1];
    s.bytes = sum[2];
    s.problems = sum[3];
    s.skipped = listing_.others.size();
    std::vector<int> first(static_cast<size_t>(size_));
    int my_first = problems_.first_errno();
    MPI_Allgather(&my_first, 1, MPI_INT, first.data(), 1, MPI_INT, req_.comm);
    for (int e : first)
      if (e && !s.first_errno) s.first_errno = e;
    s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (rank_ == 0)
      log().info("{} {} -> {}: {} files, {} directories, {} bytes in {:.3f} s ({:.0f} MiB/s); "
                 "{} skipped, {} problems",
                 problems_.stage(), req_.from_root, req_.to_root, s.files, s.directories, s.bytes,
                 s.seconds, static_cast<double>(s.bytes) / (1 << 20) / std::max(s.seconds, 1e-9),
                 s.skipped, s.problems);
    return s;
  }

  const Request& req_;
  Tree& from_;
  Tree& to_;
  Problems& problems_;
  std::vector<char> buffer_;  // copy_pieces' (the file workers have their own)
  int rank_ = 0, size_ = 1;
  Listing listing_;
  Plan plan_;
  std::mutex mutex_;                // guards failed_ while workers create files
  std::vector<size_t> failed_;      // split files this rank failed on, not yet agreed
  std::vector<bool> failed_split_;  // split files some rank failed on
  std::vector<char> created_with_mode_;  // per file this rank creates: its mode is set (char: workers write neighbours)
  std::atomic<uint64_t> files_done_{0}, bytes_done_{0}, copied_bytes_{0};
  uint64_t directories_made_ = 0;
  std::mutex progress_mutex_;
  Clock::time_point started_, last_progress_;
};

}  // namespace

Summary copy_tree(const Request& request) {
  Problems problems(request.stage, request.errors_are_warnings);
  return TreeCopy(request, problems).run();
}

}  // namespace benchfs::stage
