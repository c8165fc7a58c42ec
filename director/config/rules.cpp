#include "config/rules.h"

#include <algorithm>

namespace vsd {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::Nat:
      return "Masq";
    case Method::Dr:
      return "Route";
    case Method::Tun:
      return "Tunnel";
    case Method::FullNat:
      return "FullNat";
  }
  return "?";
}

std::string_view mark_proto_name(MarkProto p) {
  switch (p) {
    case MarkProto::Any:
      return "any";
    case MarkProto::Tcp:
      return "tcp";
    case MarkProto::Udp:
      return "udp";
  }
  return "?";
}

std::string ServiceKey::str() const {
  if (fwmark != 0) return "FWM " + std::to_string(fwmark) + (family() == Family::V6 ? " IPv6" : "");
  return std::string(proto_name(proto)) + " " + vip.str();
}

const Destination* Service::find_destination(const IpEndpoint& rip) const {
  auto it = std::find_if(destinations.begin(), destinations.end(),
                         [&](const Destination& d) { return d.addr == rip; });
  return it == destinations.end() ? nullptr : &*it;
}

Service* RuleSet::find_service(const ServiceKey& key) {
  auto it = std::find_if(services.begin(), services.end(),
                         [&](const Service& s) { return s.key == key; });
  return it == services.end() ? nullptr : &*it;
}

const Service* RuleSet::find_service(const ServiceKey& key) const {
  return const_cast<RuleSet*>(this)->find_service(key);
}

}  // namespace vsd
