#include "fwd/ipv6.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/flow_label.h"
#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr std::size_t kL3 = Packet6::kL3;
constexpr std::size_t kL4 = Packet6::kL4;

Ip6 load_ip6(std::span<const uint8_t> bytes, std::size_t at) {
  Ip6 a;
  std::copy_n(bytes.begin() + std::ptrdiff_t(at), a.size(), a.begin());
  return a;
}

void store_ip6(std::span<uint8_t> bytes, std::size_t at, const Ip6& a) {
  std::copy(a.begin(), a.end(), bytes.begin() + std::ptrdiff_t(at));
}

// Where the TCP or UDP checksum sits, from the start of the L4 header.
std::size_t checksum_offset(const Packet6& p) {
  return p.is_tcp() ? 16 : 6;
}

// The checksum update for one address and one port replaced, written back (UDP's zero rules
// kept, though IPv6 UDP always carries a checksum).
void rewrite(std::span<uint8_t> frame, const Packet6& p, std::size_t addr_at, const Ip6& addr,
             std::size_t port_at, uint16_t port) {
  ChecksumUpdate update;
  for (std::size_t i = 0; i < addr.size(); i += 2)
    update.replace16(load_be16(frame, addr_at + i), uint16_t(addr[i] << 8 | addr[i + 1]));
  update.replace16(load_be16(frame, port_at), port);
  const std::size_t sum_at = p.l4_at + checksum_offset(p);
  const uint16_t old = load_be16(frame, sum_at);
  store_be16(frame, sum_at, p.is_udp() ? update.applied_to_udp(old) : update.applied_to(old));
  store_ip6(frame, addr_at, addr);
  store_be16(frame, port_at, port);
}

void forward_header(std::span<uint8_t> frame, const Mac& from) {
  frame[kL3 + wire6::kHopLimit]--;
  store_mac(frame, wire::eth::kSrc, from);
}

// The ICMPv6 checksum of a message of `length` bytes at kL4, its field taken as zero.
uint16_t icmp6_checksum(std::span<const uint8_t> frame, const Ip6& src, const Ip6& dst,
                        std::size_t length) {
  const uint16_t pseudo = pseudo_header_sum6(src, dst, wire6::kProtoIcmp6, uint32_t(length));
  uint16_t sum = ones_sum(frame.subspan(kL4, 2), pseudo);
  sum = ones_sum(frame.subspan(kL4 + 4, length - 4), sum);
  return uint16_t(~sum);
}

// Ethernet and the IPv6 header of a frame the director sends.
void write_header(std::span<uint8_t> out, const Mac& eth_dst, const Mac& eth_src, const Ip6& src,
                  const Ip6& dst, uint16_t payload_len, uint8_t next_header, uint8_t hop_limit) {
  store_mac(out, wire::eth::kDst, eth_dst);
  store_mac(out, wire::eth::kSrc, eth_src);
  store_be16(out, wire::eth::kType, wire::eth::kTypeIpv6);
  store_be32(out, kL3, 0x60000000u);
  store_be16(out, kL3 + wire6::kPayloadLen, payload_len);
  out[kL3 + wire6::kNextHeader] = next_header;
  out[kL3 + wire6::kHopLimit] = hop_limit;
  store_ip6(out, kL3 + wire6::kSrc, src);
  store_ip6(out, kL3 + wire6::kDst, dst);
}

// The link-layer address option of a neighbour discovery message, if it has one of `type`.
std::optional<Mac> link_option(std::span<const uint8_t> frame, const Packet6& p, uint8_t type) {
  std::size_t at = kL4 + 24;
  while (at + 8 <= p.l3_end()) {
    const std::size_t len = std::size_t(frame[at + 1]) * 8;
    if (len == 0) return std::nullopt;  // RFC 4861 4.6: a zero length is invalid
    if (frame[at] == type && len == 8) return load_mac(frame, at + 2);
    at += len;
  }
  return std::nullopt;
}

bool neighbour_message_ok(std::span<const uint8_t> frame, const Packet6& p, uint8_t type) {
  return p.is_icmp() && p.icmp_type == type && p.icmp_code == 0 && p.hop_limit == 255 &&
         p.payload_len >= 24 && l4_checksum_ok6(frame, p);
}

}  // namespace

