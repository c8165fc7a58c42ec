// fields.cpp: takes a frame apart by hand into named fields. Every read is preceded by a
// length check, so any bytes (truncated, lying length fields) dissect without throwing: the
// walk stops at the first thing that does not hold and says why in a Malformed entry.
#include "expect/fields.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "frames/sctp.h"

namespace vslab::expect {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr uint16_t kEthTypeIpv4 = 0x0800;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeVlan = 0x8100;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIpip = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoSctp = 132;
constexpr std::size_t kSctpHeaderSize = 12;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kExtHopByHop = 0;
constexpr uint8_t kExtRouting = 43;
constexpr uint8_t kExtFragment = 44;
constexpr uint8_t kExtDestination = 60;
constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kFragmentHeaderSize = 8;
constexpr std::size_t kEthHeaderSize = 14;
constexpr std::size_t kVlanTagSize = 4;
constexpr std::size_t kArpEthIpv4Size = 28;
constexpr std::size_t kIpv4MinHeaderSize = 20;
constexpr std::size_t kTcpMinHeaderSize = 20;
constexpr std::size_t kUdpHeaderSize = 8;
constexpr std::size_t kIcmpHeaderSize = 8;

// Big-endian reads. Callers have checked that the bytes are there.
uint16_t be16(Bytes b, std::size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t be32(Bytes b, std::size_t at) {
  return static_cast<uint32_t>(be16(b, at)) << 16 | be16(b, at + 2);
}

std::string mac_text(Bytes b) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4],
                     b[5]);
}
std::string ipv4_text(Bytes b) {
  return fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
}

std::string ipv6_text(Bytes b) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data(), text, sizeof text);
  return text;
}

std::string hex_text(Bytes b) {
  std::string hex;
  hex.reserve(b.size() * 2);
  for (uint8_t byte : b) hex += fmt::format("{:02x}", byte);
  return hex;
}

std::string payload_text(Bytes b) {
  if (b.empty()) return "0 bytes";
  return fmt::format("{} byte{}: {}", b.size(), b.size() == 1 ? "" : "s", hex_text(b));
}

std::string tcp_flags_text(uint8_t flags) {
  static constexpr std::array<const char*, 8> kNames = {"FIN", "SYN", "RST", "PSH",
                                                        "ACK", "URG", "ECE", "CWR"};
  std::string text;
  for (std::size_t bit = 0; bit < kNames.size(); ++bit) {
    if (!(flags & (1u << bit))) continue;
    if (!text.empty()) text += '|';
    text += kNames[bit];
  }
  return text.empty() ? "none" : text;
}

// RFC 1071 ones' complement sum; a trailing odd byte is padded with zero.
uint32_t add_ones_complement(Bytes b, uint32_t sum = 0) {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2) sum += be16(b, i);
  if (i < b.size()) sum += static_cast<uint32_t>(b[i]) << 8;
  return sum;
}
uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The checksum a correct sender would have written into `message` at the (even) offset
// `at`, with `pseudo_sum` the ones' complement sum of any pseudo-header.
uint16_t correct_checksum(Bytes message, std::size_t at, uint32_t pseudo_sum = 0) {
  uint32_t sum = add_ones_complement(message.first(at), pseudo_sum);
  sum = add_ones_complement(message.subspan(at + 2), sum);
  return static_cast<uint16_t>(~fold(sum));
}

std::string checksum_verdict(uint16_t on_wire, uint16_t should_be) {
  // A computed 0x0000 may go on the wire as 0xffff, its ones' complement twin (RFC 1624;
  // UDP must, RFC 768).
  bool is_valid = on_wire == should_be || (on_wire == 0xffff && should_be == 0);
  if (is_valid) return "valid";
  return fmt::format("invalid (is 0x{:04x}, should be 0x{:04x})", on_wire, should_be);
}

// What one IPv4 header of a frame is called, so the outer and the IPIP-inner header share
// one parser.
struct Ipv4Names {
  const char* what;  // for Malformed text
  Field src, dst, ttl, proto, tos, df, mf, frag_offset, id, length, checksum, options;
};
constexpr Ipv4Names kOuterIpv4 = {
    "IPv4",          Field::IpSrc,      Field::IpDst,    Field::IpTtl,        Field::IpProto,
    Field::IpTos,    Field::IpDf,       Field::IpMf,     Field::IpFragOffset, Field::IpId,
    Field::IpLength, Field::IpChecksum, Field::IpOptions};
