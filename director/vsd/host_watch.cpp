#include "vsd/host_watch.h"

#include <exception>
#include <string>

#include "vsd/log.h"

namespace vsd {

HostWatch::HostWatch(HostAddresses initial, Changed changed, std::chrono::milliseconds period,
                     std::function<HostAddresses()> read)
    : current_(std::move(initial)),
      changed_(std::move(changed)),
      period_(period),
      read_(std::move(read)),
      thread_([this] { run(); }) {}

HostWatch::~HostWatch() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HostWatch::run() {
  std::unique_lock lock(mutex_);
  // The wait is the period between two reads; the destructor cuts it short.
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    try {
      HostAddresses fresh = read_();
      if (!(fresh == current_)) {
        current_ = std::move(fresh);
        changed_(current_);
      }
    } catch (const std::exception& e) {
      log_error(std::string("vsd: ") + e.what());
    }
    lock.lock();
  }
}

}  // namespace vsd
