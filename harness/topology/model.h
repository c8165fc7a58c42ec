// The topology a file describes, as plain values: what the parser produces and what the
// script generator and the live bring-up consume. Nothing here touches the kernel.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vslab::topo {

// An interface address with its prefix length, e.g. 10.1.0.2/24 or fd00::2/64.
struct Cidr {
  bool is_v6 = false;
  std::string address;  // canonical text form (inet_ntop)
  int prefix = 0;

  std::string str() const { return address + "/" + std::to_string(prefix); }
  bool operator==(const Cidr&) const = default;
};

// Where a line of the topology file came from, for error messages.
struct SourcePos {
  int line = 0;
  int column = 0;
};

// Offloads that veth supports and that change what a capture sees. Default: all off, so
// captured frames are what a wire would carry (docs/design.md, "veth offloads").
struct Offloads {
  bool tx_checksum = false;
  bool rx_checksum = false;
  bool tso = false;
  bool gso = false;
  bool gro = false;
  bool operator==(const Offloads&) const = default;
};

struct Route {
  std::string to;                  // "default" or a Cidr's text
  std::optional<std::string> via;  // gateway address
  // A multipath route instead of `via`: one gateway per path, equal weights (ECMP), e.g. an
  // ECMP router's VIP spread over several directors.
  std::vector<std::string> nexthops;
  std::optional<std::string> dev;  // interface of the node
  bool is_v6 = false;
  SourcePos pos;
};

struct Interface {
  std::string name;                // <= 15 bytes, iproute2-safe
  std::vector<Cidr> addresses;     // IPv4 and IPv6
  std::optional<std::string> mac;  // "02:..:..", lower case; generated when absent
  int mtu = 1500;
  Offloads offloads;
  SourcePos pos;
};

// A network namespace.
struct Node {
  std::string name;
  std::string role;                      // client, router, director, rs1..rsN, or free text
  std::vector<Interface> interfaces;     // veth ends, declared by the node
  std::vector<Cidr> loopback_addresses;  // on lo, e.g. the DR VIP
  std::vector<Route> routes;
  // sysctl key (net.ipv4.ip_forward) -> value, applied after the interfaces exist, in file
  // order, so per-interface keys (net.ipv4.conf.eth0.arp_ignore) work.
  std::vector<std::pair<std::string, std::string>> sysctls;
  SourcePos pos;

  const Interface* find_interface(const std::string& ifname) const {
    for (const auto& i : interfaces)
      if (i.name == ifname) return &i;
    return nullptr;
  }
};

// "node:ifname" as written in links and bridges.
struct Endpoint {
  std::string node;
  std::string ifname;
  std::string str() const { return node + ":" + ifname; }
  bool operator==(const Endpoint&) const = default;
};

// A veth pair between two nodes.
struct Link {
  Endpoint a, b;
  SourcePos pos;
};

// An L2 segment with several hosts: each port is a veth whose node end is the endpoint and
// whose other end is enslaved to a Linux bridge in the topology's switch namespace.
struct Bridge {
  std::string name;
  std::vector<Endpoint> ports;
  SourcePos pos;
};

// "node can reach address": checked with ping by the topology tests and `vslab topo check`.
struct Reachability {
  std::string from;  // node name
  std::string to;    // address
  SourcePos pos;
};

// LVS facts about the topology, for the suites that use it (which address is the VIP...).
struct LvsInfo {
  std::string mode;                          // nat, dr, tun, fullnat, or empty
  std::optional<std::string> vip;            // IPv4 text
  std::vector<std::string> local_addresses;  // FULLNAT LIP pool
  // The same facts for IPv6 traffic (a dual-stack topology): vip6 is canonical IPv6 text.
  std::optional<std::string> vip6;
  std::vector<std::string> local_addresses6;
};

struct Topology {
  std::string name;
  std::string description;
  std::string source_file;
  std::vector<Node> nodes;
  std::vector<Link> links;
  std::vector<Bridge> bridges;
  std::vector<Reachability> reachability;
  LvsInfo lvs;

  const Node* find_node(const std::string& name) const {
    for (const auto& n : nodes)
      if (n.name == name) return &n;
    return nullptr;
  }
  const Node* find_role(const std::string& role) const {
    for (const auto& n : nodes)
      if (n.role == role) return &n;
    return nullptr;
  }
};

}  // namespace vslab::topo
