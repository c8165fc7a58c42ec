// classify(): the first stage a received frame meets. It parses Ethernet, IPv4 and the
// transport header, validates exactly what the kernel's receive path validates before IPVS
// sees a packet (ip_rcv, tcp/udp/icmp header pulls), and returns a view of offsets the
// rewrites work from. It never reads outside the frame, whatever its bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "fwd/bytes.h"
#include "fwd/wire.h"
#include "net/addr.h"

namespace vsd::fwd {

// What to do with a frame.
enum class Verdict : uint8_t {
  Ipv4,     // an IPv4 packet that passed every check: Classified::packet describes it
  Arp,      // for the ARP responder (parse_arp in reply.h)
  NotIpv4,  // another ethertype (IPv6, LLDP, ...): not the data plane's; slow path or ignore
  Drop,     // malformed or unsupported: count Classified::drop and free the frame
};

// Why a frame was dropped; one counter each.
enum class DropReason : uint8_t {
  None,              // not dropped
  Runt,              // shorter than an Ethernet header; frames below the 60-byte minimum are
                     // fine (veth and AF_PACKET deliver them unpadded)
  VlanTagged,        // an 802.1Q/802.1ad tag: vsd serves untagged ports only
  Ipv4Truncated,     // fewer bytes than the IPv4 header, its IHL or its total length claims
  BadVersion,        // the version nibble is not 4
  BadHeaderLength,   // IHL below 5
  BadTotalLength,    // total length below IHL*4
  BadIpChecksum,     // header checksum fails: ip_rcv drops it before IPVS sees it
  BadIpOptions,      // an option overruns the header or has a bad length or pointer
                     // (ip_options_compile); ip_rcv_finish drops the packet
  SourceRouted,      // LSRR/SSRR: dropped while accept_source_route is 0, the default
  L4Truncated,       // datagram too short for its TCP (20), UDP (8), SCTP (12) or ICMP (8) header
  BadTcpDataOffset,  // TCP data offset below 5 words or past the end of the datagram
  Count,
};

inline constexpr std::size_t kDropReasonCount = std::size_t(DropReason::Count);

// Counter names, indexed by DropReason and in its order ("none", "runt", "vlan_tagged", ...).
extern const std::array<std::string_view, kDropReasonCount> kDropReasonNames;
std::string_view drop_reason_name(DropReason reason);

// The packet an ICMP error quotes: its IP header and the first bytes of its data (RFC 792).
// The quote runs to the end of the outer datagram and is usually cut short, so its own total
// length is not checked against it.
struct QuotedPacket {
  uint16_t l3 = 0;  // offset of the quoted IPv4 header in the frame
  uint16_t l4 = 0;  // offset of the quoted transport header: l3 + its IHL*4
  uint8_t ip_header_len = 0;
  uint8_t protocol = 0;
  uint16_t fragment_offset = 0;  // in bytes; non-zero means the quote holds no L4 header
  Ipv4 src;
  Ipv4 dst;
  bool has_ports = false;  // TCP, UDP or SCTP, not a later fragment, 4 bytes of ports quoted
  uint16_t sport = 0;
  uint16_t dport = 0;
};

// Offsets and decoded fields of a classified IPv4 frame. It describes the frame as received:
// rewrites change the frame, not the view.
struct PacketView {
  uint16_t l3 = 0;            // offset of the IPv4 header (14: no VLAN tags are accepted)
  uint16_t l4 = 0;            // offset of the transport header: l3 + IHL*4
  uint8_t ip_header_len = 0;  // IHL*4, 20 to 60
  uint8_t protocol = 0;       // IP protocol number (wire::ip::kProto*)
  uint16_t ip_total_len = 0;  // frame bytes past l3 + ip_total_len are link-layer padding
  uint8_t tos = 0;
  uint8_t ttl = 0;
  uint16_t ip_id = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset = 0;  // in bytes
  Ipv4 src;
  Ipv4 dst;

  // Transport fields, set only for a whole (unfragmented) TCP, UDP, SCTP or ICMP datagram: IPVS
  // reassembles before it looks at ports (ip_vs_core.c ip_vs_in), so vsd does too.
  bool has_l4 = false;
  uint8_t l4_header_len = 0;  // TCP data offset*4; 8 for UDP and ICMP, 12 for SCTP
  uint16_t sport = 0;         // TCP/UDP/SCTP
  uint16_t dport = 0;
  uint8_t tcp_flags = 0;  // wire::tcp::kSyn, ...
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;

  // ICMP errors IPVS relates to a connection: destination unreachable, source quench and time
  // exceeded (ip_vs_core.c ip_vs_in_icmp / ip_vs_out_icmp). has_quote is false when the quoted
  // header is missing or malformed; the kernel then leaves the message alone ("looks wrong").
  bool is_icmp_error = false;
  bool has_quote = false;
  QuotedPacket quoted;

