// A frame taken apart into named header fields, the unit in which vslab compares frames and
// prints differences. Works on any bytes: a malformed frame dissects as far as it is sound.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vslab::expect {

// Header fields in wire order. L4 fields belong to the innermost IP header (the inner one of
// an IPIP or ip6ip6 packet). Quoted* fields are the IP header and ports quoted inside an ICMP
// or ICMPv6 error message. IPv6 headers use the same fields as IPv4 where the two mean the
// same (so a mask on IpTtl covers the hop limit) under names of their own: ip6.src, ip6.hlim
// (IpTtl), ip6.tclass (IpTos), ip6.nxt (IpProto: the fixed header's next header), ip6.plen
// (IpLength); a fragment header gives ip6.frag.id (IpId), ip6.frag.offset and ip6.frag.m.
enum class Field {
  EthDst,
  EthSrc,
  EthType,
  VlanId,
  ArpOp,
  ArpSenderMac,
  ArpSenderIp,
  ArpTargetMac,
  ArpTargetIp,
  IpSrc,
  IpDst,
  IpTtl,
  IpProto,
  IpTos,
  IpFlowLabel,   // IPv6 only
  IpExtHeaders,  // IPv6 only, when it has extension headers: "frag", "hbh,frag" ...
  IpDf,
  IpMf,
  IpFragOffset,
  IpId,
  IpLength,
  IpChecksum,  // "valid" or "invalid (...)"
  IpOptions,   // IPv4 options as hex, when the header has any (IHL > 5)
  InnerIpSrc,  // IPIP: the encapsulated header
  InnerIpDst,
  InnerIpTtl,
  InnerIpProto,
  InnerIpTos,
  InnerIpFlowLabel,
  InnerIpDf,
  InnerIpMf,
  InnerIpFragOffset,
  InnerIpId,
  InnerIpLength,
  InnerIpChecksum,
  InnerIpOptions,
  SrcPort,  // TCP, UDP or SCTP
  DstPort,
  TcpFlags,  // "SYN|ACK" style
  TcpSeq,
  TcpAck,
  TcpWindow,
  TcpOptions,  // hex
  IcmpType,
  IcmpCode,
  IcmpId,          // echo request/reply
  IcmpSeq,         // echo request/reply
  IcmpNextHopMtu,  // type 3 code 4; ICMPv6 Packet Too Big
  NdTarget,        // ICMPv6 neighbour solicitation and advertisement
  NdFlags,         // "R|S|O" style, advertisement only
  NdLinkAddress,   // the source or target link-layer address option
  QuotedIpSrc,
  QuotedIpDst,
  QuotedIpTtl,
  QuotedIpProto,
  QuotedIpTos,
  QuotedIpFlowLabel,
  QuotedIpId,
  QuotedIpChecksum,  // IPv4: "valid" or "invalid (...)", when the whole header is quoted
  QuotedSrcPort,
  QuotedDstPort,
  L4Checksum,  // "valid", "zero" (UDP without checksum) or "invalid (...)"
  Payload,     // hex of the L4 payload (ICMP: after the 8-byte header)
  Malformed,   // present only when the frame could not be fully dissected: why
};

struct FieldValue {
  std::string text;                // what the diff prints
  std::optional<uint64_t> number;  // for numeric fields: ports, TTL, IDs...
  bool operator==(const FieldValue& o) const { return text == o.text; }
};

struct FieldEntry {
  Field field;
  std::string name;  // "eth.dst", "ip.ttl", "inner.ip.src", "tcp.dport", "udp.csum"...
  FieldValue value;
};

// In wire order. Never throws: what cannot be parsed ends the list with a Malformed entry.
std::vector<FieldEntry> dissect(std::span<const uint8_t> frame);

// Generic name of a field ("l4.sport" style) for messages that have no frame at hand.
std::string field_name(Field f);

}  // namespace vslab::expect
