// tun.cpp: IPIP encapsulation. The checks run in the kernel's order:
// TTL (caller), then the MTU test of ensure_mtu_is_adequate against the tunnel MTU (egress
// MTU - 20), which only a DF packet fails; a packet without DF is wrapped and the outer packet
// fragmented on output (fwd/fragment.h).
#include "fwd/tun.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/reply.h"
#include "fwd/wire.h"

namespace vsd::fwd {

namespace {

constexpr std::size_t kOuterL3 = wire::eth::kHeaderLen;
constexpr std::size_t kInnerL3 = kOuterL3 + kIpipOverhead;
constexpr std::size_t kMaxIpPacket = 0xffff;
// RFC 791: the datagram every IPv4 host takes unfragmented.
constexpr uint32_t kMinIpv4Mtu = 68;

void set_ipv4_checksum(std::span<uint8_t> header) {
  store_be16(header, wire::ip::kChecksum, ipv4_header_checksum(header));
}

// ip_vs_tunnel_xmit's outer header: TOS, DF and (decremented) TTL from the inner packet; ID 0
// under DF as ip_select_ident does for DF packets, else the caller's fresh ID.
void write_outer_header(std::span<uint8_t> header, const PacketView& inner,
                        const TunnelParams& tunnel) {
  header[wire::ip::kVersionIhl] = 0x45;
  header[wire::ip::kTos] = inner.tos;
  store_be16(header, wire::ip::kTotalLen, uint16_t(inner.ip_total_len + kIpipOverhead));
  store_be16(header, wire::ip::kId, inner.dont_fragment ? 0 : tunnel.ip_id);
  store_be16(header, wire::ip::kFlagsFragment, inner.dont_fragment ? wire::ip::kDontFragment : 0);
  header[wire::ip::kTtl] = ttl_after_hop(inner.ttl);
  header[wire::ip::kProtocol] = wire::ip::kProtoIpip;
  store_ipv4(header, wire::ip::kSrc, tunnel.local);
  store_ipv4(header, wire::ip::kDst, tunnel.real_server);
  set_ipv4_checksum(header);
}

void write_eth_header(std::span<uint8_t> frame, const EthAddrs& eth) {
  set_eth(frame, eth);
  store_be16(frame, wire::eth::kType, wire::eth::kTypeIpv4);
}

}  // namespace

TunResult tun_encapsulate(std::span<const uint8_t> frame, const PacketView& packet,
                          const TunnelParams& tunnel, std::span<uint8_t> out) {
  bool too_big = packet.ip_total_len + kIpipOverhead > tunnel.egress_mtu;
  // IPVS answers a too-big DF packet with frag-needed, except an ICMP error it relays, and
  // except with pmtu_disc off, where ensure_mtu_is_adequate lets every tunnelled packet pass.
  bool answer_frag_needed = tunnel.pmtu_disc && packet.dont_fragment && !packet.is_icmp_error;
  if (too_big && answer_frag_needed) return {TunVerdict::NeedsFragNeeded, 0};
  std::size_t length = kInnerL3 + packet.ip_total_len;
  bool fits_ipv4 = packet.ip_total_len + kIpipOverhead <= kMaxIpPacket;
  if (!fits_ipv4 || out.size() < length || packet.l3_end() > frame.size())
    return {TunVerdict::BufferTooSmall, 0};

  write_eth_header(out, tunnel.eth);
  write_outer_header(out.subspan(kOuterL3, kIpipOverhead), packet, tunnel);
  std::copy_n(frame.begin() + packet.l3, packet.ip_total_len, out.begin() + kInnerL3);
  dec_ttl_at(out, kInnerL3);
  return {too_big ? TunVerdict::NeedsFragmentation : TunVerdict::Ok, length};
}

[[gnu::flatten]] Sent tun_ipv4_in(std::span<uint8_t> frame, const PacketView& packet,
                                  const ConnView& conn, const Link& link, Workspace& workspace) {
  if (!link.address) return {Xmit::NoRoute};
  uint16_t id = workspace.next_ip_id++;
  if (id == 0) id = workspace.next_ip_id++;
  const uint16_t mtu = uint16_t(link.mtu);
  TunnelParams tunnel{*link.address, conn.real_server.addr, mtu, id, link.eth, workspace.pmtu_disc};
  auto r = tun_encapsulate(frame, packet, tunnel, workspace.scratch);
  switch (r.verdict) {
    case TunVerdict::Ok:
      return {Xmit::Scratch, false, 0, uint32_t(r.length)};
    case TunVerdict::NeedsFragNeeded:
      return {Xmit::FragNeeded, false, tun_next_hop_mtu(mtu)};
    case TunVerdict::NeedsFragmentation:
      // Without DF the outer packet is cut (spec section 2) on output, at the MTU or at the
      // size the datagram arrived in.
      return {Xmit::Scratch, false, 0, uint32_t(r.length)};
    case TunVerdict::BufferTooSmall:
      break;
  }
  return {Xmit::TxFailed};
}

// The inner packet's source: the client.
Ipv4 tun_ipv4_server_error_to(const PacketView&, const ConnView& conn) {
  return conn.client.addr;
}

Sent tun_ipv4_server_error(std::span<uint8_t> frame, const PacketView& packet,
                           const QuotedPacket& inner, const ConnView& conn, const Link& link,
                           Workspace& workspace) {
  // The inner packet as build_icmp_error quotes a packet: from its header to the end of the
  // quote.
  PacketView quoted;
  quoted.l3 = inner.l3;
  quoted.ip_total_len = uint16_t(packet.l3_end() - inner.l3);
  quoted.tos = frame[inner.l3 + wire::ip::kTos];
  quoted.protocol = inner.protocol;
  quoted.fragment_offset = inner.fragment_offset;
  quoted.src = inner.src;
  quoted.dst = inner.dst;
  uint32_t rest = load_be32(frame, packet.l4 + wire::icmp::kRestOfHeader);
  if (packet.icmp_type == wire::icmp::kDestUnreachable &&
      packet.icmp_code == wire::icmp::kCodeFragNeeded) {
    // A client that did not set DF does no path MTU discovery: ip_vs_in_icmp tells it nothing
    // (the route to the real server alone learns the MTU) and takes the error all the same.
    const uint16_t inner_flags = load_be16(frame, inner.l3 + wire::ip::kFlagsFragment);
    if (!(inner_flags & wire::ip::kDontFragment)) return Sent{Xmit::Nothing};
    // Below 68 bytes and the tunnel's 20, the MTU goes on as the router gave it.
    uint32_t mtu = rest & 0xffff;
    if (mtu > kMinIpv4Mtu + kIpipOverhead) rest = mtu - kIpipOverhead;
  }
  IcmpError error{packet.icmp_type, packet.icmp_code, rest, false};
  auto n = build_icmp_error(workspace.scratch, frame, quoted, error, conn.virtual_service.addr,
                            {link.eth.src, workspace.next_ip_id++});
  return n ? Sent{Xmit::Scratch, false, 0, uint32_t(n)} : Sent{Xmit::Nothing};
}

}  // namespace vsd::fwd
