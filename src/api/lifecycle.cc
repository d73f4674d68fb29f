// benchfs_init / benchfs_finalize: the collective start and stop.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "api/instance.h"
#include "api/public_api.h"
#include "api/stage.h"
#include "common/log.h"
#include "common/placement.h"
#include "rpc/transport.h"
#include "engine/stats.h"
#include "store/chunk_store.h"
#include "store/job_directories.h"

namespace benchfs {

namespace {

std::shared_mutex g_lifecycle;
std::unique_ptr<Instance> g_instance;
int g_self_keyval = MPI_KEYVAL_INVALID;

int finalize();
int stage_out_before_finalize();

// MPI_Finalize deletes the attributes of MPI_COMM_SELF first, while MPI
// still works: a BenchFS the program did not finalize goes down there,
// collectively, as with benchfs_finalize (IOR and mdtest rely on it).
// There is no caller to tell of a failed BENCHFS_STAGE_OUT, and MPI ends:
// BenchFS goes down after the stage logged what it could not copy.
int on_mpi_finalize(MPI_Comm, int, void*, void*) {
  bool running;
  {
    std::shared_lock<std::shared_mutex> lock(g_lifecycle);
    running = g_instance != nullptr;
  }
  if (!running) return MPI_SUCCESS;
  if (stage_out_before_finalize())
    log().error("BENCHFS_STAGE_OUT failed inside MPI_Finalize: what it could not copy is lost");
  finalize();
  return MPI_SUCCESS;
}

// All ranks learn whether any rank failed, so they fail together.
int agree(int err, MPI_Comm comm) {
  int any = 0;
  MPI_Allreduce(&err, &any, 1, MPI_INT, MPI_MAX, comm);
  return any;
}

// The first rank on each host removes the backing directories that jobs
// which no longer run left in BENCHFS_DIR (killed, aborted, crashed).
void sweep_dead_jobs(const Instance& inst) {
  MPI_Comm host;
  MPI_Comm_split_type(inst.comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
  int host_rank = 0;
  MPI_Comm_rank(host, &host_rank);
  MPI_Comm_free(&host);
  if (host_rank != 0) return;
  for (const SweptDirectory& s : sweep_job_directories(inst.config.dir)) {
    if (s.kept)
      log().info("kept {} of a job that no longer runs (it holds '{}')", s.path, kKeepMarker);
    else if (s.error)
      log().warn("cannot remove {} of a job that no longer runs: {}", s.path,
                 std::strerror(s.error));
    else
      log().info("removed {} ({} bytes) of a job that no longer runs", s.path, s.bytes);
  }
}

// BENCHFS_KEEP=1 marks the job directory so that no sweep removes it, also
// after a crash.
void mark_kept(const Instance& inst) {
  std::string marker = job_directory(inst.config.dir, inst.job_tag) + "/" + kKeepMarker;
  int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

int init(MPI_Comm user_comm) {
  int mpi_up = 0, mpi_down = 0;
  MPI_Initialized(&mpi_up);
  MPI_Finalized(&mpi_down);
  if (!mpi_up || mpi_down) {
    log().error("benchfs_init needs MPI to be initialised (and not finalised)");
    return EINVAL;
  }
  if (user_comm == MPI_COMM_NULL) return EINVAL;

  std::unique_lock<std::shared_mutex> lock(g_lifecycle);
  if (g_instance) {
    log().error("benchfs_init called again without benchfs_finalize");
    return EALREADY;
  }
  auto inst = std::make_unique<Instance>();
  std::string error;
  int err = load_config(&inst->config, &error) ? 0 : EINVAL;
  int user_rank = 0;
  MPI_Comm_rank(user_comm, &user_rank);
  if (err) log().error("benchfs_init: {}", error);
  if (agree(err, user_comm)) return EINVAL;

  MPI_Comm_dup(user_comm, &inst->comm);
  MPI_Comm_rank(inst->comm, &inst->rank);
  MPI_Comm_size(inst->comm, &inst->size);
  init_logging(inst->rank, inst->config.log_level);
  auto fail = [&](int e) {
    MPI_Comm_free(&inst->comm);
    return e;
  };

  // Every rank must stripe with the same chunk size.
  unsigned long long cs = inst->config.chunk_size, cs_min = 0, cs_max = 0;
  MPI_Allreduce(&cs, &cs_min, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, inst->comm);
  MPI_Allreduce(&cs, &cs_max, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, inst->comm);
  if (cs_min != cs_max) {
    log().error("BENCHFS_CHUNK_SIZE differs between ranks ({} vs {})", cs_min, cs_max);
    return fail(EINVAL);
  }

  // A tag unique to this job (and this init) names the backing directories.
  char tag[64] = {};
  if (inst->rank == 0) std::snprintf(tag, sizeof tag, "%s", new_job_tag().c_str());
  MPI_Bcast(tag, sizeof tag, MPI_CHAR, 0, inst->comm);
  inst->job_tag = tag;

  // The claim comes before the directory it protects (see job_directories.h).
  if (inst->config.backend == "uring") {
    err = inst->job_lock.acquire(inst->config.dir, tag);
    if (err) log().error("benchfs_init: cannot lock the job directory in {}: {}",
                         inst->config.dir, std::strerror(err));
  }
  if ((err = agree(err, inst->comm))) return fail(err);
  sweep_dead_jobs(*inst);

  auto store = make_chunk_store(inst->config, inst->rank, inst->size, tag, &error);
  if (!store) log().error("benchfs_init: {}", error);
  if (agree(store ? 0 : EIO, inst->comm)) return fail(EIO);
  if (inst->config.keep && inst->config.backend == "uring") mark_kept(*inst);

  auto transport = std::make_unique<Transport>();
  if (int e = transport->init(inst->comm, inst->config.eager_threshold, inst->config.rpc_timeout)) {
    store->destroy(false);
    return fail(e);
  }
  inst->server = std::make_unique<Server>(inst->rank, inst->size, inst->config.chunk_size,
                                          std::move(store));
  inst->server->create_root();
  inst->engine = std::make_unique<Engine>(inst->config, std::move(transport), *inst->server);
  err = inst->engine->start();
  if (agree(err, inst->comm)) {
    inst->engine->stop();
    inst->engine.reset();
    inst->server->store().destroy(false);
    inst->server.reset();
    return fail(err ? err : EIO);
  }
  mode_t mask = umask(022);
  umask(mask);
  inst->client = std::make_unique<Client>(*inst->engine, inst->config, mask);
  MPI_Barrier(inst->comm);
  if (g_self_keyval == MPI_KEYVAL_INVALID)
    MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_mpi_finalize, &g_self_keyval, nullptr);
  MPI_Comm_set_attr(MPI_COMM_SELF, g_self_keyval, nullptr);
  log().info("started on {} ranks, chunk size {}, {} backend", inst->size,
             inst->config.chunk_size, inst->config.backend);
  g_instance = std::move(inst);
  return 0;
}

// Tag of the "a rank is gone, stop waiting" note on the private
// communicator (nothing else is sent point to point on it).
constexpr int kGoneTag = 0x6266;

// A path whose metadata lives on `rank`: asking for it (ENOENT) tells
// whether that rank's server still answers.
std::string probe_path(int rank, int size) {
  for (unsigned k = 0;; ++k) {
    std::string p = "/.benchfs-probe-" + std::to_string(k);
    if (metadata_owner(p, size) == rank) return p;
  }
}

// Waits until every rank reached this point, like MPI_Barrier, but returns
// false instead of hanging when a rank is gone (exited, killed or stopped).
// A rank waiting in MPI_Ibarrier cannot tell a slow rank from a dead one,
// and it may never have talked to the dead one.  So while it waits (after
// 1 s, then every 1 s) it asks its ring successor's server for a
// path; a successor that does not answer within BENCHFS_RPC_TIMEOUT (or whose
// connection failed) is gone.  The rank that finds out tells every other
// rank with a note, and everyone stops waiting.  Every rank still waiting has
// a successor, and the nearest waiting predecessor of a dead rank probes it,
// so the wait always ends.  The costs when all is well: one small
// message per second per rank that waits longer than a second.
bool wait_for_all(Instance& inst) {
  using Clock = std::chrono::steady_clock;
  if (inst.size == 1) return true;
  static const int note_out = 1;  // Isend buffers must outlive the sends
  int note_in = 0;
  MPI_Request note, barrier;
  MPI_Irecv(&note_in, 1, MPI_INT, MPI_ANY_SOURCE, kGoneTag, inst.comm, &note);
  MPI_Ibarrier(inst.comm, &barrier);
  const int succ = (inst.rank + 1) % inst.size;
  const std::string probe = probe_path(succ, inst.size);
  auto next_probe = Clock::now() + std::chrono::seconds(1);
  auto pause = std::chrono::microseconds(20);
  auto cancel_note = [&] {
    MPI_Cancel(&note);
    MPI_Wait(&note, MPI_STATUS_IGNORE);
  };
  for (;;) {
    int done = 0;
    MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
    if (done) {
      cancel_note();
      return true;
    }
    MPI_Status st;
    MPI_Test(&note, &done, &st);
    if (done) {
      // The barrier request stays pending: a collective cannot be cancelled.
      log().error("finalize: rank {} reported a lost rank; shutting down without it",
                  st.MPI_SOURCE);
      return false;
    }
    if (Clock::now() >= next_probe) {
      Attr attr;
      int err = inst.client->stat(probe, &attr);
      MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);  // it may have come meanwhile
      if (done) {
        cancel_note();
        return true;
      }
      if (err == ETIMEDOUT || err == EIO) {
        log().error("finalize: rank {} does not answer ({}); shutting down without it", succ,
                    std::strerror(err));
        for (int r = 0; r < inst.size; ++r) {
          if (r == inst.rank || r == succ) continue;
          MPI_Request req;
          MPI_Isend(&note_out, 1, MPI_INT, r, kGoneTag, inst.comm, &req);
          MPI_Request_free(&req);
        }
        cancel_note();
        return false;
      }
      next_probe = Clock::now() + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(10000));
  }
}

// BENCHFS_STATS=1: rank 0 prints every rank's counters and their sum.
void report_stats(Instance& inst) {
  RankStats mine = inst.engine->stats();
  std::vector<RankStats> all(inst.rank == 0 ? inst.size : 0);
  MPI_Gather(&mine, sizeof mine, MPI_BYTE, all.data(), sizeof mine, MPI_BYTE, 0, inst.comm);
  if (inst.rank != 0) return;
  RankStats sum;
  for (int r = 0; r < inst.size; ++r) {
    std::string title = "benchfs stats rank " + std::to_string(r);
    print_stats(stderr, all[r], title.c_str(), false);
    sum.merge(all[r]);
  }
  std::string title = "benchfs stats all " + std::to_string(inst.size) + " ranks";
  print_stats(stderr, sum, title.c_str(), true);
}

// Files the program left open: record what was written, as close would.
void close_files(Instance& inst) {
  std::vector<std::shared_ptr<OpenFile>> open;
  {
    std::lock_guard<std::mutex> guard(inst.fd_mutex);
    open.swap(inst.fds);
  }
  for (auto& f : open)
    if (f) inst.client->close(*f);
}

// BENCHFS_STAGE_OUT, if set, after closing the files the program left
// open: the copy must see what they wrote.  0, or the stage's errno.
int stage_out_before_finalize() {
  bool configured = false;
  with_instance([&](Instance& inst) {
    configured = inst.config.stage_out.has_value();
    if (configured) close_files(inst);
    return 0;
  });
  return configured ? stage_out_from_settings() : 0;
}

int finalize() {
  std::unique_lock<std::shared_mutex> lock(g_lifecycle);
  if (!g_instance) return ENODEV;
  Instance& inst = *g_instance;
  close_files(inst);
  int finalized = 0;
  MPI_Finalized(&finalized);
  // Every rank's client is done; a lost rank ends the collective part.
  bool all_here = finalized || wait_for_all(inst);
  if (inst.config.stats && !finalized && all_here) report_stats(inst);
  inst.engine->close_endpoints();  // peers still progress: flush (bounded)
  if (!finalized && all_here) all_here = wait_for_all(inst);
  inst.engine->stop();
  inst.server->store().destroy(inst.config.keep);
  // The job directory goes with the last rank directory in it.
  if (!inst.config.keep) ::rmdir(job_directory(inst.config.dir, inst.job_tag).c_str());
  inst.job_lock.release();
  inst.client.reset();
  inst.engine.reset();
  inst.server.reset();
  // With a rank lost, a barrier request is still pending on the
  // communicator: it is left to MPI_Finalize rather than freed.
  if (!finalized && all_here) MPI_Comm_free(&inst.comm);
  g_instance.reset();
  // This rank is down either way; EIO says the job lost a rank (and the
  // data it held).
  return all_here ? 0 : EIO;
}

// Stopped by hand: MPI_Finalize has nothing left to do (its callback finds
// no instance).  Deleting runs the callback, outside our lock.
void drop_mpi_finalize_hook() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && g_self_keyval != MPI_KEYVAL_INVALID) {
    MPI_Comm_delete_attr(MPI_COMM_SELF, g_self_keyval);
    // Release the keyval too (the next benchfs_init makes a new one): Open
    // MPI does not free keyvals left at MPI_Finalize (valgrind: definitely
    // lost).
    MPI_Comm_free_keyval(&g_self_keyval);
  }
}

}  // namespace

