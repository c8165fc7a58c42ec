// Turns a Topology into the iproute2, ethtool and sysctl commands that build it. The live
// bring-up runs exactly these, and `vslab topo script` prints them, so a person can rebuild
// any topology by hand.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "topology/model.h"

namespace vslab::topo {

// Namespace names of one instance of a topology: "<prefix>-<node>", and "<prefix>.sw" for the
// namespace that holds the bridges ('.' never occurs in a node name, so the two can't clash).
struct Naming {
  std::string prefix;
  std::string node_netns(const std::string& node) const { return prefix + "-" + node; }
  std::string switch_netns() const { return prefix + ".sw"; }
};

struct Command {
  std::vector<std::string> argv;
  std::string purpose;  // for errors: "link client:eth0 <-> router:eth0"
};

// The MAC an interface gets: the one the file gives, or 02:76:73:NN:II:00 from the node's and
// the interface's positions in the file, so captures are the same from run to run.
std::string interface_mac(const Topology& topology, const std::string& node,
                          const std::string& ifname);

// Name of the bridge-side veth end of port `port_index` of bridge `bridge_index`.
std::string bridge_port_ifname(std::size_t bridge_index, std::size_t port_index);

// Whether any of the node's addresses is IPv6 (else its IPv6 is switched off).
bool uses_ipv6(const Node& node);

// An external director (a real box): the node with role "director" gets no namespace, and each
// of its interfaces stands for an existing interface of this machine (director ifname ->
// that interface), which is moved into the place of the director's peer: the other end of its
// link, renamed to that end's name, or its port on a bridge.
using ExternalPorts = std::map<std::string, std::string>;
// Several external boxes (a failover pair: roles "director" and "backup"), each by the role of
// the node it stands for. The functions below that take ExternalPorts mean the director alone.
using ExternalBoxes = std::map<std::string, ExternalPorts>;
ExternalBoxes director_box(const ExternalPorts& ports);

// Where one lent interface goes.
struct ExternalPortPlace {
  std::string director_ifname;  // the interface of the box's node (of whichever role)
  std::string existing;         // the interface lent
  std::string netns;            // the peer's namespace, or the switch namespace
  std::string moved_name;       // the peer's interface name, or the bridge port's
  std::string peer;             // for messages: "router:eth1", "bridge rsnet"
  std::string node;             // the box's node: "director", "backup"
};

// Why `external` does not fit the topology (no director, an interface left out...), or nothing.
std::optional<std::string> external_ports_problem(const Topology& topology,
                                                  const ExternalPorts& external);
std::optional<std::string> external_ports_problem(const Topology& topology,
                                                  const ExternalBoxes& external);
// Throws std::invalid_argument with external_ports_problem()'s text.
std::vector<ExternalPortPlace> external_port_places(const Topology& topology, const Naming& naming,
                                                    const ExternalPorts& external);
std::vector<ExternalPortPlace> external_port_places(const Topology& topology, const Naming& naming,
                                                    const ExternalBoxes& external);

// Where each interface of `node` meets the rest of the topology: the other end of its link, or
// its port on a bridge. An external box's port is lent into exactly this place, so a capture
// there (receiving) sees what the node transmits on that interface, whatever the node is.
struct FarEnd {
  std::string ifname;      // the node's interface
  std::string netns;       // the far end's namespace, or the switch namespace
  std::string far_ifname;  // the far end's interface name, or the bridge port's
  std::string peer;        // "router:eth1", "bridge rsnet"
};
std::vector<FarEnd> far_ends(const Topology& topology, const Naming& naming,
                             const std::string& node);

std::vector<std::string> netns_names(const Topology& topology, const Naming& naming,
                                     const ExternalPorts& external = {});
std::vector<std::string> netns_names(const Topology& topology, const Naming& naming,
                                     const ExternalBoxes& external);
// Throws std::invalid_argument when `external` does not fit the topology.
std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming,
                                       const ExternalPorts& external = {});
std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming,
                                       const ExternalBoxes& external);

// An nft script (for `nft` inside a host's namespace) that keeps the host's own kernel from
// answering what a test sends it (RSTs, port unreachable): every IPv4 and IPv6 frame arriving
// on `ifname` is dropped after the capture taps saw it, but ARP and IPv6 neighbour discovery,
// so that a director still resolves the host.
std::string quiet_host_nft(const std::string& ifname);

// The whole script as text: a comment header, the commands, and how to remove it again.
std::string bring_up_script(const Topology& topology, const Naming& naming,
                            const ExternalPorts& external = {});

}  // namespace vslab::topo
