// tun6.cpp: ip6ip6 encapsulation and the Packet Too Big for it. The checks run in
// __ip_vs_get_out_rt_v6's order: the hop limit (the caller), the tunnel's MTU against IPv6's
// minimum, then the packet's size against the tunnel's MTU.
#include "fwd/tun6.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/flow_label.h"
#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr std::size_t kL3 = Packet6::kL3;
constexpr std::size_t kL4 = Packet6::kL4;
constexpr std::size_t kInnerL3 = kL4;  // the inner packet sits where an L4 header would
constexpr uint8_t kPacketTooBig = 2;
constexpr uint8_t kIcmpHopLimit = 64;  // icmp6_send: the default hop limit
constexpr std::size_t kIcmp6HeaderLen = 8;

void put_ip6(std::span<uint8_t> bytes, std::size_t at, const Ip6& a) {
  std::copy(a.begin(), a.end(), bytes.begin() + std::ptrdiff_t(at));
}

Ip6 get_ip6(std::span<const uint8_t> bytes, std::size_t at) {
  Ip6 a;
  std::copy_n(bytes.begin() + std::ptrdiff_t(at), a.size(), a.begin());
  return a;
}

// The version, traffic class and flow label word of an IPv6 header.
uint8_t traffic_class(std::span<const uint8_t> frame) {
  return uint8_t(load_be32(frame, kL3) >> 20);
}

// `label`: the header's flow label (the low 20 bits of its first word).
void put_header(std::span<uint8_t> out, uint8_t tclass, uint32_t label, uint16_t payload_len,
                uint8_t next_header, uint8_t hop_limit, const Ip6& src, const Ip6& dst) {
  store_be16(out, wire::eth::kType, wire::eth::kTypeIpv6);
  store_be32(out, kL3, 0x60000000u | uint32_t(tclass) << 20 | (label & 0xfffffu));
  store_be16(out, kL3 + wire6::kPayloadLen, payload_len);
  out[kL3 + wire6::kNextHeader] = next_header;
  out[kL3 + wire6::kHopLimit] = hop_limit;
  put_ip6(out, kL3 + wire6::kSrc, src);
  put_ip6(out, kL3 + wire6::kDst, dst);
}

}  // namespace

Tun6Result tun_encapsulate6(std::span<const uint8_t> frame, const Packet6& p, const Tunnel6& tunnel,
                            std::span<uint8_t> out) {
  const uint32_t mtu = tun6_mtu(tunnel.egress_mtu);
  if (mtu < kIpv6MinMtu) return {Tun6Verdict::TunnelTooNarrow, 0, mtu};
  const std::size_t inner_len = wire6::kHeaderLen + p.payload_len;
  const std::size_t checked = tunnel.largest_fragment != 0 ? tunnel.largest_fragment : inner_len;
  if (checked > mtu) return {Tun6Verdict::PacketTooBig, 0, mtu};
  const std::size_t length = kInnerL3 + inner_len;
  if (inner_len > 0xffff || out.size() < length || p.l3_end() > frame.size())
    return {Tun6Verdict::BufferTooSmall, 0, mtu};
  std::copy_n(frame.begin() + kL3, inner_len, out.begin() + kInnerL3);
  const uint8_t hop_limit = uint8_t(p.hop_limit - 1);
  out[kInnerL3 + wire6::kHopLimit] = hop_limit;
  store_mac(out, wire::eth::kSrc, tunnel.from);
  put_header(out, encapsulated_traffic_class(traffic_class(frame)), 0, uint16_t(inner_len),
             kProtoIpv6InIpv6, hop_limit, tunnel.local, tunnel.real_server);
  return {Tun6Verdict::Ok, length, mtu};
}

std::size_t build_packet_too_big6(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                  const Packet6& p, uint32_t mtu, const Mac& mac) {
  // RFC 4443 2.4 (c): the error holds as much of the packet as fits in the minimum MTU.
  constexpr std::size_t kMaxQuote = kIpv6MinMtu - wire6::kHeaderLen - kIcmp6HeaderLen;
  const std::size_t quote = std::min(wire6::kHeaderLen + p.payload_len, kMaxQuote);
  const std::size_t message = kIcmp6HeaderLen + quote;
  if (out.size() < kL4 + message || p.l3_end() > frame.size()) return 0;
  const std::size_t quote_at = kL4 + kIcmp6HeaderLen;
  std::copy_n(frame.begin() + kL3, quote, out.begin() + quote_at);
  out[quote_at + wire6::kHopLimit] = uint8_t(p.hop_limit - 1);
  store_mac(out, wire::eth::kDst, load_mac(frame, wire::eth::kSrc));
  store_mac(out, wire::eth::kSrc, mac);
  const Ip6 vip = get_ip6(frame, kL3 + wire6::kDst);
  const Ip6 client = get_ip6(frame, kL3 + wire6::kSrc);
  // The director's own error (icmp6_send): the stack's label for the flow.
  const uint32_t label = auto_flow_label(
      process_flow_key(), {vip, client, wire6::kProtoIcmp6, 0, icmp6_flow_port(kPacketTooBig, 0)});
  put_header(out, 0, label, uint16_t(message), wire6::kProtoIcmp6, kIcmpHopLimit, vip, client);
  out[kL4] = kPacketTooBig;
  out[kL4 + 1] = 0;
  store_be16(out, kL4 + 2, 0);
  store_be32(out, kL4 + 4, mtu);
  const uint16_t pseudo = pseudo_header_sum6(vip, client, wire6::kProtoIcmp6, uint32_t(message));
  store_be16(out, kL4 + 2, uint16_t(~ones_sum(out.subspan(kL4, message), pseudo)));
  return kL4 + message;
}

}  // namespace vsd::fwd
