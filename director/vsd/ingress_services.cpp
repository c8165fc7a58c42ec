#include "vsd/ingress_services.h"

#include <algorithm>
#include <unordered_set>

namespace vsd {

IngressServices ingress_services_of(const RuleSet& rules) {
  IngressServices out;
  std::unordered_set<uint32_t> served;  // the marks of fwmark services
  for (const auto& svc : rules.services) {
    // The chain passes all IPv6 (io/ingress_drop.h): an IPv6 service needs no element.
    if (svc.family() != Family::V4) continue;
    if (svc.key.fwmark != 0) {
      served.insert(svc.key.fwmark);
      continue;  // its packets are its mark rules' (below)
    }
    if (svc.key.vip.port == 0)
      out.addresses.push_back({svc.key.vip.addr.v4(), svc.key.proto});
    else
      out.ports.push_back({svc.key.vip.addr.v4(), svc.key.proto, svc.key.vip.port});
    for (auto lip : svc.local_addresses)
      for (auto proto : {Proto::Tcp, Proto::Udp}) out.addresses.push_back({lip, proto});
  }
  // A fwmark service takes what its mark's rules match, as vsd's classifier gives the mark.
  for (const auto& rule : rules.marks) {
    // The chain passes all IPv6, as for IPv6 address services.
    if (rule.family() != Family::V4 || !served.contains(rule.mark)) continue;
    for (auto proto : {Proto::Tcp, Proto::Udp})
      if (rule.proto == MarkProto::Any || (rule.proto == MarkProto::Tcp) == (proto == Proto::Tcp))
        out.marked.push_back(
            {rule.dest.v4(), rule.prefix_len, proto, rule.dport_min, rule.dport_max});
  }
  // Each element once, in a set order: the same rules give the same script.
  std::sort(out.marked.begin(), out.marked.end());
  out.marked.erase(std::unique(out.marked.begin(), out.marked.end()), out.marked.end());
  std::sort(out.ports.begin(), out.ports.end());
  out.ports.erase(std::unique(out.ports.begin(), out.ports.end()), out.ports.end());
  std::sort(out.addresses.begin(), out.addresses.end());
  out.addresses.erase(std::unique(out.addresses.begin(), out.addresses.end()), out.addresses.end());
  return out;
}

}  // namespace vsd