constexpr Ipv4Names kInnerIpv4 = {
    "inner IPv4",         Field::InnerIpSrc,    Field::InnerIpDst,
    Field::InnerIpTtl,    Field::InnerIpProto,  Field::InnerIpTos,
    Field::InnerIpDf,     Field::InnerIpMf,     Field::InnerIpFragOffset,
    Field::InnerIpId,     Field::InnerIpLength, Field::InnerIpChecksum,
    Field::InnerIpOptions};

// What one IPv6 header of a frame is called (the outer, or the inner of ip6ip6 or 6in4).
struct Ipv6Names {
  const char* what;    // for Malformed text
  const char* prefix;  // "ip6", "inner.ip6"
  Field src, dst, hlim, next, tclass, flow, plen;
};
constexpr Ipv6Names kOuterIpv6 = {"IPv6",         "ip6",          Field::IpSrc, Field::IpDst,
                                  Field::IpTtl,   Field::IpProto, Field::IpTos, Field::IpFlowLabel,
                                  Field::IpLength};
constexpr Ipv6Names kInnerIpv6 = {
    "inner IPv6",        "inner.ip6",         Field::InnerIpSrc, Field::InnerIpDst,
    Field::InnerIpTtl,   Field::InnerIpProto, Field::InnerIpTos, Field::InnerIpFlowLabel,
    Field::InnerIpLength};

// One IP packet of a frame, either family, as the layers above it need it.
struct IpPacket {
  Bytes header;     // IPv4 with options; IPv6 with its extension headers
  Bytes body;       // up to the total length: Ethernet padding is not part of it
  Bytes addresses;  // source and destination, for the pseudo-header
  bool is_v6 = false;
  uint8_t protocol = 0;            // IPv6: the upper layer after the extension headers
  bool is_later_fragment = false;  // offset > 0: the body starts mid-datagram, no L4 header
  bool is_partial = false;         // a fragment: L4 checksums cover bytes not in this frame
};

class Dissector {
 public:
  std::vector<FieldEntry> run(Bytes frame) {
    ethernet(frame);
    // Parsers emit in the order they read; Field is declared in wire order and gives
    // every frame the same canonical order (Malformed last).
    std::stable_sort(entries_.begin(), entries_.end(),
                     [](const FieldEntry& a, const FieldEntry& b) { return a.field < b.field; });
    return std::move(entries_);
  }

 private:
  std::vector<FieldEntry> entries_;

  void add(Field f, std::string text, std::string name = {}) {
    if (name.empty()) name = field_name(f);
    entries_.push_back({f, std::move(name), {std::move(text), std::nullopt}});
  }
  void add_number(Field f, uint64_t n, std::string name = {}) {
    add(f, std::to_string(n), std::move(name));
    entries_.back().value.number = n;
  }
  void add_hex_number(Field f, uint64_t n, int digits) {
    add(f, fmt::format("0x{:0{}x}", n, digits));
    entries_.back().value.number = n;
  }
  void malformed(std::string why) { add(Field::Malformed, std::move(why)); }

  // Reports a too-short header; true when `b` holds `needed` bytes.
  bool has_bytes(Bytes b, std::size_t needed, std::string_view what) {
    if (b.size() >= needed) return true;
    malformed(fmt::format("truncated {}: {} of {} bytes", what, b.size(), needed));
    return false;
  }

  void ethernet(Bytes frame) {
    if (!has_bytes(frame, kEthHeaderSize, "Ethernet header")) return;
    add(Field::EthDst, mac_text(frame.subspan(0, 6)));
    add(Field::EthSrc, mac_text(frame.subspan(6, 6)));
    uint16_t type = be16(frame, 12);
    Bytes rest = frame.subspan(kEthHeaderSize);
    if (type == kEthTypeVlan) {
      if (!has_bytes(rest, kVlanTagSize, "802.1Q tag")) return;
      add_number(Field::VlanId, be16(rest, 0) & 0x0fff);
      type = be16(rest, 2);
      rest = rest.subspan(kVlanTagSize);
    }
    add_hex_number(Field::EthType, type, 4);
    switch (type) {
      case kEthTypeArp:
        arp(rest);
        break;
      case kEthTypeIpv4:
        ipv4_stack(rest);
        break;
      case kEthTypeIpv6:
        ipv6_stack(rest);
        break;
      default:  // not taken apart, but still compared
        add(Field::Payload, payload_text(rest));
    }
  }

