#include "vsd/call_queue.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vsd {

CallQueue::CallQueue() : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

CallQueue::~CallQueue() {
  close();
}

bool CallQueue::call(const std::function<void()>& fn) {
  std::unique_lock lock(mutex_);
  if (closed_) return false;
  const uint64_t ticket = next_ticket_++;
  std::exception_ptr error;
  pending_.push_back({&fn, &error, ticket});
  const uint64_t one = 1;
  // The counter only wakes the poller; a failed write means it is already non-zero.
  [[maybe_unused]] auto ignored = write(event_fd_.get(), &one, sizeof one);
  done_.wait(lock, [&] { return finished_through_ > ticket || closed_; });
  if (finished_through_ <= ticket) return false;
  if (error) std::rethrow_exception(error);
  return true;
}

void CallQueue::run_pending() {
  uint64_t count;
  [[maybe_unused]] auto ignored = read(event_fd_.get(), &count, sizeof count);
  std::vector<Pending> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
  }
  // Callers wait until their own ticket is finished, so the functions stay alive while they
  // run here without the lock held.
  for (const auto& p : batch) {
    try {
      (*p.fn)();
    } catch (...) {
      *p.error = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    finished_through_ = p.ticket + 1;
    done_.notify_all();
  }
}

void CallQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  pending_.clear();
  done_.notify_all();
}

}  // namespace vsd
