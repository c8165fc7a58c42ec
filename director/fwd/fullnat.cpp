// fullnat.cpp: FULLNAT rewrites as chains of elements; each address and port update is an
// incremental checksum step, so the order of the steps does not matter.
#include "fwd/fullnat.h"

namespace vsd::fwd {

void fullnat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                Endpoint real_server, const EthAddrs& eth) {
  set_eth(frame, eth);
  dec_ttl(frame, packet);
  set_ip_src(frame, packet, local.addr);
  set_ip_dst(frame, packet, real_server.addr);
  if (!packet.has_ports()) return;
  set_src_port(frame, packet, local.port);
  set_dst_port(frame, packet, real_server.port);
}

void fullnat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                 Endpoint client, const EthAddrs& eth) {
  set_eth(frame, eth);
  dec_ttl(frame, packet);
  set_ip_src(frame, packet, virtual_service.addr);
  set_ip_dst(frame, packet, client.addr);
  if (!packet.has_ports()) return;
  set_src_port(frame, packet, virtual_service.port);
  set_dst_port(frame, packet, client.port);
}

}  // namespace vsd::fwd