  void arp(Bytes b) {
    if (!has_bytes(b, kArpEthIpv4Size, "ARP packet")) return;
    uint16_t hardware = be16(b, 0), protocol = be16(b, 2);
    if (hardware != 1 || protocol != kEthTypeIpv4 || b[4] != 6 || b[5] != 4) {
      malformed(fmt::format(
          "ARP for hardware type {}, protocol 0x{:04x}, address sizes {}/{} is not dissected",
          hardware, protocol, b[4], b[5]));
      return;
    }
    add_number(Field::ArpOp, be16(b, 6));
    add(Field::ArpSenderMac, mac_text(b.subspan(8, 6)));
    add(Field::ArpSenderIp, ipv4_text(b.subspan(14, 4)));
    add(Field::ArpTargetMac, mac_text(b.subspan(18, 6)));
    add(Field::ArpTargetIp, ipv4_text(b.subspan(24, 4)));
  }

  // Outer IPv4, then for IPIP the encapsulated IPv4; L4 belongs to the innermost one.
  void ipv4_stack(Bytes b) {
    std::optional<IpPacket> outer = ipv4(b, kOuterIpv4, /*inside_fragment=*/false);
    if (outer) inner_stack(*outer);
  }

  // Outer IPv6, then for ip6ip6 the encapsulated IPv6 (or IPv4: IPIP over IPv6).
  void ipv6_stack(Bytes b) {
    std::optional<IpPacket> outer = ipv6(b, kOuterIpv6, /*inside_fragment=*/false);
    if (outer) inner_stack(*outer);
  }

  void inner_stack(const IpPacket& outer) {
    std::optional<IpPacket> inner;
    if (!outer.is_later_fragment && outer.protocol == kProtoIpip)
      inner = ipv4(outer.body, kInnerIpv4, outer.is_partial);
    else if (!outer.is_later_fragment && outer.protocol == kProtoIpv6)
      inner = ipv6(outer.body, kInnerIpv6, outer.is_partial);
    else
      return transport(outer);
    if (inner) transport(*inner);
  }

  std::optional<IpPacket> ipv6(Bytes b, const Ipv6Names& names, bool inside_fragment) {
    if (!has_bytes(b, kIpv6HeaderSize, fmt::format("{} header", names.what))) return {};
    uint8_t version = b[0] >> 4;
    if (version != 6) {
      malformed(fmt::format("{} header has version {}", names.what, version));
      return {};
    }
    uint32_t first_word = be32(b, 0);
    add(names.src, ipv6_text(b.subspan(8, 16)), fmt::format("{}.src", names.prefix));
    add(names.dst, ipv6_text(b.subspan(24, 16)), fmt::format("{}.dst", names.prefix));
    add_number(names.hlim, b[7], fmt::format("{}.hlim", names.prefix));
    add_number(names.next, b[6], fmt::format("{}.nxt", names.prefix));
    add(names.tclass, fmt::format("0x{:02x}", (first_word >> 20) & 0xff),
        fmt::format("{}.tclass", names.prefix));
    entries_.back().value.number = (first_word >> 20) & 0xff;
    add(names.flow, fmt::format("0x{:05x}", first_word & 0xfffff),
        fmt::format("{}.flow", names.prefix));
    entries_.back().value.number = first_word & 0xfffff;
    std::size_t payload_length = be16(b, 4);
    add_number(names.plen, payload_length, fmt::format("{}.plen", names.prefix));

    std::size_t present = kIpv6HeaderSize + payload_length;
    if (inside_fragment) {
      present = std::min(present, b.size());
    } else if (!has_bytes(b, present, fmt::format("{} packet", names.what))) {
      return {};
    }
    Bytes packet = b.first(present);
    IpPacket ip{.header = {}, .body = {}, .addresses = b.subspan(8, 32), .is_v6 = true};
    ip.is_partial = inside_fragment;
    std::size_t at = kIpv6HeaderSize;
    uint8_t next = b[6];
    std::string chain;
    // Only the outer header's extension headers are named; an inner header's are walked.
    bool is_outer = names.src == Field::IpSrc;
    for (;;) {
      bool is_ext = next == kExtHopByHop || next == kExtRouting || next == kExtDestination ||
                    next == kExtFragment;
      if (!is_ext) break;
      if (!has_bytes(packet.subspan(at), 8, fmt::format("{} extension header", names.what)))
        return {};
      std::size_t size = next == kExtFragment ? kFragmentHeaderSize : (packet[at + 1] + 1u) * 8u;
      if (!has_bytes(packet.subspan(at), size, fmt::format("{} extension header", names.what)))
        return {};
      chain += chain.empty() ? "" : ",";
      chain += next == kExtHopByHop   ? "hbh"
               : next == kExtRouting  ? "rt"
               : next == kExtFragment ? "frag"
                                      : "dst";
      if (next == kExtFragment && is_outer) {
        uint16_t offset_and_m = be16(packet, at + 2);
        add_number(Field::IpId, be32(packet, at + 4), "ip6.frag.id");
        add_number(Field::IpFragOffset, (offset_and_m & 0xfff8u), "ip6.frag.offset");
        add_number(Field::IpMf, offset_and_m & 1u, "ip6.frag.m");
        ip.is_later_fragment = (offset_and_m & 0xfff8u) != 0;
        ip.is_partial = ip.is_partial || ip.is_later_fragment || (offset_and_m & 1u);
      }
      next = packet[at];
      at += size;
    }
    if (!chain.empty() && is_outer) add(Field::IpExtHeaders, chain, "ip6.ext");
    ip.header = packet.first(at);
    ip.body = packet.subspan(at);
    ip.protocol = next;
    return ip;
  }

