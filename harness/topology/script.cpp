#include "topology/script.h"

#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::topo {
namespace {

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

// The nodes external port maps stand for, each by its role; nullptr where the topology has no
// node of that role.
std::vector<std::pair<const Node*, const ExternalPorts*>> external_nodes(
    const Topology& topology, const ExternalBoxes& external) {
  std::vector<std::pair<const Node*, const ExternalPorts*>> nodes;
  for (const auto& [role, ports] : external)
    if (!ports.empty()) nodes.emplace_back(topology.find_role(role), &ports);
  return nodes;
}

class ScriptBuilder {
 public:
  ScriptBuilder(const Topology& t, const Naming& n, const ExternalBoxes& external)
      : topo_(t), naming_(n) {
    for (auto& place : external_port_places(t, n, external)) {
      external_nodes_.insert(place.node);
      places_.emplace(std::pair(place.node, place.director_ifname), std::move(place));
    }
  }

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

  // Explicitly on (a host whose default is off would hand that to new namespaces), and no
  // duplicate address detection, for link-local addresses too: every address is usable the
  // moment it is added, with no wait for a tentative state to end.
  void ipv6_on(const std::string& netns) {
    add({"ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0",
         "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.all.accept_dad=0",
         "net.ipv6.conf.default.accept_dad=0"},
        "IPv6 on, without duplicate address detection, in " + netns);
  }

  bool is_external(const std::string& node) const { return external_nodes_.contains(node); }

  // The existing interface takes the place of the director's peer; the commands after this
  // configure it as they would the veth end it replaces.
  void hand_over(const ExternalPortPlace& place) {
    add({"ip", "link", "set", "dev", place.existing, "netns", place.netns, "name",
         place.moved_name},
        fmt::format("lend {} (external {}:{}) to {}", place.existing, place.node,
                    place.director_ifname, place.peer));
  }

