// Follows the director namespace's addresses while vsd runs (keepalived adds and removes VIPs,
// an operator renumbers): reads them on its own thread once a period and hands a change on,
// so neither the read nor the nft run that follows it stalls the data plane.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "io/host_addresses.h"

namespace vsd {

class HostWatch {
 public:
  using Changed = std::function<void(const HostAddresses&)>;
  // `changed` runs on the watch's thread with each new set; `read` is the kernel's by default.
  HostWatch(HostAddresses initial, Changed changed,
            std::chrono::milliseconds period = std::chrono::seconds(1),
            std::function<HostAddresses()> read = &HostAddresses::read_from_kernel);
  ~HostWatch();  // stops the thread and waits for it
  HostWatch(const HostWatch&) = delete;
  HostWatch& operator=(const HostWatch&) = delete;

 private:
  void run();

  HostAddresses current_;
  Changed changed_;
  std::chrono::milliseconds period_;
  std::function<HostAddresses()> read_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vsd