  std::optional<IpPacket> ipv4(Bytes b, const Ipv4Names& names, bool inside_fragment) {
    if (!has_bytes(b, kIpv4MinHeaderSize, fmt::format("{} header", names.what))) return {};
    uint8_t version = b[0] >> 4;
    if (version != 4) {
      malformed(fmt::format("{} header has version {}", names.what, version));
      return {};
    }
    add_fixed_ipv4_fields(b, names);

    std::size_t header_size = (b[0] & 0x0f) * 4u;
    if (header_size < kIpv4MinHeaderSize) {
      malformed(fmt::format("{} header length {} (IHL {}) is below {}", names.what, header_size,
                            b[0] & 0x0f, kIpv4MinHeaderSize));
      return {};
    }
    if (!has_bytes(b, header_size, fmt::format("{} header with options", names.what))) return {};
    add(names.checksum, checksum_verdict(be16(b, 10), correct_checksum(b.first(header_size), 10)));
    // Compared as bytes: what a router writes into record route or timestamp is in them.
    if (header_size > kIpv4MinHeaderSize)
      add(names.options, hex_text(b.subspan(kIpv4MinHeaderSize, header_size - kIpv4MinHeaderSize)));

    uint16_t total_length = be16(b, 2);
    if (total_length < header_size) {
      malformed(fmt::format("{} total length {} is below its header length {}", names.what,
                            total_length, header_size));
      return {};
    }
    // A fragmented outer header leaves the inner packet short of its own total length.
    std::size_t present_length = total_length;
    if (inside_fragment) {
      present_length = std::min<std::size_t>(total_length, b.size());
    } else if (!has_bytes(b, total_length, fmt::format("{} packet", names.what))) {
      return {};
    }
    bool is_mf = b[6] & 0x20;
    bool is_later_fragment = (be16(b, 6) & 0x1fff) > 0;
    return IpPacket{.header = b.first(header_size),
                    .body = b.subspan(header_size, present_length - header_size),
                    .addresses = b.subspan(12, 8),
                    .protocol = b[9],
                    .is_later_fragment = is_later_fragment,
                    .is_partial = inside_fragment || is_mf || is_later_fragment};
  }

  // The fields of the first 20 bytes, which `b` holds.
  void add_fixed_ipv4_fields(Bytes b, const Ipv4Names& names) {
    uint16_t flags_and_offset = be16(b, 6);
    add(names.src, ipv4_text(b.subspan(12, 4)));
    add(names.dst, ipv4_text(b.subspan(16, 4)));
    add_number(names.ttl, b[8]);
    add_number(names.proto, b[9]);
    add_hex_number(names.tos, b[1], 2);
    add_number(names.df, (flags_and_offset & 0x4000) != 0);
    add_number(names.mf, (flags_and_offset & 0x2000) != 0);
    // In bytes, as tcpdump and Wireshark show it, not in the header's 8-byte units.
    add_number(names.frag_offset, (flags_and_offset & 0x1fff) * 8u);
    add_number(names.id, be16(b, 4));
    add_number(names.length, be16(b, 2));
  }

