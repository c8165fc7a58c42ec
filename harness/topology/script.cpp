#include "topology/script.h"

#include <stdexcept>

#include <fmt/core.h>

#include "topology/netns.h"

namespace vslab::topo {
namespace {

bool uses_ipv6(const Node& node) {
  for (const auto& i : node.interfaces)
    for (const auto& a : i.addresses)
      if (a.is_v6) return true;
  for (const auto& a : node.loopback_addresses)
    if (a.is_v6) return true;
  return false;
}

std::vector<std::string> ethtool_offloads(const std::string& netns, const std::string& ifname,
                                          const Offloads& o) {
  auto onoff = [](bool on) { return std::string(on ? "on" : "off"); };
  return {"ip",
          "netns",
          "exec",
          netns,
          "ethtool",
          "-K",
          ifname,
          "tx",
          onoff(o.tx_checksum),
          "rx",
          onoff(o.rx_checksum),
          "tso",
          onoff(o.tso),
          "gso",
          onoff(o.gso),
          "gro",
          onoff(o.gro)};
}

class ScriptBuilder {
 public:
  ScriptBuilder(const Topology& t, const Naming& n) : topo_(t), naming_(n) {}

  std::vector<Command> build() {
    create_namespaces();
    create_bridges();
    for (const auto& link : topo_.links) create_link(link);
    for (std::size_t b = 0; b < topo_.bridges.size(); ++b) attach_bridge_ports(b);
    for (const auto& node : topo_.nodes) configure_node(node);
    return std::move(commands_);
  }

 private:
  void add(std::vector<std::string> argv, std::string purpose) {
    commands_.push_back({std::move(argv), std::move(purpose)});
  }

  void quiet_ipv6(const std::string& netns) {
    // Router solicitations and MLD reports would be captured as stray frames.
    add({"ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
         "net.ipv6.conf.default.disable_ipv6=1"},
        "IPv6 off in " + netns);
  }

  void create_namespaces() {
    for (const auto& node : topo_.nodes) {
      auto ns = naming_.node_netns(node.name);
      add({"ip", "netns", "add", ns}, "namespace for node " + node.name);
      if (!uses_ipv6(node)) quiet_ipv6(ns);
      add({"ip", "-n", ns, "link", "set", "lo", "up"}, "lo up in " + node.name);
    }
    if (!topo_.bridges.empty()) {
      auto sw = naming_.switch_netns();
      add({"ip", "netns", "add", sw}, "namespace for the bridges");
      quiet_ipv6(sw);
    }
  }

  void create_bridges() {
    auto sw = naming_.switch_netns();
    for (const auto& bridge : topo_.bridges) {
      // STP off: ports forward at once instead of after listening/learning delays.
      add({"ip", "-n", sw, "link", "add", bridge.name, "type", "bridge", "stp_state", "0"},
          "bridge " + bridge.name);
      // The bridge device itself would send IGMP reports (from 0.0.0.0) into every port.
      add({"ip", "-n", sw, "link", "set", bridge.name, "multicast", "off", "up"},
          "bridge " + bridge.name + " up");
    }
  }

  void create_link(const Link& link) {
    add({"ip", "-n", naming_.node_netns(link.a.node), "link", "add", link.a.ifname, "type", "veth",
         "peer", "name", link.b.ifname, "netns", naming_.node_netns(link.b.node)},
        "link " + link.a.str() + " <-> " + link.b.str());
  }

  void attach_bridge_ports(std::size_t b) {
    const auto& bridge = topo_.bridges[b];
    auto sw = naming_.switch_netns();
    for (std::size_t p = 0; p < bridge.ports.size(); ++p) {
      const auto& port = bridge.ports[p];
      auto peer = bridge_port_ifname(b, p);
      const Interface* iface = topo_.find_node(port.node)->find_interface(port.ifname);
      add({"ip", "-n", naming_.node_netns(port.node), "link", "add", port.ifname, "type", "veth",
           "peer", "name", peer, "netns", sw},
          "bridge " + bridge.name + " port " + port.str());
      add({"ip", "-n", sw, "link", "set", peer, "master", bridge.name, "mtu",
           std::to_string(iface->mtu)},
          "bridge " + bridge.name + " port " + port.str());
      add(ethtool_offloads(sw, peer, Offloads{}), "offloads of bridge port " + peer);
      add({"ip", "-n", sw, "link", "set", peer, "up"}, "bridge port " + peer + " up");
    }
  }

