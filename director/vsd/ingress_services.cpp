#include "vsd/ingress_services.h"

#include <algorithm>

namespace vsd {

// Fwmark services are left out: their classifier takes prefixes and port ranges, and what it
// takes on a host address is the kernel's too until the chain learns them.
IngressServices ingress_services_of(const RuleSet& rules) {
  IngressServices out;
  for (const auto& svc : rules.services) {
    if (svc.key.fwmark != 0) continue;
    if (svc.key.vip.port == 0)
      out.addresses.push_back({svc.key.vip.addr, svc.key.proto});
    else
      out.ports.push_back({svc.key.vip.addr, svc.key.proto, svc.key.vip.port});
    for (auto lip : svc.local_addresses)
      for (auto proto : {Proto::Tcp, Proto::Udp}) out.addresses.push_back({lip, proto});
  }
  // Each element once, in a set order: the same rules give the same script.
  std::sort(out.ports.begin(), out.ports.end());
  out.ports.erase(std::unique(out.ports.begin(), out.ports.end()), out.ports.end());
  std::sort(out.addresses.begin(), out.addresses.end());
  out.addresses.erase(std::unique(out.addresses.begin(), out.addresses.end()), out.addresses.end());
  return out;
}

}  // namespace vsd