  void transport(const IpPacket& ip) {
    if (ip.is_later_fragment) {
      add(Field::Payload, payload_text(ip.body));
      return;
    }
    switch (ip.protocol) {
      case kProtoTcp:
        tcp(ip);
        break;
      case kProtoUdp:
        udp(ip);
        break;
      case kProtoSctp:
        sctp(ip);
        break;
      case kProtoIcmp:
        if (!ip.is_v6)
          icmp(ip);
        else
          add(Field::Payload, payload_text(ip.body));
        break;
      case kProtoIcmpv6:
        if (ip.is_v6)
          icmpv6(ip);
        else
          add(Field::Payload, payload_text(ip.body));
        break;
      default:
        add(Field::Payload, payload_text(ip.body));
    }
  }

  // Sum of the pseudo-header, RFC 793/768 for IPv4 and RFC 8200 8.1 for IPv6 (its length is
  // 32 bits and its protocol the upper layer's, after any extension header): the two sum alike.
  static uint32_t pseudo_header_sum(const IpPacket& ip, std::size_t l4_length) {
    uint32_t sum = add_ones_complement(ip.addresses);
    return sum + ip.protocol + static_cast<uint32_t>(l4_length >> 16) +
           static_cast<uint32_t>(l4_length & 0xffff);
  }

  // The L4 checksum of a fragment covers the whole datagram, so only its value is shown.
  // ICMP has no pseudo-header (RFC 792).
  void l4_checksum(const IpPacket& ip, Bytes message, std::size_t at, std::string name,
                   bool has_pseudo_header = true) {
    uint16_t on_wire = be16(message, at);
    if (ip.is_partial) {
      add(Field::L4Checksum, fmt::format("0x{:04x} (fragment, not verified)", on_wire),
          std::move(name));
      return;
    }
    uint32_t pseudo_sum = has_pseudo_header ? pseudo_header_sum(ip, message.size()) : 0;
    uint16_t should_be = correct_checksum(message, at, pseudo_sum);
    add(Field::L4Checksum, checksum_verdict(on_wire, should_be), std::move(name));
  }

  void tcp(const IpPacket& ip) {
    Bytes b = ip.body;
    if (!has_bytes(b, kTcpMinHeaderSize, "TCP header")) return;
    add_number(Field::SrcPort, be16(b, 0), "tcp.sport");
    add_number(Field::DstPort, be16(b, 2), "tcp.dport");
    add_number(Field::TcpSeq, be32(b, 4));
    add_number(Field::TcpAck, be32(b, 8));
    add(Field::TcpFlags, tcp_flags_text(b[13]));
    entries_.back().value.number = b[13];
    add_number(Field::TcpWindow, be16(b, 14));
    std::size_t header_size = (b[12] >> 4) * 4u;
    if (header_size < kTcpMinHeaderSize) {
      malformed(fmt::format("TCP data offset {} ({} bytes) is below {}", b[12] >> 4, header_size,
                            kTcpMinHeaderSize));
      return;
    }
    if (!has_bytes(b, header_size, "TCP header with options")) return;
    Bytes options = b.subspan(kTcpMinHeaderSize, header_size - kTcpMinHeaderSize);
    add(Field::TcpOptions, options.empty() ? "none" : hex_text(options));
    l4_checksum(ip, b, 16, "tcp.csum");
    add(Field::Payload, payload_text(b.subspan(header_size)));
  }

