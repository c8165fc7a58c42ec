// FULLNAT over IPv6 (vsd/dataplane.h): the local end of a new connection, as allocate_local
// picks it for IPv4 (spec 2 FULLNAT [dpvs]): the service's IPv6 local addresses in turn, per
// destination, each asked for a port that no connection to the real server uses on it.
#include "vsd/dataplane.h"

namespace vsd {

template <DataPort Port>
std::optional<Endpoint6> BasicDataplane<Port>::allocate_local6(const ServiceRuntime& svc,
                                                               DestHandle dest, Proto proto,
                                                               const Endpoint6& real_server) {
  const auto& pool = svc.config.local_addresses6;
  if (pool.empty()) return std::nullopt;
  auto& cursor = laddr6_cursor_[dest];
  for (std::size_t tries = 0; tries < pool.size(); ++tries) {
    const Ip6 lip = pool[cursor++ % pool.size()].bytes;
    if (auto lport = conns6_.pick_local_port(proto, lip, real_server))
      return Endpoint6{lip, *lport};
  }
  return std::nullopt;
}

template std::optional<Endpoint6> BasicDataplane<PacketSocket>::allocate_local6(
    const ServiceRuntime&, DestHandle, Proto, const Endpoint6&);
template std::optional<Endpoint6> BasicDataplane<MemoryPort>::allocate_local6(const ServiceRuntime&,
                                                                              DestHandle, Proto,
                                                                              const Endpoint6&);

}  // namespace vsd
