// fullnat.cpp: FULLNAT rewrites as chains of elements; the address and port changes are summed
// into one checksum update each (elements.h), so their order does not matter.
#include "fwd/fullnat.h"

namespace vsd::fwd {

namespace {

// Both endpoints change, in either direction.
void set_endpoints(std::span<uint8_t> frame, const PacketView& packet, Endpoint src, Endpoint dst,
                   const EthAddrs& eth) {
  set_eth(frame, eth);
  ChecksumChanges changes;
  dec_ttl(frame, packet, changes);
  set_ip_src(frame, packet, src.addr, changes);
  set_ip_dst(frame, packet, dst.addr, changes);
  if (packet.has_ports()) {
    set_src_port(frame, packet, src.port, changes);
    set_dst_port(frame, packet, dst.port, changes);
  }
  write_checksums(frame, packet, changes);
}

}  // namespace

void fullnat_in(std::span<uint8_t> frame, const PacketView& packet, Endpoint local,
                Endpoint real_server, const EthAddrs& eth) {
  set_endpoints(frame, packet, local, real_server, eth);
}

void fullnat_out(std::span<uint8_t> frame, const PacketView& packet, Endpoint virtual_service,
                 Endpoint client, const EthAddrs& eth) {
  set_endpoints(frame, packet, virtual_service, client, eth);
}

}  // namespace vsd::fwd