  void udp(const IpPacket& ip) {
    Bytes b = ip.body;
    if (!has_bytes(b, kUdpHeaderSize, "UDP header")) return;
    add_number(Field::SrcPort, be16(b, 0), "udp.sport");
    add_number(Field::DstPort, be16(b, 2), "udp.dport");
    std::size_t udp_length = be16(b, 4);
    if (ip.is_partial) {
      udp_length = b.size();  // the length field counts fragments not in this frame
    } else if (udp_length < kUdpHeaderSize) {
      malformed(
          fmt::format("UDP length {} is below its header size {}", udp_length, kUdpHeaderSize));
      return;
    } else if (udp_length > b.size()) {
      malformed(fmt::format("UDP length {} exceeds the {} bytes after the IPv4 header", udp_length,
                            b.size()));
      return;
    }
    Bytes datagram = b.first(udp_length);
    if (be16(b, 6) == 0) {
      add(Field::L4Checksum, "zero", "udp.csum");  // RFC 768: the sender computed none
    } else {
      l4_checksum(ip, datagram, 6, "udp.csum");
    }
    add(Field::Payload, payload_text(datagram.subspan(kUdpHeaderSize)));
  }

  // The common header; the chunks are the payload. The checksum is a CRC32c over the packet
  // alone (no pseudo-header), kept least significant byte first.
  void sctp(const IpPacket& ip) {
    Bytes b = ip.body;
    if (!has_bytes(b, kSctpHeaderSize, "SCTP common header")) return;
    add_number(Field::SrcPort, be16(b, 0), "sctp.sport");
    add_number(Field::DstPort, be16(b, 2), "sctp.dport");
    const uint32_t on_wire = frames::sctp_checksum_on_wire(b);
    if (ip.is_partial) {
      add(Field::L4Checksum, fmt::format("0x{:08x} (fragment, not verified)", on_wire),
          "sctp.csum");
    } else {
      const uint32_t should_be = frames::sctp_checksum_of(b);
      add(Field::L4Checksum,
          on_wire == should_be
              ? std::string("valid")
              : fmt::format("invalid (is 0x{:08x}, should be 0x{:08x})", on_wire, should_be),
          "sctp.csum");
    }
    add(Field::Payload, payload_text(b.subspan(kSctpHeaderSize)));
  }

  void icmp(const IpPacket& ip) {
    Bytes b = ip.body;
    if (!has_bytes(b, kIcmpHeaderSize, "ICMP header")) return;
    uint8_t type = b[0], code = b[1];
    add_number(Field::IcmpType, type);
    add_number(Field::IcmpCode, code);
    l4_checksum(ip, b, 2, "icmp.csum", /*has_pseudo_header=*/false);
    Bytes message = b.subspan(kIcmpHeaderSize);
    add(Field::Payload, payload_text(message));
    bool is_echo = type == 0 || type == 8;
    bool is_error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    if (is_echo) {
      add_number(Field::IcmpId, be16(b, 4));
      add_number(Field::IcmpSeq, be16(b, 6));
    }
    if (type == 3 && code == 4) add_number(Field::IcmpNextHopMtu, be16(b, 6));  // RFC 1191
    if (is_error) quoted(message);
  }

  void icmpv6(const IpPacket& ip) {
    Bytes b = ip.body;
    if (!has_bytes(b, kIcmpHeaderSize, "ICMPv6 header")) return;
    uint8_t type = b[0], code = b[1];
    add_number(Field::IcmpType, type, "icmp6.type");
    add_number(Field::IcmpCode, code, "icmp6.code");
    l4_checksum(ip, b, 2, "icmp6.csum");
    Bytes message = b.subspan(kIcmpHeaderSize);
    add(Field::Payload, payload_text(message));
    if (type == 128 || type == 129) {  // echo request and reply
      add_number(Field::IcmpId, be16(b, 4), "icmp6.id");
      add_number(Field::IcmpSeq, be16(b, 6), "icmp6.seq");
    }
    if (type == 2) add_number(Field::IcmpNextHopMtu, be32(b, 4), "icmp6.mtu");  // RFC 4443 3.2
    if (type >= 1 && type <= 4) quoted_ipv6(message);                           // errors
    if (type == 135 || type == 136) neighbour(b);
  }

