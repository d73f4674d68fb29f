// benchfs_stage_in / benchfs_stage_out and the stages of the settings:
// argument checks and the running instance's communicator around
// stage::copy_tree (src/stage/).
#include "api/stage.h"

#include <cerrno>
#include <optional>

#include "api/instance.h"
#include "api/public_api.h"
#include "common/log.h"
#include "stage/stage.h"
#include "stage/tree.h"

namespace benchfs {

namespace {

// What a stage needs of the running instance, copied out so that the copy
// runs without holding the lifecycle lock (the C calls it makes take it).
struct Running {
  MPI_Comm comm = MPI_COMM_NULL;
  uint64_t chunk_size = 0;
  mode_t umask = 022;
  std::optional<StagePaths> stage_in, stage_out;
  bool errors_fail = true;
};

int running(Running* r) {
  return with_instance([&](Instance& inst) {
    r->comm = inst.comm;
    r->chunk_size = inst.config.chunk_size;
    r->umask = inst.client->umask();
    r->stage_in = inst.config.stage_in;
    r->stage_out = inst.config.stage_out;
    r->errors_fail = inst.config.stage_errors_fail;
    return 0;
  });
}

int check_path(const char* path) {
  if (!path) return EFAULT;
  if (path[0] != '/') return EINVAL;
  return 0;
}

// Copies and returns the errno of the first problem (EIO if it had none), or 0.
int copy(const Running& r, const char* stage, stage::Tree& from, const char* from_root,
         stage::Tree& to, const char* to_root, bool errors_are_warnings) {
  // A bad argument on one rank fails the call on all of them (none hangs).
  int err = check_path(from_root);
  if (!err) err = check_path(to_root);
  int any = 0;
  MPI_Allreduce(&err, &any, 1, MPI_INT, MPI_MAX, r.comm);
  if (any) return any;
  stage::Request request;
  request.stage = stage;
  request.from = &from;
  request.from_root = from_root;
  request.to = &to;
  request.to_root = to_root;
  request.chunk_size = r.chunk_size;
  request.errors_are_warnings = errors_are_warnings;
  request.comm = r.comm;
  stage::Summary s = stage::copy_tree(request);
  if (!s.problems) return 0;
  return s.first_errno ? s.first_errno : EIO;
}

int stage_in(const Running& r, const char* src_dir, const char* dst_path, bool warnings) {
  stage::OutsideTree outside;
  stage::BenchfsTree benchfs(r.umask);
  return copy(r, "stage-in", outside, src_dir, benchfs, dst_path, warnings);
}

int stage_out(const Running& r, const char* src_path, const char* dst_dir, bool warnings) {
  stage::BenchfsTree benchfs(r.umask);
  stage::OutsideTree outside;
  return copy(r, "stage-out", benchfs, src_path, outside, dst_dir, warnings);
}

// With BENCHFS_STAGE_ERRORS=warn a stage of the settings logs and goes on.
int from_settings(const Running& r, const std::optional<StagePaths>& paths,
                  int (*run)(const Running&, const char*, const char*, bool)) {
  if (!paths) return 0;
  int err = run(r, paths->from.c_str(), paths->to.c_str(), !r.errors_fail);
  return r.errors_fail ? err : 0;
}

}  // namespace

int stage_in_from_settings() {
  Running r;
  if (int err = running(&r)) return err;
  return from_settings(r, r.stage_in, stage_in);
}

int stage_out_from_settings() {
  Running r;
  if (running(&r)) return 0;  // not running: finalize says so
  return from_settings(r, r.stage_out, stage_out);
}

}  // namespace benchfs

using namespace benchfs;

extern "C" int benchfs_stage_in(const char* src_dir, const char* dst_path) {
  Running r;
  int err = running(&r);
  if (!err) err = stage_in(r, src_dir, dst_path, false);
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}

extern "C" int benchfs_stage_out(const char* src_path, const char* dst_dir) {
  Running r;
  int err = running(&r);
  if (!err) err = stage_out(r, src_path, dst_dir, false);
  if (err) {
    errno = err;
    return -1;
  }
  return 0;
}
