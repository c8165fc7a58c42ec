// The director namespace's view of the network, read once at start: the data ports' IPv4
// addresses and the routing table (/proc/net/route of the namespace), so vsd forwards by the
// namespace's own routes without the kernel forwarding anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/addr.h"

namespace vsd {

struct InterfaceAddress {
  std::string ifname;
  Ipv4 addr;
  int prefix = 0;
};

struct RouteEntry {
  std::string ifname;
  Ipv4 destination;
  Ipv4 mask;
  Ipv4 gateway;  // zero: the destination is on the link
  uint32_t metric = 0;
};

struct NextHop {
  std::string ifname;
  Ipv4 address;  // the gateway, or the destination itself when on the link
};

class RoutingTable {
 public:
  // Reads getifaddrs() and /proc/net/route of the calling thread's namespace.
  static RoutingTable read_from_kernel();
  static std::vector<RouteEntry> parse_proc_net_route(const std::string& text);

  void add_address(InterfaceAddress a) { addresses_.push_back(std::move(a)); }
  void add_route(RouteEntry r) { routes_.push_back(std::move(r)); }

  // Longest prefix match, lowest metric among equals.
  std::optional<NextHop> lookup(Ipv4 destination) const;
  // The first address of the interface (the source of what vsd originates on it).
  std::optional<Ipv4> address_of(const std::string& ifname) const;
  bool is_local(Ipv4 a) const;
  const std::vector<InterfaceAddress>& addresses() const { return addresses_; }
  const std::vector<RouteEntry>& routes() const { return routes_; }

 private:
  std::vector<InterfaceAddress> addresses_;
  std::vector<RouteEntry> routes_;
};

}  // namespace vsd
