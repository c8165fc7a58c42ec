// packet.cpp: classify() in the order the kernel's receive path checks a frame: Ethernet type,
// then ip_rcv_core's IPv4 checks (length, version/IHL, checksum, total length), the option
// checks of ip_rcv_options, then the transport header pull of tcp_v4_rcv / udp_rcv /
// icmp_rcv. L4 checksums are not checked: IPVS forwards a segment with a wrong checksum,
// updated so it stays exactly as wrong (spec section 2, NAT).
#include "fwd/packet.h"

#include "fwd/bytes.h"
#include "fwd/checksum.h"

namespace vsd::fwd {

const std::array<std::string_view, kDropReasonCount> kDropReasonNames = {
    "none",
    "runt",
    "vlan_tagged",
    "ipv4_truncated",
    "bad_version",
    "bad_header_length",
    "bad_total_length",
    "bad_ip_checksum",
    "bad_ip_options",
    "source_routed",
    "l4_truncated",
    "bad_tcp_data_offset",
};

std::string_view drop_reason_name(DropReason reason) {
  auto index = std::size_t(reason);
  return index < kDropReasonNames.size() ? kDropReasonNames[index] : "unknown";
}

namespace {

std::size_t header_len_of(uint8_t version_ihl) {
  return std::size_t(version_ihl & 0x0f) * 4;
}
bool is_version4(uint8_t version_ihl) {
  return (version_ihl >> 4) == 4;
}

// IPv4 option types ip_options_compile looks into (RFC 791, RFC 2113).
constexpr uint8_t kOptionEnd = 0;
constexpr uint8_t kOptionNop = 1;
constexpr uint8_t kOptionRecordRoute = 7;
constexpr uint8_t kOptionTimestamp = 68;
constexpr uint8_t kOptionLooseSourceRoute = 131;
constexpr uint8_t kOptionCipso = 134;
constexpr uint8_t kOptionStrictSourceRoute = 137;
constexpr uint8_t kOptionRouterAlert = 148;

// Options holding a pointer into their own data (record route, timestamp, source routes): the
// pointer counts from 1 and must be at least `min_pointer`; when it says there is room left,
// the room must hold a whole 4-byte slot.
bool pointer_option_ok(std::span<const uint8_t> option, std::size_t min_length,
                       std::size_t min_pointer) {
  if (option.size() < min_length) return false;
  std::size_t pointer = option[2];
  if (pointer < min_pointer) return false;
  return pointer > option.size() || pointer + 3 <= option.size();
}

struct OptionsScan {
  DropReason problem = DropReason::None;
  bool source_routed = false;
  std::optional<std::size_t> record_route;  // offset within the options
};

OptionsScan bad_options() {
  OptionsScan scan;
  scan.problem = DropReason::BadIpOptions;
  return scan;
}

// ip_options_compile's checks on the option list (the header bytes after the first 20).
// Timestamps are checked, not filled in: vsd does not stamp them [unverified whether IPVS
// traffic with a timestamp option shows the director's stamp].
OptionsScan scan_ip_options(std::span<const uint8_t> options) {
  OptionsScan scan;
  std::size_t at = 0;
  while (at < options.size()) {
    uint8_t type = options[at];
    if (type == kOptionEnd) break;
    if (type == kOptionNop) {
      ++at;
      continue;
    }
    std::size_t left = options.size() - at;
    std::size_t length = left >= 2 ? options[at + 1] : 0;
    if (length < 2 || length > left) return bad_options();
    std::span<const uint8_t> option = options.subspan(at, length);
    bool ok = true;
    switch (type) {
      case kOptionRecordRoute:
        ok = pointer_option_ok(option, 3, 4);
        scan.record_route = at;
        break;
      case kOptionTimestamp:
        ok = pointer_option_ok(option, 4, 5);
        break;
      case kOptionLooseSourceRoute:
      case kOptionStrictSourceRoute:
        ok = pointer_option_ok(option, 3, 4) && !scan.source_routed;
        scan.source_routed = true;
        break;
      case kOptionRouterAlert:
        ok = length >= 4;
        break;
      case kOptionCipso:
        // cipso_v4_validate fails for a DOI the host has not configured: on a director, all.
        ok = false;
        break;
      default:
        break;
    }
    if (!ok) return bad_options();
    at += length;
  }
  // ip_rcv_options drops source-routed packets after compiling the options.
  if (scan.source_routed) scan.problem = DropReason::SourceRouted;
  return scan;
}

std::span<const uint8_t> options_of(std::span<const uint8_t> frame, const PacketView& packet) {
  return frame.subspan(std::size_t(packet.l3) + wire::ip::kMinHeaderLen,
                       packet.ip_header_len - wire::ip::kMinHeaderLen);
}

// ip_rcv_core's checks, in its order, and the IPv4 fields of the view.
DropReason parse_ipv4_header(std::span<const uint8_t> frame, PacketView& packet) {
  std::span<const uint8_t> ip = frame.subspan(packet.l3);
  if (ip.size() < wire::ip::kMinHeaderLen) return DropReason::Ipv4Truncated;
  uint8_t version_ihl = ip[wire::ip::kVersionIhl];
  if (!is_version4(version_ihl)) return DropReason::BadVersion;
  std::size_t header_len = header_len_of(version_ihl);
  if (header_len < wire::ip::kMinHeaderLen) return DropReason::BadHeaderLength;
  if (ip.size() < header_len) return DropReason::Ipv4Truncated;
  if (!checksum_verifies(ip.first(header_len))) return DropReason::BadIpChecksum;
  uint16_t total_len = load_be16(ip, wire::ip::kTotalLen);
  if (total_len > ip.size()) return DropReason::Ipv4Truncated;
  if (total_len < header_len) return DropReason::BadTotalLength;

  uint16_t flags_fragment = load_be16(ip, wire::ip::kFlagsFragment);
  packet.ip_header_len = uint8_t(header_len);
  packet.l4 = uint16_t(packet.l3 + header_len);
  packet.ip_total_len = total_len;
  packet.tos = ip[wire::ip::kTos];
  packet.ttl = ip[wire::ip::kTtl];
  packet.ip_id = load_be16(ip, wire::ip::kId);
  packet.protocol = ip[wire::ip::kProtocol];
  packet.dont_fragment = (flags_fragment & wire::ip::kDontFragment) != 0;
  packet.more_fragments = (flags_fragment & wire::ip::kMoreFragments) != 0;
  packet.fragment_offset = uint16_t((flags_fragment & wire::ip::kOffsetMask) * 8);
  packet.src = load_ipv4(ip, wire::ip::kSrc);
  packet.dst = load_ipv4(ip, wire::ip::kDst);
  return DropReason::None;
}

DropReason parse_tcp(std::span<const uint8_t> frame, PacketView& packet) {
  if (packet.l4_len() < wire::tcp::kMinHeaderLen) return DropReason::L4Truncated;
  std::span<const uint8_t> tcp = frame.subspan(packet.l4, packet.l4_len());
  std::size_t header_len = std::size_t(tcp[wire::tcp::kDataOffset] >> 4) * 4;
  // tcp_v4_rcv: doff below 5 is a bad packet, doff past the data cannot be pulled.
  if (header_len < wire::tcp::kMinHeaderLen || header_len > tcp.size())
    return DropReason::BadTcpDataOffset;
  packet.l4_header_len = uint8_t(header_len);
  packet.sport = load_be16(tcp, wire::tcp::kSrcPort);
  packet.dport = load_be16(tcp, wire::tcp::kDstPort);
  packet.tcp_flags = tcp[wire::tcp::kFlags];
  packet.has_l4 = true;
  return DropReason::None;
}

DropReason parse_udp(std::span<const uint8_t> frame, PacketView& packet) {
  // The UDP length field is not checked: IPVS forwards at LOCAL_IN, before udp_rcv would.
  if (packet.l4_len() < wire::udp::kHeaderLen) return DropReason::L4Truncated;
  packet.l4_header_len = uint8_t(wire::udp::kHeaderLen);
  packet.sport = load_be16(frame, packet.l4 + wire::udp::kSrcPort);
  packet.dport = load_be16(frame, packet.l4 + wire::udp::kDstPort);
  packet.has_l4 = true;
  return DropReason::None;
}

// The common header only: which chunk moves the state is the connection table's matter
// (conn/sctp_state.h), read from the frame.
DropReason parse_sctp(std::span<const uint8_t> frame, PacketView& packet) {
  if (packet.l4_len() < wire::sctp::kHeaderLen) return DropReason::L4Truncated;
  packet.l4_header_len = uint8_t(wire::sctp::kHeaderLen);
  packet.sport = load_be16(frame, packet.l4 + wire::sctp::kSrcPort);
  packet.dport = load_be16(frame, packet.l4 + wire::sctp::kDstPort);
  packet.has_l4 = true;
  return DropReason::None;
}

bool is_error_ipvs_relates(uint8_t icmp_type) {
  return icmp_type == wire::icmp::kDestUnreachable || icmp_type == wire::icmp::kSourceQuench ||
         icmp_type == wire::icmp::kTimeExceeded;
}

DropReason parse_icmp(std::span<const uint8_t> frame, PacketView& packet) {
  if (packet.l4_len() < wire::icmp::kHeaderLen) return DropReason::L4Truncated;
  packet.l4_header_len = uint8_t(wire::icmp::kHeaderLen);
  packet.icmp_type = frame[packet.l4 + wire::icmp::kType];
  packet.icmp_code = frame[packet.l4 + wire::icmp::kCode];
  packet.has_l4 = true;
  packet.is_icmp_error = is_error_ipvs_relates(packet.icmp_type);
  if (packet.is_icmp_error) {
    auto quoted = parse_quoted(frame, packet.payload_offset(), packet.l3_end());
    packet.has_quote = quoted.has_value();
    if (quoted) packet.quoted = *quoted;
  }
  return DropReason::None;
}

DropReason parse_transport(std::span<const uint8_t> frame, PacketView& packet) {
  if (packet.is_fragment()) return DropReason::None;  // reassembled first, then classified
  switch (packet.protocol) {
    case wire::ip::kProtoTcp:
      return parse_tcp(frame, packet);
    case wire::ip::kProtoUdp:
      return parse_udp(frame, packet);
    case wire::ip::kProtoSctp:
      return parse_sctp(frame, packet);
    case wire::ip::kProtoIcmp:
      return parse_icmp(frame, packet);
    default:
      return DropReason::None;  // routed as plain IPv4 by the caller (spec section 3)
  }
}

}  // namespace

Classified classify(std::span<const uint8_t> frame) {
  // One result, returned from every path, so it is built in the caller's frame: a copy of a
  // view just written field by field is read back wider than it was stored, which the CPU
  // cannot forward from its store buffer (a stall of about a dozen cycles per frame).
  Classified result;
  auto drop = [&](DropReason reason) {
    result.verdict = Verdict::Drop;
    result.drop = reason;
  };
  if (frame.size() < wire::eth::kHeaderLen) {
    drop(DropReason::Runt);
    return result;
  }
  switch (load_be16(frame, wire::eth::kType)) {
    case wire::eth::kTypeIpv4:
      break;
    case wire::eth::kTypeArp:
      result.verdict = Verdict::Arp;
      return result;
    case wire::eth::kTypeVlan:
    case wire::eth::kTypeQinQ:
      drop(DropReason::VlanTagged);
      return result;
    default:
      result.verdict = Verdict::NotIpv4;
      return result;
  }

  result.verdict = Verdict::Ipv4;
  result.packet.l3 = uint16_t(wire::eth::kHeaderLen);
  DropReason reason = parse_ipv4_header(frame, result.packet);
  if (reason == DropReason::None && result.packet.has_ip_options())
    reason = scan_ip_options(options_of(frame, result.packet)).problem;
  if (reason == DropReason::None) reason = parse_transport(frame, result.packet);
  if (reason != DropReason::None) drop(reason);
  return result;
}

std::size_t record_route_offset(std::span<const uint8_t> frame, const PacketView& packet) {
  if (!packet.has_ip_options() || packet.l4 > frame.size()) return 0;
  OptionsScan scan = scan_ip_options(options_of(frame, packet));
  if (!scan.record_route) return 0;
  return std::size_t(packet.l3) + wire::ip::kMinHeaderLen + *scan.record_route;
}

bool icmp_checksum_ok(std::span<const uint8_t> frame, const PacketView& packet) {
  if (packet.l3_end() > frame.size() || packet.l4 > packet.l3_end()) return false;
  return checksum_verifies(frame.subspan(packet.l4, packet.l4_len()));
}

bool l4_checksum_ok(std::span<const uint8_t> frame, const PacketView& packet) {
  if (packet.l3_end() > frame.size() || packet.l4 > packet.l3_end()) return false;
  const auto l4 = frame.subspan(packet.l4, packet.l4_len());
  if (packet.protocol == wire::ip::kProtoUdp && l4.size() >= 8 && load_be16(l4, 6) == 0)
    return true;
  return checksum_verifies(
      l4, pseudo_header_sum(packet.src, packet.dst, packet.protocol, uint16_t(l4.size())));
}

}  // namespace vsd::fwd