  // RFC 4861 4.3 and 4.4: the target after 4 reserved (or flag) bytes, then options.
  void neighbour(Bytes b) {
    if (!has_bytes(b, 24, "neighbour discovery message")) return;
    add(Field::NdTarget, ipv6_text(b.subspan(8, 16)));
    if (b[0] == 136) {
      std::string flags;
      for (auto [bit, letter] : {std::pair{0x80, "R"}, {0x40, "S"}, {0x20, "O"}}) {
        if (!(b[4] & bit)) continue;
        flags += flags.empty() ? "" : "|";
        flags += letter;
      }
      add(Field::NdFlags, flags.empty() ? "none" : flags);
    }
    for (std::size_t at = 24; at + 2 <= b.size();) {
      std::size_t size = b[at + 1] * 8u;
      if (size == 0) {
        malformed("neighbour discovery option of length 0");
        return;
      }
      if (!has_bytes(b.subspan(at), size, "neighbour discovery option")) return;
      if ((b[at] == 1 || b[at] == 2) && size >= 8)  // source, target link-layer address
        add(Field::NdLinkAddress, mac_text(b.subspan(at + 2, 6)));
      at += size;
    }
  }

  // An ICMPv6 error quotes as much of the offending packet as fits in 1280 bytes (RFC 4443).
  void quoted_ipv6(Bytes b) {
    if (!has_bytes(b, kIpv6HeaderSize, "quoted IPv6 header")) return;
    uint32_t first_word = be32(b, 0);
    add(Field::QuotedIpSrc, ipv6_text(b.subspan(8, 16)), "quoted.ip6.src");
    add(Field::QuotedIpDst, ipv6_text(b.subspan(24, 16)), "quoted.ip6.dst");
    add_number(Field::QuotedIpTtl, b[7], "quoted.ip6.hlim");
    add_number(Field::QuotedIpProto, b[6], "quoted.ip6.nxt");
    add(Field::QuotedIpTos, fmt::format("0x{:02x}", (first_word >> 20) & 0xff),
        "quoted.ip6.tclass");
    add(Field::QuotedIpFlowLabel, fmt::format("0x{:05x}", first_word & 0xfffff), "quoted.ip6.flow");
    std::size_t at = kIpv6HeaderSize;
    uint8_t next = b[6];
    while (next == kExtHopByHop || next == kExtRouting || next == kExtDestination ||
           next == kExtFragment) {
      if (b.size() < at + 8) return;  // quoted as far as it goes
      if (next == kExtFragment && (be16(b, at + 2) & 0xfff8u) != 0) return;  // no ports
      std::size_t size = next == kExtFragment ? kFragmentHeaderSize : (b[at + 1] + 1u) * 8u;
      next = b[at];
      at += size;
    }
    if (next != kProtoTcp && next != kProtoUdp) return;
    if (!has_bytes(b, at + 4, "quoted IPv6 header and ports")) return;
    add_number(Field::QuotedSrcPort, be16(b, at));
    add_number(Field::QuotedDstPort, be16(b, at + 2));
  }

  // An ICMP error quotes the offending IPv4 header and at least 8 bytes after it (RFC 792).
  void quoted(Bytes b) {
    if (!has_bytes(b, kIpv4MinHeaderSize, "quoted IPv4 header")) return;
    add(Field::QuotedIpSrc, ipv4_text(b.subspan(12, 4)));
    add(Field::QuotedIpDst, ipv4_text(b.subspan(16, 4)));
    add_number(Field::QuotedIpTtl, b[8]);
    add_number(Field::QuotedIpProto, b[9]);
    add_hex_number(Field::QuotedIpTos, b[1], 2);
    add_number(Field::QuotedIpId, be16(b, 4));
    std::size_t header_size = (b[0] & 0x0f) * 4u;
    // A director that rewrites the quoted header owes it a fresh checksum (spec 3): a stale one
    // makes the client's stack match the error to nothing.
    if (header_size >= kIpv4MinHeaderSize && b.size() >= header_size)
      add(Field::QuotedIpChecksum,
          checksum_verdict(be16(b, 10), correct_checksum(b.first(header_size), 10)));
    bool has_ports = b[9] == kProtoTcp || b[9] == kProtoUdp || b[9] == kProtoSctp;
    bool is_first_fragment = (be16(b, 6) & 0x1fff) == 0;
    if (!has_ports || !is_first_fragment) return;
    if (header_size < kIpv4MinHeaderSize) {
      malformed(fmt::format("quoted IPv4 header length {} (IHL {}) is below {}", header_size,
                            b[0] & 0x0f, kIpv4MinHeaderSize));
      return;
    }
    if (!has_bytes(b, header_size + 4, "quoted IPv4 header and ports")) return;
    add_number(Field::QuotedSrcPort, be16(b, header_size));
    add_number(Field::QuotedDstPort, be16(b, header_size + 2));
  }
};

}  // namespace