  void configure_node(const Node& node) {
    auto ns = naming_.node_netns(node.name);
    for (const auto& iface : node.interfaces) {
      auto where = node.name + ":" + iface.name;
      add({"ip", "-n", ns, "link", "set", iface.name, "address",
           interface_mac(topo_, node.name, iface.name), "mtu", std::to_string(iface.mtu)},
          "MAC and MTU of " + where);
      add(ethtool_offloads(ns, iface.name, iface.offloads), "offloads of " + where);
      for (const auto& addr : iface.addresses) add_address(ns, addr, iface.name, where);
      add({"ip", "-n", ns, "link", "set", iface.name, "up"}, where + " up");
    }
    for (const auto& addr : node.loopback_addresses) add_address(ns, addr, "lo", node.name + ":lo");
    for (const auto& [key, value] : node.sysctls)
      add({"ip", "netns", "exec", ns, "sysctl", "-qw", key + "=" + value},
          "sysctl " + key + " on " + node.name);
    for (const auto& route : node.routes) add_route(ns, node.name, route);
  }

  void add_address(const std::string& ns, const Cidr& addr, const std::string& dev,
                   const std::string& where) {
    std::vector<std::string> argv{"ip", "-n", ns, "addr", "add", addr.str(), "dev", dev};
    if (addr.is_v6) argv.push_back("nodad");  // usable at once, not after duplicate detection
    add(std::move(argv), "address " + addr.str() + " on " + where);
  }

  void add_route(const std::string& ns, const std::string& node, const Route& route) {
    std::vector<std::string> argv{"ip"};
    if (route.is_v6) argv.push_back("-6");
    for (const char* w : {"-n", ns.c_str(), "route", "add", route.to.c_str()}) argv.push_back(w);
    if (route.via) argv.insert(argv.end(), {"via", *route.via});
    if (route.dev) argv.insert(argv.end(), {"dev", *route.dev});
    add(std::move(argv), "route " + route.to + " on " + node);
  }

  const Topology& topo_;
  const Naming& naming_;
  std::vector<Command> commands_;
};

}  // namespace

std::string interface_mac(const Topology& topology, const std::string& node,
                          const std::string& ifname) {
  for (std::size_t n = 0; n < topology.nodes.size(); ++n) {
    if (topology.nodes[n].name != node) continue;
    const auto& ifaces = topology.nodes[n].interfaces;
    for (std::size_t i = 0; i < ifaces.size(); ++i) {
      if (ifaces[i].name != ifname) continue;
      if (ifaces[i].mac) return *ifaces[i].mac;
      // 0x02: locally administered unicast; 76:73 is "vs".
      return fmt::format("02:76:73:{:02x}:{:02x}:00", n + 1, i + 1);
    }
  }
  throw std::logic_error("no interface " + node + ":" + ifname + " in topology " + topology.name);
}

std::string bridge_port_ifname(std::size_t bridge_index, std::size_t port_index) {
  return fmt::format("b{}p{}", bridge_index, port_index);
}

std::vector<std::string> netns_names(const Topology& topology, const Naming& naming) {
  std::vector<std::string> names;
  for (const auto& node : topology.nodes) names.push_back(naming.node_netns(node.name));
  if (!topology.bridges.empty()) names.push_back(naming.switch_netns());
  return names;
}

std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming) {
  return ScriptBuilder(topology, naming).build();
}

std::string bring_up_script(const Topology& topology, const Naming& naming) {
  std::string text = fmt::format(
      "#!/bin/sh\n# Topology '{}'{}{}\n# Built by hand: run as root. Generated by vslab topo "
      "script.\nset -e\n",
      topology.name, topology.description.empty() ? "" : ": ", topology.description);
  for (const auto& cmd : bring_up_commands(topology, naming)) text += shell_quote(cmd.argv) + "\n";
  text += "# To remove it again:\n";
  for (const auto& ns : netns_names(topology, naming)) text += "#   ip netns delete " + ns + "\n";
  return text;
}

}  // namespace vslab::topo
