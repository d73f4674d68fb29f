// The running BenchFS of this process: what benchfs_init builds and
// benchfs_finalize tears down.  Tests reach internals through it.
#pragma once

#include <mpi.h>

#include <functional>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "client/client.h"
#include "common/config.h"
#include "engine/engine.h"
#include "server/server.h"
#include "store/job_directories.h"

namespace benchfs {

struct Instance {
  Config config;
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 0;
  std::string job_tag;  // names this job's backing directories
  JobLock job_lock;     // uring: held from before the backing directory exists until it is gone
  // The engine serves requests with the server: it goes first.
  std::unique_ptr<Server> server;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Client> client;

  std::mutex fd_mutex;
  std::vector<std::shared_ptr<OpenFile>> fds;  // slot i is fd i + kFirstFd
};

constexpr int kFirstFd = 3;

// Runs fn with the instance under the shared lifecycle lock; returns ENODEV
// (and does not call fn) when BenchFS is not running.
int with_instance(const std::function<int(Instance&)>& fn);

}  // namespace benchfs