namespace {

// Walks the extension headers from the fixed header's next header, as ipv6_find_hdr does for
// IPVS (any routing header is stepped over, whatever its segments left), recording the fragment
// header. False when a header runs past the payload, hop-by-hop options come anywhere but first,
// or the chain is longer than kMaxExtensionHeaders: the packet is then not looked into.
bool walk_extension_headers(std::span<const uint8_t> frame, Packet6& p) {
  std::size_t names_at = kL3 + wire6::kNextHeader;
  for (std::size_t n = 0; n < kMaxExtensionHeaders; ++n) {
    const uint8_t type = frame[names_at];
    const bool extension = type == kExtHopByHop || type == kExtRouting || type == kExtDestination ||
                           type == kExtFragment;
    if (!extension) {
      p.next_header = type;
      return true;
    }
    if (type == kExtHopByHop && n != 0) return false;  // RFC 8200 4.3: only right after the header
    const std::size_t at = p.l4_at;
    if (at + 8 > p.l3_end()) return false;
    const std::size_t len = type == kExtFragment ? kFragmentHeaderLen : (frame[at + 1] + 1u) * 8u;
    if (at + len > p.l3_end()) return false;
    if (type == kExtFragment) {
      if (p.fragment) return false;  // one fragment header per packet
      p.fragment = true;
      p.fragment_at = uint16_t(at);
      p.names_fragment_at = uint16_t(names_at);
      const uint16_t word = load_be16(frame, at + 2);
      p.fragment_offset = uint16_t(word & ~7u);
      p.more_fragments = (word & 1) != 0;
      p.fragment_id = load_be32(frame, at + 4);
    }
    names_at = at;
    p.l4_at = uint16_t(at + len);
  }
  return false;
}

}  // namespace

std::optional<Packet6> parse_ipv6(std::span<const uint8_t> frame) {
  if (frame.size() < kL4 || load_be16(frame, wire::eth::kType) != wire::eth::kTypeIpv6)
    return std::nullopt;
  if ((frame[kL3] >> 4) != 6) return std::nullopt;
  Packet6 p;
  p.src = load_ip6(frame, kL3 + wire6::kSrc);
  p.dst = load_ip6(frame, kL3 + wire6::kDst);
  p.next_header = frame[kL3 + wire6::kNextHeader];
  p.hop_limit = frame[kL3 + wire6::kHopLimit];
  p.payload_len = load_be16(frame, kL3 + wire6::kPayloadLen);
  if (p.l3_end() > frame.size()) return std::nullopt;
  if (!walk_extension_headers(frame, p)) {
    // A chain the walk refuses; a fragment header already seen still makes it a fragment,
    // which reassembly then refuses too.
    p.other = true;
    return p;
  }
  // A fragment after the first has no upper-layer header; the first's is read after reassembly.
  if (p.fragment) return p;
  const std::size_t need = p.next_header == 6                    ? 20
                           : p.next_header == 17                 ? 8
                           : p.next_header == wire6::kProtoIcmp6 ? 4
                                                                 : 0;
  if (need == 0) {
    p.other = true;
    return p;
  }
  if (p.upper_len() < need) return std::nullopt;
  const std::size_t l4 = p.l4_at;
  if (p.next_header == wire6::kProtoIcmp6) {
    p.icmp_type = frame[l4];
    p.icmp_code = frame[l4 + 1];
    return p;
  }
  p.sport = load_be16(frame, l4);
  p.dport = load_be16(frame, l4 + 2);
  if (p.is_tcp()) p.tcp_flags = frame[l4 + 13];
  return p;
}

uint16_t pseudo_header_sum6(const Ip6& src, const Ip6& dst, uint8_t next_header,
                            uint32_t upper_length) {
  uint16_t sum = ones_sum(src);
  sum = ones_sum(dst, sum);
  const std::array<uint8_t, 8> rest{uint8_t(upper_length >> 24),
                                    uint8_t(upper_length >> 16),
                                    uint8_t(upper_length >> 8),
                                    uint8_t(upper_length),
                                    0,
                                    0,
                                    0,
                                    next_header};
  return ones_sum(rest, sum);
}

bool l4_checksum_ok6(std::span<const uint8_t> frame, const Packet6& p) {
  if (p.other || p.fragment) return false;
  const auto upper = uint32_t(p.upper_len());
  const uint16_t pseudo = pseudo_header_sum6(p.src, p.dst, p.next_header, upper);
  return checksum_verifies(frame.subspan(p.l4_at, upper), pseudo);
}

void nat_in6(std::span<uint8_t> frame, const Packet6& p, const Ip6& rip, uint16_t rport,
             const Mac& from) {
  rewrite(frame, p, kL3 + wire6::kDst, rip, p.l4_at + 2u, rport);
  forward_header(frame, from);
}

void nat_out6(std::span<uint8_t> frame, const Packet6& p, const Ip6& vip, uint16_t vport,
              const Mac& from) {
  rewrite(frame, p, kL3 + wire6::kSrc, vip, p.l4_at, vport);
  forward_header(frame, from);
}

