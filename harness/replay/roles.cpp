#include "replay/roles.h"

#include <regex>

#include "topology/script.h"

namespace vslab::replay {
namespace {

std::string first_address(const topo::Interface& i, bool v6) {
  for (const auto& a : i.addresses)
    if (a.is_v6 == v6) return a.address;
  return {};
}

}  // namespace

Roles::Roles(const topo::Topology& topology, MacOf mac_of)
    : topology_(topology), mac_of_(std::move(mac_of)) {
  if (!mac_of_)
    mac_of_ = [this](const std::string& node, const std::string& ifname) {
      return topo::interface_mac(topology_, node, ifname);
    };
}

const topo::Node* Roles::port_node(const std::string& port) const {
  if (const auto* n = topology_.find_node(port)) return n;
  return topology_.find_role(port);
}

std::optional<RoleAddress> Roles::find(const std::string& role) const {
  if (role == "vip") {
    if (!topology_.lvs.vip && !topology_.lvs.vip6) return std::nullopt;
    return RoleAddress{topology_.lvs.vip.value_or(""), {}, topology_.lvs.vip6.value_or("")};
  }
  if (role == "lip") {
    const auto& lips = topology_.lvs.local_addresses;
    const auto& lips6 = topology_.lvs.local_addresses6;
    if (lips.empty() && lips6.empty()) return std::nullopt;
    return RoleAddress{lips.empty() ? "" : lips.front(), {}, lips6.empty() ? "" : lips6.front()};
  }
  auto interface_address = [&](const topo::Node& node, const topo::Interface& i) {
    return RoleAddress{first_address(i, false), mac_of_(node.name, i.name), first_address(i, true)};
  };
  if (role == "gateway") {
    const auto* client = port_node("client");
    if (!client || client->interfaces.empty()) return std::nullopt;
    topo::Endpoint end{client->name, client->interfaces.front().name};
    for (const auto& link : topology_.links) {
      const topo::Endpoint* peer = link.a == end ? &link.b : link.b == end ? &link.a : nullptr;
      if (!peer) continue;
      const auto* node = topology_.find_node(peer->node);
      const auto* i = node ? node->find_interface(peer->ifname) : nullptr;
      if (i) return interface_address(*node, *i);
    }
    return std::nullopt;
  }
  if (auto colon = role.find(':'); colon != std::string::npos) {
    const auto* node = topology_.find_node(role.substr(0, colon));
    const auto* i = node ? node->find_interface(role.substr(colon + 1)) : nullptr;
    if (!i) return std::nullopt;
    return interface_address(*node, *i);
  }
  const auto* node = port_node(role);
  if (!node || node->interfaces.empty()) return std::nullopt;
  return interface_address(*node, node->interfaces.front());
}

std::vector<std::string> Roles::host_ports() const {
  std::vector<std::string> ports;
  static const std::regex rs("rs[0-9]+");
  if (const auto* c = topology_.find_role("client")) ports.push_back(c->name);
  for (const auto& n : topology_.nodes)
    if (std::regex_match(n.role, rs) && !n.interfaces.empty()) ports.push_back(n.name);
  return ports;
}

bool is_ipv6_field(const std::string& field) {
  return field.rfind("ip6.", 0) == 0 || field.find(".ip6.") != std::string::npos;
}

bool is_address_field(const std::string& field) {
  return field.find(".src") != std::string::npos || field.find(".dst") != std::string::npos ||
         field == "arp.sha" || field == "arp.spa" || field == "arp.tha" || field == "arp.tpa";
}

bool is_mac_field(const std::string& field) {
  return field.rfind("eth.", 0) == 0 || field == "arp.sha" || field == "arp.tha";
}

}  // namespace vslab::replay
