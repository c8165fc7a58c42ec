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

RoutingTable RoutingTable::read_from_kernel() {
  RoutingTable table;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i; i = i->ifa_next) {
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