void dr_forward6(std::span<uint8_t> frame, const Mac& from) {
  forward_header(frame, from);
}

std::optional<Ip6> solicited_target(std::span<const uint8_t> frame, const Packet6& p) {
  if (!neighbour_message_ok(frame, p, wire6::kNeighborSolicit)) return std::nullopt;
  const Ip6 unspecified{};
  if (p.src == unspecified) return std::nullopt;
  return load_ip6(frame, kL4 + 8);
}

std::optional<Advertised> parse_advert(std::span<const uint8_t> frame, const Packet6& p) {
  if (!neighbour_message_ok(frame, p, wire6::kNeighborAdvert)) return std::nullopt;
  Advertised a;
  a.target = load_ip6(frame, kL4 + 8);
  const auto option = link_option(frame, p, wire6::kOptTargetLinkAddr);
  a.mac = option ? *option : load_mac(frame, wire::eth::kSrc);
  return a;
}

std::size_t build_advert(std::span<uint8_t> out, std::span<const uint8_t> solicitation,
                         const Packet6& p, const Ip6& target, const Mac& mac) {
  constexpr std::size_t kMessage = 32;  // 24 bytes of advertisement, one 8-byte option
  if (out.size() < kL4 + kMessage) return 0;
  write_header(out, load_mac(solicitation, wire::eth::kSrc), mac, target, p.src, kMessage,
               wire6::kProtoIcmp6, 255);
  std::fill_n(out.begin() + kL4, kMessage, 0);
  out[kL4] = wire6::kNeighborAdvert;
  out[kL4 + 4] = 0x60;  // solicited, override (not a router)
  store_ip6(out, kL4 + 8, target);
  out[kL4 + 24] = wire6::kOptTargetLinkAddr;
  out[kL4 + 25] = 1;
  store_mac(out, kL4 + 26, mac);
  store_be16(out, kL4 + 2, icmp6_checksum(out, target, p.src, kMessage));
  return kL4 + kMessage;
}

std::size_t build_solicit(std::span<uint8_t> out, const Ip6& source, const Mac& mac,
                          const Ip6& target) {
  constexpr std::size_t kMessage = 32;
  if (out.size() < kL4 + kMessage) return 0;
  // RFC 4291 2.7.1: ff02::1:ffXX:XXXX, the target's last 24 bits; its MAC 33:33 and the
  // group's last 32 bits (RFC 2464 7).
  Ip6 group{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, target[13], target[14], target[15]};
  const Mac group_mac{{0x33, 0x33, 0xff, target[13], target[14], target[15]}};
  write_header(out, group_mac, mac, source, group, kMessage, wire6::kProtoIcmp6, 255);
  std::fill_n(out.begin() + kL4, kMessage, 0);
  out[kL4] = wire6::kNeighborSolicit;
  store_ip6(out, kL4 + 8, target);
  out[kL4 + 24] = wire6::kOptSourceLinkAddr;
  out[kL4 + 25] = 1;
  store_mac(out, kL4 + 26, mac);
  store_be16(out, kL4 + 2, icmp6_checksum(out, source, group, kMessage));
  return kL4 + kMessage;
}

std::size_t build_echo_reply6(std::span<uint8_t> out, std::span<const uint8_t> request,
                              const Packet6& p, const Mac& mac) {
  const std::size_t length = p.l3_end();
  if (out.size() < length) return 0;
  std::copy_n(request.begin(), length, out.begin());
  write_header(out, load_mac(request, wire::eth::kSrc), mac, p.dst, p.src, p.payload_len,
               wire6::kProtoIcmp6, 64);
  // The request's traffic class comes back, as icmpv6_echo_reply keeps it; the label is the
  // stack's for the flow, which the identifier and sequence are no part of (flow_label.h).
  const Flow6 flow{p.dst, p.src, wire6::kProtoIcmp6, 0, icmp6_flow_port(wire6::kEchoReply, 0)};
  store_be32(out, kL3, ipv6_first_word(uint8_t(load_be32(request, kL3) >> 20), flow));
  // Only the type changes in what the checksum covers: the pseudo-header's two addresses
  // swap places, which leaves their sum as it was.
  out[kL4] = wire6::kEchoReply;
  const uint16_t word_was = uint16_t(wire6::kEchoRequest << 8 | p.icmp_code);
  const uint16_t word_now = uint16_t(wire6::kEchoReply << 8 | p.icmp_code);
  store_be16(out, kL4 + 2, checksum_update16(load_be16(out, kL4 + 2), word_was, word_now));
  return length;
}

}  // namespace vsd::fwd
