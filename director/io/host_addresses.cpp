#include "io/host_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vsd {
namespace {

void sort_unique(std::vector<Ipv4>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

Ipv4 ipv4_of(const sockaddr* sa) {
  return Ipv4{ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr)};
}

}  // namespace

HostAddresses::HostAddresses(std::vector<Ipv4> local, std::vector<Ipv4> broadcast)
    : local_(std::move(local)), broadcast_(std::move(broadcast)) {
  sort_unique(local_);
  sort_unique(broadcast_);
}

HostAddresses HostAddresses::read_from_kernel() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0)
    throw std::runtime_error(std::string("getifaddrs: ") + std::strerror(errno));
  std::vector<Ipv4> local, broadcast;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    local.push_back(ipv4_of(a->ifa_addr));
    // ifa_broadaddr shares its storage with the point-to-point peer (ifa_dstaddr).
    if ((a->ifa_flags & IFF_BROADCAST) && a->ifa_broadaddr != nullptr &&
        a->ifa_broadaddr->sa_family == AF_INET)
      broadcast.push_back(ipv4_of(a->ifa_broadaddr));
  }
  freeifaddrs(list);
  return HostAddresses(std::move(local), std::move(broadcast));
}

}  // namespace vsd
