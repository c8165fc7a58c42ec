#include "io/routes.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <bit>
#include <fstream>
#include <sstream>

namespace vsd {

std::vector<RouteEntry> RoutingTable::parse_proc_net_route(const std::string& text) {
  // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT; addresses are
  // hex in network byte order as the kernel prints a __be32 with %08X.
  std::vector<RouteEntry> routes;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string ifname, dst, gw, flags, refcnt, use, metric, mask;
    if (!(f >> ifname >> dst >> gw >> flags >> refcnt >> use >> metric >> mask)) continue;
    auto be = [](const std::string& hex) {
      return Ipv4::from_host(ntohl(static_cast<uint32_t>(std::stoul(hex, nullptr, 16))));
    };
    constexpr unsigned long kRouteUp = 0x1;
    if (!(std::stoul(flags, nullptr, 16) & kRouteUp)) continue;
    routes.push_back(
        {ifname, be(dst), be(mask), be(gw), static_cast<uint32_t>(std::stoul(metric))});
  }
  return routes;
}

std::vector<Route6Entry> RoutingTable::parse_proc_net_ipv6_route(const std::string& text) {
  // dest dest_len src src_len next_hop metric refcnt use flags ifname: addresses as 32 hex
  // digits in network order, lengths and flags in hex, the metric in hex too.
  std::vector<Route6Entry> routes;
  std::istringstream in(text);
  std::string line;
  auto address = [](const std::string& hex, Ip6& out) {
    if (hex.size() != 32) return false;
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    return true;
  };
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string dst, dst_len, src, src_len, gw, metric, refcnt, use, flags, ifname;
    if (!(f >> dst >> dst_len >> src >> src_len >> gw >> metric >> refcnt >> use >> flags >>
          ifname))
      continue;
    constexpr unsigned long kRouteUp = 0x1;
    if (!(std::stoul(flags, nullptr, 16) & kRouteUp) || ifname == "lo") continue;
    Route6Entry r;
    r.ifname = ifname;
    r.prefix = int(std::stoul(dst_len, nullptr, 16));
    r.metric = uint32_t(std::stoul(metric, nullptr, 16));
    if (!address(dst, r.destination) || !address(gw, r.gateway)) continue;
    if (r.destination[0] == 0xff) continue;  // multicast: not forwarded
    routes.push_back(r);
  }
  return routes;
}

RoutingTable RoutingTable::read_from_kernel() {
  RoutingTable table;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i; i = i->ifa_next) {
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr;
        const auto& mask = reinterpret_cast<sockaddr_in6*>(i->ifa_netmask)->sin6_addr;
        InterfaceAddress6 a{i->ifa_name, {}, 0};
        for (std::size_t b = 0; b < a.addr.size(); ++b) {
          a.addr[b] = in6.s6_addr[b];
          a.prefix += std::popcount(unsigned(mask.s6_addr[b]));
        }
        // Link-local addresses are no source for what vsd sends off the link.
        if (!(a.addr[0] == 0xfe && (a.addr[1] & 0xc0) == 0x80)) table.add_address6(a);
        continue;
      }
      if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
      auto addr = reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr;
      auto mask = reinterpret_cast<sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr;
      table.add_address({i->ifa_name, Ipv4::from_host(ntohl(addr)), std::popcount(mask)});
    }
    freeifaddrs(list);
  }
  std::ifstream in("/proc/net/route");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (auto& r : parse_proc_net_route(text)) table.add_route(std::move(r));
  std::ifstream in6("/proc/net/ipv6_route");
  std::string text6((std::istreambuf_iterator<char>(in6)), std::istreambuf_iterator<char>());
  for (auto& r : parse_proc_net_ipv6_route(text6)) table.add_route6(std::move(r));
  return table;
}

std::optional<NextHop> RoutingTable::lookup(Ipv4 destination) const {
  const RouteEntry* best = nullptr;
  for (const auto& r : routes_) {
    if (destination.masked(r.mask) != r.destination) continue;
    if (!best || r.mask.value > best->mask.value ||
        (r.mask == best->mask && r.metric < best->metric))
      best = &r;
  }
  if (!best) return std::nullopt;
  return NextHop{best->ifname, best->gateway.is_zero() ? destination : best->gateway};
}

std::optional<Ipv4> RoutingTable::address_of(const std::string& ifname) const {
  for (const auto& a : addresses_)
    if (a.ifname == ifname) return a.addr;
  return std::nullopt;
}

bool RoutingTable::is_local(Ipv4 a) const {
  for (const auto& x : addresses_)
    if (x.addr == a) return true;
  return false;
}

}  // namespace vsd
