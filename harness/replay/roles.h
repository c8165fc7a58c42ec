// Names of a topology's addresses as cases write them: "client", "gateway" (the client's next
// hop), "vip", "lip" (the first FULLNAT local address), a node ("rs1": its first interface)
// or "node:ifname" ("director:eth1"). In an IPv6 field (ip6.dst...) a role stands for its
// IPv6 address.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "topology/model.h"

namespace vslab::replay {

struct RoleAddress {
  std::string ip;   // empty when the role has none
  std::string mac;  // empty for "vip" and "lip"
  std::string ip6;  // the IPv6 side of a dual-stack topology (vip6, local_addresses6); or empty
};

class Roles {
 public:
  using MacOf = std::function<std::string(const std::string& node, const std::string& ifname)>;
  // mac_of: the interface's MAC (default: as the topology file sets it, topo::interface_mac).
  explicit Roles(const topo::Topology& topology, MacOf mac_of = {});

  std::optional<RoleAddress> find(const std::string& role) const;
  // The node a port name stands for (a node name, or a role such as "client").
  const topo::Node* port_node(const std::string& port) const;
  // The ports captured by default: the client and every real server (role rsN).
  std::vector<std::string> host_ports() const;

 private:
  const topo::Topology& topology_;
  MacOf mac_of_;
};

// Whether a field holds an address (so a role name in it stands for one), and whether that is
// a MAC rather than an IPv4 address: "eth.dst", "arp.sha" / "ip.src", "quoted.ip.dst".
bool is_address_field(const std::string& field);
bool is_mac_field(const std::string& field);
bool is_ipv6_field(const std::string& field);  // ip6.src, inner.ip6.dst, quoted.ip6.src ...

}  // namespace vslab::replay
