// A frame taken apart into named header fields, the unit in which vslab compares frames and
// prints differences. Works on any bytes: a malformed frame dissects as far as it is sound.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vslab::expect {

// Header fields in wire order. L4 fields belong to the innermost IPv4 header (the inner one
// of an IPIP packet). Quoted* fields are the IPv4 header and ports quoted inside an ICMP
// error message.
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
  IpDf,
  IpMf,
  IpFragOffset,
  IpId,
  IpLength,
  IpChecksum,  // "valid" or "invalid (...)"
  InnerIpSrc,  // IPIP: the encapsulated header
  InnerIpDst,
  InnerIpTtl,
  InnerIpProto,
  InnerIpTos,
  InnerIpDf,
  InnerIpMf,
  InnerIpFragOffset,
  InnerIpId,
  InnerIpLength,
  InnerIpChecksum,
  SrcPort,  // TCP or UDP
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
  IcmpNextHopMtu,  // type 3 code 4
  QuotedIpSrc,
  QuotedIpDst,
  QuotedIpTtl,
  QuotedIpProto,
  QuotedIpTos,
  QuotedIpId,
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
