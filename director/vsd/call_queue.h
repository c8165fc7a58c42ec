// Calls from other threads run on the data-plane thread, between two batches: the control
// thread parses and validates requests and formats answers on its own time, and hands the
// data plane only the short steps that read or swap its state (rules, install, state, zero).
// A slow or stalled vsadm therefore never holds up forwarding.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "os/unique_fd.h"

namespace vsd {

class CallQueue {
 public:
  CallQueue();  // throws when no eventfd can be made
  ~CallQueue();
  CallQueue(const CallQueue&) = delete;
  CallQueue& operator=(const CallQueue&) = delete;

  // Readable while calls are waiting: the owning thread polls it with its ports.
  int fd() const { return event_fd_.get(); }

  // From any other thread: runs fn on the owning thread at its next run_pending() and returns
  // true once it has run; false, without running it, when the queue is closed. An exception
  // fn throws is rethrown here, in the caller's thread, never in the data plane's.
  bool call(const std::function<void()>& fn);

  // The owning thread: runs every waiting call, in the order they came.
  void run_pending();
  // The owning thread: refuses calls from now on and releases every waiting caller.
  void close();

 private:
  struct Pending {
    const std::function<void()>* fn;
    std::exception_ptr* error;
    uint64_t ticket;
  };
  vslab::os::UniqueFd event_fd_;
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<Pending> pending_;
  uint64_t next_ticket_ = 0;
  uint64_t finished_through_ = 0;  // every ticket below this one has run
  bool closed_ = false;
};

}  // namespace vsd
