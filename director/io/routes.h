// The director namespace's view of the network, read once at start: the data ports' IPv4
// addresses and the routing table (/proc/net/route of the namespace), so vsd forwards by the
// namespace's own routes without the kernel forwarding anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/addr.h"
#include "net/ip6.h"

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

// The IPv6 side, for the IPv6 data plane: global addresses and the routes of
// /proc/net/ipv6_route.
struct InterfaceAddress6 {
  std::string ifname;
  Ip6 addr{};
  int prefix = 0;
};

struct Route6Entry {
  std::string ifname;
  Ip6 destination{};
  int prefix = 0;
  Ip6 gateway{};  // all zero: on the link
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
  // Up routes of /proc/net/ipv6_route but the loopback's, local and multicast ones.
  static std::vector<Route6Entry> parse_proc_net_ipv6_route(const std::string& text);

  void add_address(InterfaceAddress a) { addresses_.push_back(std::move(a)); }
  void add_route(RouteEntry r) { routes_.push_back(std::move(r)); }

  // Longest prefix match, lowest metric among equals.
  std::optional<NextHop> lookup(Ipv4 destination) const;
  // The first address of the interface (the source of what vsd originates on it).
  std::optional<Ipv4> address_of(const std::string& ifname) const;
  bool is_local(Ipv4 a) const;
  const std::vector<InterfaceAddress>& addresses() const { return addresses_; }
  const std::vector<RouteEntry>& routes() const { return routes_; }
  void add_address6(InterfaceAddress6 a) { addresses6_.push_back(std::move(a)); }
  void add_route6(Route6Entry r) { routes6_.push_back(std::move(r)); }
  const std::vector<InterfaceAddress6>& addresses6() const { return addresses6_; }
  const std::vector<Route6Entry>& routes6() const { return routes6_; }

 private:
  std::vector<InterfaceAddress> addresses_;
  std::vector<RouteEntry> routes_;
  std::vector<InterfaceAddress6> addresses6_;
  std::vector<Route6Entry> routes6_;
};

}  // namespace vsd
