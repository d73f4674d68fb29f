// How the client sends typed requests (rpc/protocol.h): a request struct
// becomes a Call to the server that owns what it names, and the reply
// arguments come back as the request's Reply struct.  Private to
// src/client/: the definitions of Client's member templates, shared by
// client.cc (files and data) and directories.cc.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/path.h"
#include "common/placement.h"
#include "common/striping.h"

namespace benchfs {

// A call carrying `args` to server `target`.
template <class Args>
Call call_to(int target, const Args& args) {
  Call c;
  c.target = target;
  c.op = Args::kOp;
  c.args = encode(args);
  return c;
}

// A finished call's outcome: its errno, else 0 with *reply decoded, or
// EPROTO when the reply's arguments are not exactly one Reply.
template <class Reply>
int reply_of(const Call& c, Reply* reply) {
  if (c.status) return c.status;
  return decode(c.reply_args, reply) ? 0 : EPROTO;
}

template <class Args>
Args Client::new_entry(Args args, mode_t mode, uint64_t parent_id) const {
  args.mode = static_cast<uint32_t>(mode & ~umask_ & 07777);
  args.uid = static_cast<uint32_t>(geteuid());
  args.gid = static_cast<uint32_t>(getegid());
  args.parent_id = parent_id;
  return args;
}

template <class Args>
int Client::call_metadata(const Args& args, ReplyOf<Args>* reply) {
  Call c = call_to(metadata_owner_of(args.path), args);
  run_one(c);
  ReplyOf<Args> unused;
  return reply_of(c, reply ? reply : &unused);
}

template <class Args>
int Client::call_every_server(const Args& args, std::vector<Call>* calls) {
  calls->assign(static_cast<size_t>(nranks_), call_to(0, args));
  for (int r = 0; r < nranks_; ++r) (*calls)[r].target = r;
  return run(calls->data(), calls->size());
}

template <class Args>
std::vector<Call> Client::chunk_range_calls(const Args& args, uint64_t first, uint64_t last) const {
  if (last < first) return {};
  // Consecutive chunks sit on consecutive servers: N chunks cover them all.
  uint64_t servers = std::min<uint64_t>(last - first + 1, static_cast<uint64_t>(nranks_));
  std::vector<Call> calls(servers, call_to(0, args));
  for (uint64_t k = 0; k < servers; ++k) calls[k].target = chunk_owner(args.id, first + k, nranks_);
  return calls;
}

template <class Args>
int Client::call_chunk_range(const Args& args, uint64_t first, uint64_t last) {
  std::vector<Call> calls = chunk_range_calls(args, first, last);
  return run(calls.data(), calls.size());
}

template <class Args>
int Client::call_chunk_servers(const Args& args, uint64_t size) {
  uint64_t chunks = chunk_count(size, config_.chunk_size);
  if (chunks == 0) return 0;
  return call_chunk_range(args, 0, chunks - 1);
}

template <typename Op>
int Client::resolve(const std::string& path, bool follow_last, Op&& op) {
  std::string p = path;
  for (int links = 0;;) {
    std::string target;
    int err = op(static_cast<const std::string&>(p), &target);
    std::string next;
    if (err == ENOENT) {
      if (int e = through_link(p, &next)) return e;
    } else if (err == ELOOP && follow_last) {
      Attr a;
      if (target.empty()) {
        if (int e = lookup(p, &a, &target)) return e;
      }
      if (target.empty()) next = p;  // no longer a link: run op again
      else if (int e = follow_link(p, p, target, &next)) return e;
    } else {
      return err;
    }
    if (++links > kMaxSymlinks) return ELOOP;
    p = std::move(next);
  }
}

// ESTALE from the server: the parent's id is fenced.  Either that directory
// is gone or was replaced (the id remembered is stale: look the parent up
// again), or an rmdir or rename of it is under way, which ends with it gone
// or with the fence lifted: wait, and look again.  A fence that outlives
// rpc_timeout belongs to a rank that failed mid-way: ETIMEDOUT.
template <typename Send>
int Client::create_in_parent(const std::string& path, Send&& send) {
  // The deadline is set at the first wait: a create that is not refused
  // (nearly every one) reads no clock here.
  std::chrono::steady_clock::time_point deadline;
  for (int attempt = 0;; ++attempt) {
    uint64_t parent_id = 0;
    if (int err = parent_dir_id(path, attempt > 0, &parent_id)) return err;
    int err = send(parent_id);
    if (err != ESTALE) return err;
    forget_dir(parent_path(path));
    if (attempt == 0) continue;
    auto now = std::chrono::steady_clock::now();
    if (attempt == 1)
      deadline = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(config_.rpc_timeout));
    else if (now > deadline)
      return ETIMEDOUT;
    std::this_thread::sleep_for(std::chrono::microseconds(10 << std::min(attempt, 10)));
  }
}

}  // namespace benchfs
