// IPv6 frames on the director's path: the parse of a fixed header with TCP, UDP or ICMPv6
// right behind it, the rewrites NAT and DR make (hop limit, addresses, ports, the L4 checksum
// over the IPv6 pseudo-header), and the neighbour discovery and echo frames the director sends
// for its VIPs (RFC 4861, RFC 4443). Kept beside the IPv4 functions, never on their path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "fwd/bytes.h"
#include "fwd/wire.h"
#include "net/addr.h"
#include "net/ip6.h"

namespace vsd::fwd {

using vsd::Ip6;

namespace wire6 {
inline constexpr std::size_t kHeaderLen = 40;
inline constexpr std::size_t kPayloadLen = 4;
inline constexpr std::size_t kNextHeader = 6;
inline constexpr std::size_t kHopLimit = 7;
inline constexpr std::size_t kSrc = 8;
inline constexpr std::size_t kDst = 24;
inline constexpr uint8_t kProtoIcmp6 = 58;
inline constexpr uint8_t kEchoRequest = 128;
inline constexpr uint8_t kEchoReply = 129;
inline constexpr uint8_t kNeighborSolicit = 135;
inline constexpr uint8_t kNeighborAdvert = 136;
inline constexpr uint8_t kOptSourceLinkAddr = 1;
inline constexpr uint8_t kOptTargetLinkAddr = 2;
}  // namespace wire6

// Extension headers the parse walks through to find the upper-layer header, as ipv6_find_hdr
// does for IPVS: hop-by-hop options (first only), routing, destination options, fragment.
inline constexpr uint8_t kExtHopByHop = 0;
inline constexpr uint8_t kExtRouting = 43;
inline constexpr uint8_t kExtFragment = 44;
inline constexpr uint8_t kExtDestination = 60;
inline constexpr uint8_t kNoNextHeader = 59;
// At most this many extension headers are walked; a longer chain is not looked into.
inline constexpr std::size_t kMaxExtensionHeaders = 8;
// The fragment header: next header, reserved, offset (13 bits, in 8-byte units) with M in bit 0,
// identification.
inline constexpr std::size_t kFragmentHeaderLen = 8;
// RFC 8200 5: every IPv6 link carries 1280 bytes.
inline constexpr uint32_t kIpv6MinMtu = 1280;

// What the stages read of an IPv6 frame: the fixed header, the extension headers before the
// upper-layer header (their bytes kept as they came), and TCP, UDP or ICMPv6 behind them.
struct Packet6 {
  Ip6 src{}, dst{};
  uint8_t next_header = 0;  // the upper-layer protocol, after the extension headers
  uint8_t hop_limit = 0;
  uint16_t payload_len = 0;  // from the header, checked against the frame
  bool other = false;        // another protocol, or a chain not walked: not looked into
  uint16_t sport = 0, dport = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  static constexpr std::size_t kL3 = 14;
  static constexpr std::size_t kL4 = kL3 + wire6::kHeaderLen;  // behind a bare header
  // Where the upper-layer header starts: kL4 unless extension headers come first.
  uint16_t l4_at = kL4;
  // The fragment header, when there is one: where it is, where the byte naming it is (the
  // fixed header's next header or the previous extension header's), its offset in bytes, M
  // and identification. l4_at then points past it, at the fragment's data.
  bool fragment = false;
  uint16_t fragment_at = 0;
  uint16_t names_fragment_at = 0;
  uint16_t fragment_offset = 0;
  bool more_fragments = false;
  uint32_t fragment_id = 0;
  bool is_tcp() const { return !other && !fragment && next_header == 6; }
  bool is_udp() const { return !other && !fragment && next_header == 17; }
  // ICMPv6 is taken only right behind the fixed header: the director's own messages and the
  // errors it relays never carry extension headers.
  bool is_icmp() const {
    return !other && !fragment && l4_at == kL4 && next_header == wire6::kProtoIcmp6;
  }
  bool has_ports() const { return is_tcp() || is_udp(); }
  bool has_extension_headers() const { return l4_at != kL4; }
  std::size_t l3_end() const { return kL4 + payload_len; }
  // The upper-layer length the pseudo-header counts (RFC 8200 8.1).
  std::size_t upper_len() const { return l3_end() - l4_at; }
};

// nullopt: not IPv6 over Ethernet, version not 6, shorter than its header says, an extension
// header running past the payload, or an upper-layer header cut short.
std::optional<Packet6> parse_ipv6(std::span<const uint8_t> frame);

// What the look-ahead reads of an IPv6 frame: the ends of TCP or UDP right behind the fixed
// header, checked against nothing but the frame's size. Inline and no more, as peek_ipv4 is:
// it is a guess for every frame, which parse_ipv6 checks when the frame is handled.
struct Peek6 {
  Ip6 src, dst;
  uint8_t next_header;
  uint16_t sport, dport;
};
inline std::optional<Peek6> peek_ipv6(std::span<const uint8_t> frame) {
  constexpr std::size_t kL3 = Packet6::kL3, kL4 = Packet6::kL4;
  if (frame.size() < kL4 + 4 || load_be16(frame, wire::eth::kType) != wire::eth::kTypeIpv6)
    return std::nullopt;
  const uint8_t next_header = frame[kL3 + wire6::kNextHeader];
  if (next_header != 6 && next_header != 17) return std::nullopt;
  Peek6 p;
  std::memcpy(p.src.data(), frame.data() + kL3 + wire6::kSrc, p.src.size());
  std::memcpy(p.dst.data(), frame.data() + kL3 + wire6::kDst, p.dst.size());
  p.next_header = next_header;
  p.sport = load_be16(frame, kL4);
  p.dport = load_be16(frame, kL4 + 2);
  return p;
}

// The ones-complement sum of the IPv6 pseudo-header (RFC 8200 8.1).
uint16_t pseudo_header_sum6(const Ip6& src, const Ip6& dst, uint8_t next_header,
                            uint32_t upper_length);
// The L4 checksum of the frame's TCP, UDP or ICMPv6 payload verifies.
bool l4_checksum_ok6(std::span<const uint8_t> frame, const Packet6& p);

// NAT, client to real server: destination address and port become the real server's, the
// hop limit goes down by one, the L4 checksum follows; Ethernet from `from` to next hop
// (filled in on output).
void nat_in6(std::span<uint8_t> frame, const Packet6& p, const Ip6& rip, uint16_t rport,
             const Mac& from);
// NAT, real server to client: the source becomes VIP:vport.
void nat_out6(std::span<uint8_t> frame, const Packet6& p, const Ip6& vip, uint16_t vport,
              const Mac& from);
// DR: the frame as it came, hop limit less one, from `from` (the real server's MAC is filled
// in on output).
void dr_forward6(std::span<uint8_t> frame, const Mac& from);

// A Neighbor Solicitation's target, when the frame is a well-formed one (hop limit 255, code
// 0, checksum right, from a unicast source: duplicate address detection is not answered).
std::optional<Ip6> solicited_target(std::span<const uint8_t> frame, const Packet6& p);
// A Neighbor Advertisement's target and the MAC it gives for it (its option, or the frame's
// source).
struct Advertised {
  Ip6 target{};
  Mac mac;
};
std::optional<Advertised> parse_advert(std::span<const uint8_t> frame, const Packet6& p);

// Builders of the director's own frames into `out`; each returns the frame's length, 0 when
// `out` is too small.
// The advertisement answering `solicitation` (solicited, override) for `target` at `mac`.
std::size_t build_advert(std::span<uint8_t> out, std::span<const uint8_t> solicitation,
                         const Packet6& p, const Ip6& target, const Mac& mac);
// A solicitation for `target` from `source` (the port's address) at `mac`, to the target's
// solicited-node multicast group.
std::size_t build_solicit(std::span<uint8_t> out, const Ip6& source, const Mac& mac,
                          const Ip6& target);
// The echo reply to `request` (an ICMPv6 echo request with a right checksum), from its
// destination, hop limit 64.
std::size_t build_echo_reply6(std::span<uint8_t> out, std::span<const uint8_t> request,
                              const Packet6& p, const Mac& mac);

}  // namespace vsd::fwd
