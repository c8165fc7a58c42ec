// Turns a Topology into the iproute2, ethtool and sysctl commands that build it. The live
// bring-up runs exactly these, and `vslab topo script` prints them, so a person can rebuild
// any topology by hand.
#pragma once

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

std::vector<std::string> netns_names(const Topology& topology, const Naming& naming);
std::vector<Command> bring_up_commands(const Topology& topology, const Naming& naming);

// The whole script as text: a comment header, the commands, and how to remove it again.
std::string bring_up_script(const Topology& topology, const Naming& naming);

}  // namespace vslab::topo