std::vector<FieldEntry> dissect(std::span<const uint8_t> frame) {
  return Dissector().run(frame);
}

std::string field_name(Field f) {
  switch (f) {
    case Field::EthDst:
      return "eth.dst";
    case Field::EthSrc:
      return "eth.src";
    case Field::EthType:
      return "eth.type";
    case Field::VlanId:
      return "vlan.id";
    case Field::ArpOp:
      return "arp.op";
    case Field::ArpSenderMac:
      return "arp.sha";
    case Field::ArpSenderIp:
      return "arp.spa";
    case Field::ArpTargetMac:
      return "arp.tha";
    case Field::ArpTargetIp:
      return "arp.tpa";
    case Field::IpSrc:
      return "ip.src";
    case Field::IpDst:
      return "ip.dst";
    case Field::IpTtl:
      return "ip.ttl";
    case Field::IpProto:
      return "ip.proto";
    case Field::IpTos:
      return "ip.tos";
    case Field::IpFlowLabel:
      return "ip6.flow";
    case Field::IpExtHeaders:
      return "ip6.ext";
    case Field::IpDf:
      return "ip.df";
    case Field::IpMf:
      return "ip.mf";
    case Field::IpFragOffset:
      return "ip.frag";
    case Field::IpId:
      return "ip.id";
    case Field::IpLength:
      return "ip.len";
    case Field::IpChecksum:
      return "ip.csum";
    case Field::IpOptions:
      return "ip.opts";
    case Field::InnerIpSrc:
      return "inner.ip.src";
    case Field::InnerIpDst:
      return "inner.ip.dst";
    case Field::InnerIpTtl:
      return "inner.ip.ttl";
    case Field::InnerIpProto:
      return "inner.ip.proto";
    case Field::InnerIpTos:
      return "inner.ip.tos";
    case Field::InnerIpFlowLabel:
      return "inner.ip6.flow";
    case Field::InnerIpDf:
      return "inner.ip.df";
    case Field::InnerIpMf:
      return "inner.ip.mf";
    case Field::InnerIpFragOffset:
      return "inner.ip.frag";
    case Field::InnerIpId:
      return "inner.ip.id";
    case Field::InnerIpLength:
      return "inner.ip.len";
    case Field::InnerIpChecksum:
      return "inner.ip.csum";
    case Field::InnerIpOptions:
      return "inner.ip.opts";
    case Field::SrcPort:
      return "l4.sport";
    case Field::DstPort:
      return "l4.dport";
    case Field::TcpFlags:
      return "tcp.flags";
    case Field::TcpSeq:
      return "tcp.seq";
    case Field::TcpAck:
      return "tcp.ack";
    case Field::TcpWindow:
      return "tcp.win";
    case Field::TcpOptions:
      return "tcp.options";
    case Field::IcmpType:
      return "icmp.type";
    case Field::IcmpCode:
      return "icmp.code";
    case Field::IcmpId:
      return "icmp.id";
    case Field::IcmpSeq:
      return "icmp.seq";
    case Field::IcmpNextHopMtu:
      return "icmp.mtu";
    case Field::NdTarget:
      return "nd.target";
    case Field::NdFlags:
      return "nd.flags";
    case Field::NdLinkAddress:
      return "nd.lladdr";
    case Field::QuotedIpSrc:
      return "quoted.ip.src";
    case Field::QuotedIpDst:
      return "quoted.ip.dst";
    case Field::QuotedIpTtl:
      return "quoted.ip.ttl";
    case Field::QuotedIpProto:
      return "quoted.ip.proto";
    case Field::QuotedIpTos:
      return "quoted.ip.tos";
    case Field::QuotedIpFlowLabel:
      return "quoted.ip6.flow";
    case Field::QuotedIpId:
      return "quoted.ip.id";
    case Field::QuotedIpChecksum:
      return "quoted.ip.csum";
    case Field::QuotedSrcPort:
      return "quoted.sport";
    case Field::QuotedDstPort:
      return "quoted.dport";
    case Field::L4Checksum:
      return "l4.csum";
    case Field::Payload:
      return "payload";
    case Field::Malformed:
      return "malformed";
  }
  return fmt::format("field#{}", static_cast<int>(f));
}

}  // namespace vslab::expect
