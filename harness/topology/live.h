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
  // More boxes beside the director (a failover pair's backup), by their nodes' roles; each
  // lends its ports and declares MACs as the director's fields above do.
  struct ExternalBox {
    ExternalPorts ports;
    std::map<std::string, std::string> macs;
  };
  std::map<std::string, ExternalBox> external_boxes;
  // Adds another DUT's boxes (a pair's second director); throws std::invalid_argument when
  // both lend ports for the same role.
  void add_external_boxes(const BringUpOptions& other);
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
  // For an external box's interface: the box's own MAC (declared, or learned by ARP from the
  // namespace its port was lent to); throws when it cannot be known.
  std::string mac(const std::string& node, const std::string& ifname) const;
  // True for a node that is an external box (the director, or another role given boxes).
  bool is_external(const std::string& node) const;
  const ExternalPorts& external_director_ports() const { return external_ports("director"); }
  // The ports lent for the box of that role (empty when it is no box).
  const ExternalPorts& external_ports(const std::string& role) const;

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
  std::string external_mac(const std::string& role, const std::string& ifname) const;
  // The role of the external box a node stands for, or empty.
  std::string external_role(const std::string& node) const;

  Topology topology_;
  Naming naming_;
  ExternalBoxes external_;  // by role
  std::vector<PortHandover> handovers_;
  // Role -> interface -> MAC: declared, then learned.
  mutable std::map<std::string, std::map<std::string, std::string>> external_macs_;
  mutable std::mutex external_macs_mutex_;
  bool up_ = false;
  bool released_ = false;
};

}  // namespace vslab::topo