  constexpr bool is_fragment() const { return more_fragments || fragment_offset != 0; }
  constexpr bool is_first_fragment() const { return more_fragments && fragment_offset == 0; }
  constexpr bool has_ip_options() const { return ip_header_len > wire::ip::kMinHeaderLen; }
  constexpr bool is_tcp() const { return protocol == wire::ip::kProtoTcp; }
  constexpr bool is_udp() const { return protocol == wire::ip::kProtoUdp; }
  constexpr bool is_sctp() const { return protocol == wire::ip::kProtoSctp; }
  constexpr bool is_icmp() const { return protocol == wire::ip::kProtoIcmp; }
  constexpr bool has_ports() const { return has_l4 && (is_tcp() || is_udp() || is_sctp()); }
  constexpr bool has_tcp_flag(uint8_t flag) const { return (tcp_flags & flag) != 0; }
  // The packet must not be forwarded: the caller answers with time exceeded (spec section 2).
  constexpr bool ttl_expires() const { return ttl <= 1; }
  constexpr std::size_t l3_end() const { return std::size_t(l3) + ip_total_len; }
  constexpr std::size_t l4_len() const { return l3_end() - l4; }
  constexpr std::size_t payload_offset() const { return std::size_t(l4) + l4_header_len; }
  constexpr std::size_t payload_len() const { return l3_end() - payload_offset(); }
};

struct Classified {
  Verdict verdict = Verdict::Drop;
  DropReason drop = DropReason::None;  // set when verdict is Drop
  PacketView packet;                   // set when verdict is Ipv4
};

Classified classify(std::span<const uint8_t> frame);

// Parses the IPv4 header an ICMP error quotes at `at`, the quote ending at `end` (both frame
// offsets). Public so a caller can look one level deeper, e.g. into a quoted IPIP packet;
// inline, as the look-ahead reads every frame with it (peek_ipv4).
inline std::optional<QuotedPacket> parse_quoted(std::span<const uint8_t> frame, std::size_t at,
                                                std::size_t end) {
  // Offsets are kept in 16 bits; no real frame puts a quote that far in.
  if (end > frame.size() || at > end || at + wire::ip::kMaxHeaderLen > 0xffff) return {};
  std::span<const uint8_t> ip = frame.subspan(at, end - at);
  if (ip.size() < wire::ip::kMinHeaderLen) return {};
  uint8_t version_ihl = ip[wire::ip::kVersionIhl];
  std::size_t header_len = std::size_t(version_ihl & 0x0f) * 4;
  if ((version_ihl >> 4) != 4 || header_len < wire::ip::kMinHeaderLen) return {};
  if (ip.size() < header_len) return {};

  QuotedPacket quoted;
  quoted.l3 = uint16_t(at);
  quoted.l4 = uint16_t(at + header_len);
  quoted.ip_header_len = uint8_t(header_len);
  quoted.protocol = ip[wire::ip::kProtocol];
  quoted.fragment_offset =
      uint16_t((load_be16(ip, wire::ip::kFlagsFragment) & wire::ip::kOffsetMask) * 8);
  quoted.src = load_ipv4(ip, wire::ip::kSrc);
  quoted.dst = load_ipv4(ip, wire::ip::kDst);
  bool carries_ports = quoted.protocol == wire::ip::kProtoTcp ||
                       quoted.protocol == wire::ip::kProtoUdp ||
                       quoted.protocol == wire::ip::kProtoSctp;
  if (carries_ports && quoted.fragment_offset == 0 && ip.size() >= header_len + 4) {
    quoted.has_ports = true;
    quoted.sport = load_be16(ip, header_len + wire::tcp::kSrcPort);
    quoted.dport = load_be16(ip, header_len + wire::tcp::kDstPort);
  }
  return quoted;
}

// The addresses and ports of an (untagged) Ethernet frame's IPv4 packet, read as parse_quoted
// reads a quote: only what reading them needs is checked, no checksum, no total length. For a
// guess made ahead of classify(), as the data plane's look-ahead makes one; has_ports says
// whether the ports were there (TCP, UDP or SCTP, not a later fragment).
inline std::optional<QuotedPacket> peek_ipv4(std::span<const uint8_t> frame) {
  if (frame.size() < wire::eth::kHeaderLen ||
      load_be16(frame, wire::eth::kType) != wire::eth::kTypeIpv4)
    return {};
  return parse_quoted(frame, wire::eth::kHeaderLen, frame.size());
}

// Offset in the frame of the packet's record-route option, or 0 when it has none. classify()
// has checked the option list, so the option found is well formed.
std::size_t record_route_offset(std::span<const uint8_t> frame, const PacketView& packet);

// The ICMP checksum verifies. IPVS drops an ICMP error about a connection whose checksum fails
// (ip_vs_core.c ip_vs_in_icmp, handle_response_icmp); icmp_rcv drops bad echo requests.
bool icmp_checksum_ok(std::span<const uint8_t> frame, const PacketView& packet);

// The TCP or UDP checksum verifies (pseudo-header included; a UDP checksum of 0 is none).
// IPVS never checks it, but the director's own stack does before it answers a packet IPVS did
// not take: tcp_v4_rcv drops a bad segment without a RST, __udp4_lib_rcv a bad datagram without
// a port unreachable.
bool l4_checksum_ok(std::span<const uint8_t> frame, const PacketView& packet);

}  // namespace vsd::fwd
