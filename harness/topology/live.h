// A topology brought up as namespaces, veths and bridges, and always torn down again: by the
// destructor (also on exceptions and failed tests), or by `vslab topo gc` after a crash.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "topology/handover.h"
#include "topology/model.h"
#include "topology/netns.h"
#include "topology/script.h"

namespace vslab::topo {

struct BringUpOptions {
  // A constructor rather than an aggregate: callers that give the first fields by position
  // ({prefix, detached, from_cli}) keep compiling without -Wmissing-field-initializers as
  // fields are added.
  BringUpOptions(std::string prefix_ = {}, bool detached_ = false, bool from_cli_ = false)
      : prefix(std::move(prefix_)), detached(detached_), from_cli(from_cli_) {}

  std::string prefix;     // empty: a fresh per-run prefix
  bool detached = false;  // keep it after this process ends (until `vslab topo down`)
  bool from_cli = false;
  // An external director (a real box, see ExternalPorts): director interface -> existing
  // interface of this namespace, lent to the topology and given back on teardown (or by gc).
  ExternalPorts external_director_ports;
  // Their MACs where the box's config says them (director interface -> MAC); the others are
  // learned by an ARP probe the first time mac() is asked for them.
  std::map<std::string, std::string> external_director_macs;
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
  // Throws for an unknown node, and for an external director, which has no namespace here.
  std::string netns(const std::string& node) const;
  // For an external director's interface: the box's own MAC (declared, or learned by ARP
  // from the namespace its port was lent to); throws when it cannot be known.
  std::string mac(const std::string& node, const std::string& ifname) const;
  // True for the director node when it is an external box.
  bool is_external(const std::string& node) const;
  const ExternalPorts& external_director_ports() const { return external_; }

  // Runs argv inside the node's namespace (ip netns exec).
  CommandResult exec(const std::string& node, const std::vector<std::string>& argv) const;
  // ping -c 1 with a deadline: true when an echo reply came back.
  bool ping(const std::string& node, const std::string& address, int deadline_s = 3) const;

  // Idempotent; the destructor calls it. Returns what could not be removed.
  // Lent interfaces are given back first, as a lent veth would be destroyed with its namespace.
  std::string tear_down() noexcept;
  // Leaves everything in place when this object dies (after --detach).
  void release() { released_ = true; }

 private:
  std::string external_mac(const std::string& ifname) const;

  Topology topology_;
  Naming naming_;
  ExternalPorts external_;
  std::vector<PortHandover> handovers_;
  mutable std::map<std::string, std::string> external_macs_;  // declared, then learned
  mutable std::mutex external_macs_mutex_;
  bool up_ = false;
  bool released_ = false;
};

}  // namespace vslab::topo
