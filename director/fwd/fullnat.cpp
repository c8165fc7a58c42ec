// fullnat.cpp: FULLNAT rewrites as chains of elements; the address and port changes are summed
// into one checksum update each (elements.h), so their order does not matter.
#include "fwd/fullnat.h"

#include "fwd/nat.h"
#include "fwd/toa.h"
#include "fwd/wire.h"

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

[[gnu::flatten]] Sent fullnat_ipv4_in(std::span<uint8_t> frame, const PacketView& packet,
                                      const ConnView& conn, const Link& link,
                                      Workspace& workspace) {
  fullnat_in(frame, packet, conn.local, conn.real_server, link.eth);
  // TOA rides on the client's first segment after its SYN (the handshake ACK), once; when it
  // does not fit, the segment goes without it, as DPVS sends it.
  if (conn.toa_pending && packet.has_tcp_flag(wire::tcp::kAckFlag) &&
      !packet.has_tcp_flag(wire::tcp::kSyn) && !packet.has_tcp_flag(wire::tcp::kRst)) {
    if (auto n = add_toa(frame, packet, conn.client, link.mtu, workspace.scratch))
      return {Xmit::Scratch, true, 0, uint32_t(n)};
    return {Xmit::Frame, true};
  }
  return {Xmit::Frame};
}

[[gnu::flatten]] Sent fullnat_ipv4_out(std::span<uint8_t> frame, const PacketView& packet,
                                       const ConnView& conn, const Link& link, Workspace&) {
  fullnat_out(frame, packet, conn.virtual_service, conn.client, link.eth);
  return {Xmit::Frame};
}

Sent fullnat_ipv4_icmp_in(std::span<uint8_t> frame, const PacketView& packet, const ConnView& conn,
                          const Link& link, Workspace&) {
  return {fullnat_icmp_in(frame, packet, conn.local, conn.real_server, link.eth) ? Xmit::Frame
                                                                                 : Xmit::Nothing};
}

// The error goes to the local address; the client is the connection's.
Ipv4 fullnat_ipv4_server_error_to(const PacketView&, const ConnView& conn) {
  return conn.client.addr;
}

Sent fullnat_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet,
                               const QuotedPacket&, const ConnView& conn, const Link& link,
                               Workspace&) {
  if (packet.ttl_expires()) return {Xmit::TtlExpired};
  return {fullnat_icmp_out(frame, packet, conn.virtual_service, conn.client, link.eth)
              ? Xmit::Frame
              : Xmit::Nothing};
}

}  // namespace vsd::fwd
