// Header layouts on the wire: field offsets and constants for Ethernet, ARP (RFC 826), IPv4
// (RFC 791), ICMP (RFC 792), UDP (RFC 768) and TCP (RFC 793). Offsets count from the start of
// their own header.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vsd::fwd::wire {

namespace eth {
inline constexpr std::size_t kDst = 0;
inline constexpr std::size_t kSrc = 6;
inline constexpr std::size_t kType = 12;
inline constexpr std::size_t kHeaderLen = 14;
inline constexpr uint16_t kTypeIpv4 = 0x0800;
inline constexpr uint16_t kTypeArp = 0x0806;
inline constexpr uint16_t kTypeIpv6 = 0x86dd;
inline constexpr uint16_t kTypeVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kTypeQinQ = 0x88a8;  // 802.1ad
}  // namespace eth

namespace arp {
inline constexpr std::size_t kHardwareType = 0;
inline constexpr std::size_t kProtocolType = 2;
inline constexpr std::size_t kHardwareLen = 4;
inline constexpr std::size_t kProtocolLen = 5;
inline constexpr std::size_t kOperation = 6;
inline constexpr std::size_t kSenderMac = 8;
inline constexpr std::size_t kSenderIp = 14;
inline constexpr std::size_t kTargetMac = 18;
inline constexpr std::size_t kTargetIp = 24;
inline constexpr std::size_t kLen = 28;  // Ethernet/IPv4 ARP
inline constexpr uint16_t kHardwareEthernet = 1;
inline constexpr uint16_t kOpRequest = 1;
inline constexpr uint16_t kOpReply = 2;
}  // namespace arp

namespace ip {
inline constexpr std::size_t kVersionIhl = 0;
inline constexpr std::size_t kTos = 1;
inline constexpr std::size_t kTotalLen = 2;
inline constexpr std::size_t kId = 4;
inline constexpr std::size_t kFlagsFragment = 6;
inline constexpr std::size_t kTtl = 8;
inline constexpr std::size_t kProtocol = 9;
inline constexpr std::size_t kChecksum = 10;
inline constexpr std::size_t kSrc = 12;
inline constexpr std::size_t kDst = 16;
inline constexpr std::size_t kMinHeaderLen = 20;
inline constexpr std::size_t kMaxHeaderLen = 60;
inline constexpr uint16_t kDontFragment = 0x4000;
inline constexpr uint16_t kMoreFragments = 0x2000;
inline constexpr uint16_t kOffsetMask = 0x1fff;  // in units of 8 bytes
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoSctp = 132;
inline constexpr uint8_t kDefaultTtl = 64;  // Linux net.ipv4.ip_default_ttl
inline constexpr uint16_t kMinMtu = 68;     // RFC 791: every host must take 68 bytes unfragmented
}  // namespace ip

namespace icmp {
inline constexpr std::size_t kType = 0;
inline constexpr std::size_t kCode = 1;
inline constexpr std::size_t kChecksum = 2;
inline constexpr std::size_t kRestOfHeader = 4;  // echo id+sequence, or unused+next-hop MTU
inline constexpr std::size_t kHeaderLen = 8;
inline constexpr uint8_t kEchoReply = 0;
inline constexpr uint8_t kDestUnreachable = 3;
inline constexpr uint8_t kSourceQuench = 4;
inline constexpr uint8_t kEchoRequest = 8;
inline constexpr uint8_t kTimeExceeded = 11;
inline constexpr uint8_t kCodeProtocolUnreachable = 2;
inline constexpr uint8_t kCodePortUnreachable = 3;
inline constexpr uint8_t kCodeFragNeeded = 4;
inline constexpr uint8_t kCodeTtlExceeded = 0;
inline constexpr uint8_t kCodeFragmentReassemblyTime = 1;
}  // namespace icmp

namespace udp {
inline constexpr std::size_t kSrcPort = 0;
inline constexpr std::size_t kDstPort = 2;
inline constexpr std::size_t kLength = 4;
inline constexpr std::size_t kChecksum = 6;
inline constexpr std::size_t kHeaderLen = 8;
}  // namespace udp

// RFC 9260: a 12-byte common header, then chunks of type, flags and a 16-bit length that
// counts the chunk's own 4-byte header and not its padding to a multiple of 4.
namespace sctp {
inline constexpr std::size_t kSrcPort = 0;
inline constexpr std::size_t kDstPort = 2;
inline constexpr std::size_t kVerificationTag = 4;
inline constexpr std::size_t kChecksum = 8;  // CRC32c, little-endian on the wire
inline constexpr std::size_t kHeaderLen = 12;
inline constexpr std::size_t kChunkHeaderLen = 4;
}  // namespace sctp

namespace tcp {
inline constexpr std::size_t kSrcPort = 0;
inline constexpr std::size_t kDstPort = 2;
inline constexpr std::size_t kSeq = 4;
inline constexpr std::size_t kAck = 8;
inline constexpr std::size_t kDataOffset = 12;  // high nibble, in 32-bit words
inline constexpr std::size_t kFlags = 13;
inline constexpr std::size_t kWindow = 14;
inline constexpr std::size_t kChecksum = 16;
inline constexpr std::size_t kUrgent = 18;
inline constexpr std::size_t kMinHeaderLen = 20;
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAckFlag = 0x10;
inline constexpr uint8_t kUrg = 0x20;
}  // namespace tcp

}  // namespace vsd::fwd::wire