int with_instance(const std::function<int(Instance&)>& fn) {
  std::shared_lock<std::shared_mutex> lock(g_lifecycle);
  if (!g_instance) return ENODEV;
  return fn(*g_instance);
}

}  // namespace benchfs

using namespace benchfs;

extern "C" int benchfs_init(MPI_Comm comm) {
  int err = init(comm);
  // A stage-in that failed (BENCHFS_STAGE_ERRORS=fail) fails the init: the
  // job is not started on part of its input.  The stage reported every
  // problem; the source is untouched, so nothing is lost.
  if (!err && (err = stage_in_from_settings())) {
    finalize();
    drop_mpi_finalize_hook();
  }
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

extern "C" int benchfs_finalize(void) {
  // A stage-out that failed leaves BenchFS running, its files all there:
  // the caller learns of it before anything is deleted.
  int err = stage_out_before_finalize();
  if (!err) err = finalize();
  if (err) {
    errno = err;
    return -1;
  }
  drop_mpi_finalize_hook();
  return 0;
}

extern "C" int benchfs_initialized(void) {
  return with_instance([](Instance&) { return 0; }) == 0 ? 1 : 0;
}

extern "C" int benchfs_rank(void) {
  int rank = -1;
  int err = with_instance([&](Instance& i) {
    rank = i.rank;
    return 0;
  });
  if (err) {
    errno = err;
    return -1;
  }
  return rank;
}

extern "C" int benchfs_size(void) {
  int size = -1;
  int err = with_instance([&](Instance& i) {
    size = i.size;
    return 0;
  });
  if (err) {
    errno = err;
    return -1;
  }
  return size;
}

extern "C" int benchfs_stats_print(FILE* out) {
  int err = with_instance([&](Instance& inst) {
    if (!out) return EFAULT;
    RankStats s = inst.engine->stats();
    std::string title = "benchfs stats rank " + std::to_string(inst.rank);
    print_stats(out, s, title.c_str(), true);
    return 0;
  });
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}