  void create_namespaces() {
    for (const auto& node : topo_.nodes) {
      if (is_external(node.name)) continue;
      auto ns = naming_.node_netns(node.name);
      add({"ip", "netns", "add", ns}, "namespace for node " + node.name);
      if (uses_ipv6(node))
        ipv6_on(ns);
      else
        quiet_ipv6(ns);
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
    if (is_external(link.a.node) || is_external(link.b.node)) {
      const auto& box = is_external(link.a.node) ? link.a : link.b;
      hand_over(places_.at({box.node, box.ifname}));
      return;
    }
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
      if (is_external(port.node))
        hand_over(places_.at({port.node, port.ifname}));
      else
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
    // The box configures its own interfaces, addresses and routes.
    if (is_external(node.name)) return;
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
    if (route.dev && route.nexthops.empty()) argv.insert(argv.end(), {"dev", *route.dev});
    for (const auto& hop : route.nexthops) {
      argv.insert(argv.end(), {"nexthop", "via", hop});
      if (route.dev) argv.insert(argv.end(), {"dev", *route.dev});
    }
    add(std::move(argv), "route " + route.to + " on " + node);
  }

  const Topology& topo_;
  const Naming& naming_;
  // By the box's node and its interface.
  std::map<std::pair<std::string, std::string>, ExternalPortPlace> places_;
  std::set<std::string> external_nodes_;  // the nodes that are boxes, with no namespace
  std::vector<Command> commands_;
};

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

bool uses_ipv6(const Node& node) {
  for (const auto& i : node.interfaces)
    for (const auto& a : i.addresses)
      if (a.is_v6) return true;
  for (const auto& a : node.loopback_addresses)
    if (a.is_v6) return true;
  return false;
}

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

ExternalBoxes director_box(const ExternalPorts& ports) {
  if (ports.empty()) return {};
  return {{"director", ports}};
}

std::optional<std::string> external_ports_problem(const Topology& topology,
                                                  const ExternalBoxes& external) {
  std::map<std::string, std::string> lent_for;  // existing interface -> node:interface
  std::set<std::string> boxes;
  for (const auto& [role, ports] : external) {
    if (ports.empty()) continue;
    const Node* box = topology.find_role(role);
    if (!box)
      return fmt::format(
          "topology '{}' has no node with role {} for the external ports "
          "to stand for",
          topology.name, role);
    boxes.insert(box->name);
    std::vector<std::string> own;
    for (const auto& iface : box->interfaces) own.push_back(iface.name);
    for (const auto& [ifname, existing] : ports) {
      if (!box->find_interface(ifname))
        return fmt::format(
            "the external port map names '{}', which is not an interface of "
            "{} node '{}' (it has {})",
            ifname, role, box->name, joined(own));
      if (!is_valid_interface_name(existing))
        return fmt::format("'{}' (for {}:{}) is not a valid interface name", existing, box->name,
                           ifname);
      auto [earlier, inserted] = lent_for.emplace(existing, box->name + ":" + ifname);
      if (!inserted)
        return fmt::format("'{}' stands for both {} and {}:{}", existing, earlier->second,
                           box->name, ifname);
    }
    for (const auto& ifname : own)
      if (!ports.contains(ifname))
        return fmt::format("{}:{} has no existing interface in the external port map", box->name,
                           ifname);
  }
  for (const auto& link : topology.links)
    if (boxes.contains(link.a.node) && boxes.contains(link.b.node))
      return fmt::format("link {} <-> {} would join two external ports to each other", link.a.str(),
                         link.b.str());
  return std::nullopt;
}

std::optional<std::string> external_ports_problem(const Topology& topology,
                                                  const ExternalPorts& external) {
  return external_ports_problem(topology, director_box(external));
}

std::vector<ExternalPortPlace> external_port_places(const Topology& topology, const Naming& naming,
                                                    const ExternalBoxes& external) {
  if (auto problem = external_ports_problem(topology, external))
    throw std::invalid_argument(*problem);
  std::vector<ExternalPortPlace> places;
  for (const auto& [box, ports] : external_nodes(topology, external))
    for (auto& end : far_ends(topology, naming, box->name))
      places.push_back({end.ifname, ports->at(end.ifname), std::move(end.netns),
                        std::move(end.far_ifname), std::move(end.peer), box->name});
  return places;
}

std::vector<FarEnd> far_ends(const Topology& topology, const Naming& naming,
                             const std::string& node) {
  std::vector<FarEnd> ends;
  for (const auto& link : topology.links)
    for (const auto& [mine, peer] : {std::pair(link.a, link.b), std::pair(link.b, link.a)})
      if (mine.node == node)
        ends.push_back({mine.ifname, naming.node_netns(peer.node), peer.ifname, peer.str()});
  for (std::size_t b = 0; b < topology.bridges.size(); ++b) {
    const auto& bridge = topology.bridges[b];
    for (std::size_t p = 0; p < bridge.ports.size(); ++p)
      if (bridge.ports[p].node == node)
        ends.push_back({bridge.ports[p].ifname, naming.switch_netns(), bridge_port_ifname(b, p),
                        "bridge " + bridge.name});
  }
  return ends;
}

std::vector<ExternalPortPlace> external_port_places(const Topology& topology, const Naming& naming,
                                                    const ExternalPorts& external) {
  return external_port_places(topology, naming, director_box(external));
}

std::vector<std::string> netns_names(const Topology& topology, const Naming& naming,
                                     const ExternalBoxes& external) {
  std::set<const Node*> boxes;
  for (const auto& [box, ports] : external_nodes(topology, external)) boxes.insert(box);
  std::vector<std::string> names;
  for (const auto& node : topology.nodes)
    if (!boxes.contains(&node)) names.push_back(naming.node_netns(node.name));
  if (!topology.bridges.empty()) names.push_back(naming.switch_netns());
  return names;
}

std::vector<std::string> netns_names(const Topology& topology, const Naming& naming,
                                     const ExternalPorts& external) {
  return netns_names(topology, naming, director_box(external));
}

std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming,
                                       const ExternalBoxes& external) {
  return ScriptBuilder(topology, naming, external).build();
}

std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming,
                                       const ExternalPorts& external) {
  return bring_up_commands(topology, naming, director_box(external));
}

std::string quiet_host_nft(const std::string& ifname) {
  return fmt::format(
      "add table netdev quiet; add chain netdev quiet in {{ type filter hook ingress device {} "
      "priority 0; }}; add rule netdev quiet in meta protocol ip drop; add rule netdev quiet in "
      "meta protocol ip6 icmpv6 type != {{ nd-neighbor-solicit, nd-neighbor-advert }} drop; add "
      "rule netdev quiet in meta protocol ip6 meta l4proto != icmpv6 drop",
      ifname);
}

std::string bring_up_script(const Topology& topology, const Naming& naming,
                            const ExternalPorts& external) {
  std::string text = fmt::format(
      "#!/bin/sh\n# Topology '{}'{}{}\n# Built by hand: run as root. Generated by vslab topo "
      "script.\nset -e\n",
      topology.name, topology.description.empty() ? "" : ": ", topology.description);
  for (const auto& cmd : bring_up_commands(topology, naming, external))
    text += shell_quote(cmd.argv) + "\n";
  text += "# To remove it again:\n";
  // Before the namespaces go: a lent veth would be destroyed with its namespace.
  for (const auto& place : external_port_places(topology, naming, external))
    text += "#   ip -n " + place.netns + " link set dev " + place.moved_name + " netns 1 name " +
            place.existing + "\n";
  for (const auto& ns : netns_names(topology, naming, external))
    text += "#   ip netns delete " + ns + "\n";
  return text;
}

}  // namespace vslab::topo
