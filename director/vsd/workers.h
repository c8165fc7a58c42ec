// vsd --workers N (docs/design.md, "More than one core"): worker 0 is vsd's main loop; each
// other worker is a thread of its own with the same kind of state (its own RX and TX rings on
// every port, data plane, connection table, schedulers, ARP cache) and a CallQueue for the
// control thread. The kernel spreads the frames: each port's RX rings form one fanout group,
// whose program (io/flow_steering.h) hands every frame of a client to one worker, so no worker
// reads or writes another's state. ARP is not a flow's: the program gives it to worker 0, which
// answers, and every other worker learns from a copy on a socket of its own.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/rules.h"
#include "io/packet_socket.h"
#include "os/unique_fd.h"
#include "vsd/call_queue.h"
#include "vsd/control_bridge.h"
#include "vsd/dataplane.h"

namespace vsd {

// The server-side addresses of the rules (VIPs, real servers, FULLNAT local addresses), IPv4
// only, sorted and each once: what the steering program keys by destination.
std::vector<uint32_t> server_side_addresses(const RuleSet& rules);
// The FULLNAT local addresses alone, the same way.
std::vector<uint32_t> local_addresses(const RuleSet& rules);

// Why these rules cannot be served by more than one worker, or "": more addresses than the
// steering program holds.
std::string refused_with_workers(const RuleSet& rules, uint32_t workers);

// Every ARP frame of a port, copied to a socket of its own (the fanout gives them to worker 0).
class ArpListener {
 public:
  ArpListener(const std::string& ifname, int ifindex);  // throws std::runtime_error
  int fd() const { return fd_.get(); }
  // Calls on_frame(std::span<uint8_t>) for each frame waiting, up to a batch.
  template <class OnFrame>
  void drain(OnFrame&& on_frame) {
    for (int i = 0; i < 64; ++i) {
      const ssize_t n = receive();
      if (n <= 0) return;
      on_frame(std::span<uint8_t>(buffer_, std::size_t(n)));
    }
  }

 private:
  ssize_t receive();
  vslab::os::UniqueFd fd_;
  uint8_t buffer_[2048];
};

// The ports' fanout groups and their program, which follows the rules.
class FlowSteering {
 public:
  // ports[w][p]: worker w's socket on port p. Makes each port's group with worker 0's ring
  // and joins the others' to it, before any frame is handled.
  FlowSteering(const std::vector<std::vector<PacketSocket*>>& ports, const RuleSet& rules);
  uint32_t workers() const { return workers_; }
  // InstallHooks (vsd/control_bridge.h): before a change, the program knows the addresses of
  // both rule sets (a reply from a new real server must find its connection's worker from
  // its first packet on); after it, only the new set's.
  std::string before(const RuleSet& now, const RuleSet& next);
  void after(const RuleSet& next);

 private:
  void set(const std::vector<const RuleSet*>& rules);
  std::vector<PacketSocket*> owners_;  // worker 0's socket on each port
  uint32_t workers_;
};

// A worker other than 0, running on its own thread from start() until stop(). Its calls are
// refused once it has stopped, so the control thread may outlive it.
class Worker {
 public:
  Worker(std::vector<std::unique_ptr<PacketSocket>> ports, std::chrono::microseconds idle_spin);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Dataplane& dataplane() { return *dataplane_; }
  CallQueue& calls() { return calls_; }
  std::vector<std::unique_ptr<PacketSocket>>& ports() { return ports_; }
  // The data plane over ports(), before start().
  void set_dataplane(std::unique_ptr<Dataplane> dataplane);
  void start();
  void stop();

 private:
  void run();
  std::vector<std::unique_ptr<PacketSocket>> ports_;
  std::unique_ptr<Dataplane> dataplane_;
  std::vector<ArpListener> arp_;
  std::chrono::microseconds idle_spin_;
  CallQueue calls_;
  vslab::os::UniqueFd stop_fd_;  // an eventfd: readable once the worker is to stop
  std::thread thread_;
};

}  // namespace vsd
