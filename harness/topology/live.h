// A topology brought up as namespaces, veths and bridges, and always torn down again: by the
// destructor (also on exceptions and failed tests), or by `vslab topo gc` after a crash.
#pragma once

#include <string>
#include <vector>

#include "topology/model.h"
#include "topology/netns.h"
#include "topology/script.h"

namespace vslab::topo {

struct BringUpOptions {
  std::string prefix;     // empty: a fresh per-run prefix
  bool detached = false;  // keep it after this process ends (until `vslab topo down`)
  bool from_cli = false;
};

class LiveTopology {
 public:
  // Brings the topology up; on failure tears down what it made and throws
  // std::runtime_error naming the step and iproute2's complaint.
  explicit LiveTopology(Topology topology, BringUpOptions options = {});
  ~LiveTopology();
  LiveTopology(const LiveTopology&) = delete;
  LiveTopology& operator=(const LiveTopology&) = delete;

  const Topology& topology() const { return topology_; }
  const Naming& naming() const { return naming_; }
  std::string netns(const std::string& node) const;  // throws for an unknown node
  std::string mac(const std::string& node, const std::string& ifname) const;

  // Runs argv inside the node's namespace (ip netns exec).
  CommandResult exec(const std::string& node, const std::vector<std::string>& argv) const;
  // ping -c 1 with a deadline: true when an echo reply came back.
  bool ping(const std::string& node, const std::string& address, int deadline_s = 3) const;

  // Idempotent; the destructor calls it. Returns what could not be removed.
  std::string tear_down() noexcept;
  // Leaves everything in place when this object dies (after --detach).
  void release() { released_ = true; }

 private:
  Topology topology_;
  Naming naming_;
  bool up_ = false;
  bool released_ = false;
};

}  // namespace vslab::topo
