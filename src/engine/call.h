// A client's request to one server, and how the calling thread waits for it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "rpc/message.h"

namespace benchfs {

// Counts completed calls of one batch.  The thread that owns the batch
// either drives the worker itself and reads count(), or sleeps in
// wait_beyond() while another thread drives.
class CallWaiter {
 public:
  // Everything under m_: the owner may destroy the waiter as soon as it
  // sees the count, which a sleeping owner reads only under m_.
  void complete() {
    std::lock_guard<std::mutex> lock(m_);
    completed_.fetch_add(1);
    cv_.notify_one();
  }
  unsigned count() const { return completed_.load(); }
  // Blocks until more than `seen` calls completed; returns the new count.
  unsigned wait_beyond(unsigned seen) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return count() > seen; });
    return count();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<unsigned> completed_{0};
};

struct Call {
  // Request, filled by the client.
  int target = 0;
  Opcode op = Opcode::kStat;
  std::string args;
  const void* send_data = nullptr;  // payload (write); must outlive the call
  size_t send_len = 0;
  void* recv_buf = nullptr;         // where a reply payload lands (read)
  size_t recv_cap = 0;

  // Result, filled by the thread driving the worker before the waiter is
  // signalled.
  int status = 0;  // 0 or errno
  std::string reply_args;
  size_t recv_len = 0;

  // Bookkeeping of the thread driving the worker.
  uint64_t id = 0;
  bool send_done = false;
  bool reply_done = false;
  bool receiving = false;  // a rendezvous reply payload is being received
  bool peer_memory = false;  // the server copies payloads from/to this call's buffers
  // Failed (timeout, peer failure) while UCX still wrote recv_buf: the call
  // goes back to its caller only when UCX is done with the buffer.
  bool abandoned = false;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point started;
  CallWaiter* waiter = nullptr;
};

}  // namespace benchfs
