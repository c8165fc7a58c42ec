// reply.cpp: the director's own frames. Field values follow what the kernel director sends
// (spec sections 2 and 3); each builder cites the kernel function whose output it mimics.
#include "fwd/reply.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/elements.h"
#include "fwd/wire.h"

namespace vsd::fwd {

namespace {

constexpr std::size_t kL3 = wire::eth::kHeaderLen;
constexpr std::size_t kL4 = kL3 + wire::ip::kMinHeaderLen;
constexpr std::size_t kIcmpQuoteAt = kL4 + wire::icmp::kHeaderLen;
// __icmp_send: an error fits in 576 bytes (RFC 1812 4.3.2.3), so at most 576 - 20 - 8 bytes of
// the offending packet are quoted.
constexpr std::size_t kMaxIcmpErrorLen = 576;
constexpr std::size_t kMaxQuoteLen =
    kMaxIcmpErrorLen - wire::ip::kMinHeaderLen - wire::icmp::kHeaderLen;
constexpr uint8_t kTosPrecInternetControl = 0xc0;  // IPTOS_PREC_INTERNETCONTROL
constexpr uint8_t kTosMask = 0x1e;                 // IPTOS_TOS_MASK, what RT_TOS keeps
constexpr uint8_t kEcnMask = 0x03;                 // INET_ECN_MASK
constexpr uint8_t kMaxIcmpType = 18;               // NR_ICMP_TYPES

struct ReplyIpv4 {
  uint8_t tos = 0;
  uint16_t total_len = 0;
  uint16_t id = 0;
  bool dont_fragment = false;
  uint8_t protocol = 0;
  Ipv4 src;
  Ipv4 dst;
};

// Back to the sender's next hop: the frame's source MAC.
void write_reply_eth(std::span<uint8_t> out, std::span<const uint8_t> frame, const Mac& own_mac,
                     uint16_t ether_type) {
  store_mac(out, wire::eth::kDst, load_mac(frame, wire::eth::kSrc));
  store_mac(out, wire::eth::kSrc, own_mac);
  store_be16(out, wire::eth::kType, ether_type);
}

// A header without options; TTL is net.ipv4.ip_default_ttl, as every locally built reply.
void write_ipv4_header(std::span<uint8_t> header, const ReplyIpv4& fields) {
  std::fill_n(header.begin(), wire::ip::kMinHeaderLen, uint8_t(0));
  header[wire::ip::kVersionIhl] = 0x45;
  header[wire::ip::kTos] = fields.tos;
  store_be16(header, wire::ip::kTotalLen, fields.total_len);
  store_be16(header, wire::ip::kId, fields.id);
  store_be16(header, wire::ip::kFlagsFragment, fields.dont_fragment ? wire::ip::kDontFragment : 0);
  header[wire::ip::kTtl] = wire::ip::kDefaultTtl;
  header[wire::ip::kProtocol] = fields.protocol;
  store_ipv4(header, wire::ip::kSrc, fields.src);
  store_ipv4(header, wire::ip::kDst, fields.dst);
  store_be16(header, wire::ip::kChecksum,
             ipv4_header_checksum(header.first(wire::ip::kMinHeaderLen)));
}

void set_icmp_checksum(std::span<uint8_t> message) {
  store_be16(message, wire::icmp::kChecksum, icmp_checksum(message));
}

bool is_icmp_error_type(uint8_t type) {
  // The types icmp_pointers[] marks as errors.
  return type == wire::icmp::kDestUnreachable || type == wire::icmp::kSourceQuench ||
         type == 5 /* redirect */ || type == wire::icmp::kTimeExceeded ||
         type == 12 /* parameter problem */;
}

bool is_multicast_or_broadcast(Ipv4 address) {
  return (address.value >> 28) == 0xe || address.value == 0xffffffff;
}

// Sequence space a segment occupies, which a RST+ACK acknowledges (tcp_v4_send_reset).
uint32_t sequence_length(const PacketView& packet) {
  uint32_t length = uint32_t(packet.payload_len());
  if (packet.has_tcp_flag(wire::tcp::kSyn)) ++length;
  if (packet.has_tcp_flag(wire::tcp::kFin)) ++length;
  return length;
}

void write_arp(std::span<uint8_t> arp, uint16_t operation, const Mac& sender_mac, Ipv4 sender_ip,
               const Mac& target_mac, Ipv4 target_ip) {
  store_be16(arp, wire::arp::kHardwareType, wire::arp::kHardwareEthernet);
  store_be16(arp, wire::arp::kProtocolType, wire::eth::kTypeIpv4);
  arp[wire::arp::kHardwareLen] = 6;
  arp[wire::arp::kProtocolLen] = 4;
  store_be16(arp, wire::arp::kOperation, operation);
  store_mac(arp, wire::arp::kSenderMac, sender_mac);
  store_ipv4(arp, wire::arp::kSenderIp, sender_ip);
  store_mac(arp, wire::arp::kTargetMac, target_mac);
  store_ipv4(arp, wire::arp::kTargetIp, target_ip);
}

}  // namespace

std::size_t build_tcp_reset(std::span<uint8_t> out, std::span<const uint8_t> frame,
                            const PacketView& packet, const Responder& responder) {
  if (!packet.is_tcp() || !packet.has_l4 || packet.has_tcp_flag(wire::tcp::kRst)) return 0;
  constexpr std::size_t kLength = kL4 + wire::tcp::kMinHeaderLen;
  if (out.size() < kLength) return 0;

  write_reply_eth(out, frame, responder.mac, wire::eth::kTypeIpv4);
  // The per-cpu control socket uses IP_PMTUDISC_DO, so DF, and ip_select_ident gives a DF
  // packet without a connected socket ID 0 (spec section 3: "TTL 64, DF, ID 0").
  write_ipv4_header(out.subspan(kL3, wire::ip::kMinHeaderLen),
                    {.tos = uint8_t(packet.tos & ~kEcnMask),
                     .total_len = uint16_t(kLength - kL3),
                     .id = 0,
                     .dont_fragment = true,
                     .protocol = wire::ip::kProtoTcp,
                     .src = packet.dst,
                     .dst = packet.src});

  std::span<uint8_t> tcp = out.subspan(kL4, wire::tcp::kMinHeaderLen);
  std::fill(tcp.begin(), tcp.end(), uint8_t(0));
  store_be16(tcp, wire::tcp::kSrcPort, packet.dport);
  store_be16(tcp, wire::tcp::kDstPort, packet.sport);
  if (packet.has_tcp_flag(wire::tcp::kAckFlag)) {
    store_be32(tcp, wire::tcp::kSeq, load_be32(frame, packet.l4 + wire::tcp::kAck));
    tcp[wire::tcp::kFlags] = wire::tcp::kRst;
  } else {
    uint32_t their_seq = load_be32(frame, packet.l4 + wire::tcp::kSeq);
    store_be32(tcp, wire::tcp::kAck, their_seq + sequence_length(packet));
    tcp[wire::tcp::kFlags] = wire::tcp::kRst | wire::tcp::kAckFlag;
  }
  tcp[wire::tcp::kDataOffset] = uint8_t((wire::tcp::kMinHeaderLen / 4) << 4);
  store_be16(tcp, wire::tcp::kChecksum, tcp_checksum(packet.dst, packet.src, tcp));
  return kLength;
}

std::size_t build_echo_reply(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const PacketView& packet, const Responder& responder) {
  if (!packet.is_icmp() || !packet.has_l4 || packet.icmp_type != wire::icmp::kEchoRequest) return 0;
  std::size_t icmp_len = packet.l4_len();
  std::size_t length = kL4 + icmp_len;
  if (out.size() < length) return 0;

  write_reply_eth(out, frame, responder.mac, wire::eth::kTypeIpv4);
  // icmp_reply: the ICMP socket has IP_PMTUDISC_DONT (no DF, so a fresh ID) and takes the
  // request's TOS; the source is the address the request was sent to.
  write_ipv4_header(out.subspan(kL3, wire::ip::kMinHeaderLen),
                    {.tos = packet.tos,
                     .total_len = uint16_t(wire::ip::kMinHeaderLen + icmp_len),
                     .id = responder.ip_id,
                     .dont_fragment = false,
                     .protocol = wire::ip::kProtoIcmp,
                     .src = packet.dst,
                     .dst = packet.src});
  std::span<uint8_t> icmp = out.subspan(kL4, icmp_len);
  std::copy_n(frame.begin() + packet.l4, icmp_len, icmp.begin());
  icmp[wire::icmp::kType] = wire::icmp::kEchoReply;  // code, id, sequence, data: as received
  set_icmp_checksum(icmp);
  return length;
}

bool may_send_icmp_error(std::span<const uint8_t> frame, const PacketView& packet) {
  if (packet.fragment_offset != 0) return false;
  bool frame_to_group = (frame[wire::eth::kDst] & 0x01) != 0;  // not PACKET_HOST
  if (frame_to_group || is_multicast_or_broadcast(packet.dst)) return false;
  if (packet.is_icmp() && packet.l4_len() > wire::icmp::kType) {
    uint8_t type = frame[packet.l4 + wire::icmp::kType];
    if (type > kMaxIcmpType || is_icmp_error_type(type)) return false;
  }
  return true;
}

std::size_t build_icmp_error(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const PacketView& packet, const IcmpError& error, Ipv4 source,
                             const Responder& responder) {
  if (!may_send_icmp_error(frame, packet)) return 0;
  std::size_t quote_len = std::min<std::size_t>(packet.ip_total_len, kMaxQuoteLen);
  std::size_t icmp_len = wire::icmp::kHeaderLen + quote_len;
  std::size_t length = kL4 + icmp_len;
  if (out.size() < length) return 0;

  write_reply_eth(out, frame, responder.mac, wire::eth::kTypeIpv4);
  write_ipv4_header(out.subspan(kL3, wire::ip::kMinHeaderLen),
                    {.tos = uint8_t((packet.tos & kTosMask) | kTosPrecInternetControl),
                     .total_len = uint16_t(wire::ip::kMinHeaderLen + icmp_len),
                     .id = responder.ip_id,
                     .dont_fragment = false,
                     .protocol = wire::ip::kProtoIcmp,
                     .src = source,
                     .dst = packet.src});
  std::span<uint8_t> icmp = out.subspan(kL4, icmp_len);
  icmp[wire::icmp::kType] = error.type;
  icmp[wire::icmp::kCode] = error.code;
  store_be32(icmp, wire::icmp::kRestOfHeader, error.rest_of_header);
  std::copy_n(frame.begin() + packet.l3, quote_len, out.begin() + kIcmpQuoteAt);
  if (error.quote_after_ttl_decrement) dec_ttl_at(out, kIcmpQuoteAt);
  set_icmp_checksum(icmp);
  return length;
}

std::size_t build_time_exceeded(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                const PacketView& packet, Ipv4 source, const Responder& responder) {
  IcmpError error{.type = wire::icmp::kTimeExceeded, .code = wire::icmp::kCodeTtlExceeded};
  return build_icmp_error(out, frame, packet, error, source, responder);
}

std::size_t build_port_unreachable(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                   const PacketView& packet, Ipv4 source,
                                   const Responder& responder) {
  IcmpError error{.type = wire::icmp::kDestUnreachable, .code = wire::icmp::kCodePortUnreachable};
  return build_icmp_error(out, frame, packet, error, source, responder);
}

std::size_t build_protocol_unreachable(std::span<uint8_t> out, std::span<const uint8_t> frame,
                                       const PacketView& packet, Ipv4 source,
                                       const Responder& responder) {
  IcmpError error{.type = wire::icmp::kDestUnreachable,
                  .code = wire::icmp::kCodeProtocolUnreachable};
  return build_icmp_error(out, frame, packet, error, source, responder);
}

std::size_t build_frag_needed(std::span<uint8_t> out, std::span<const uint8_t> frame,
                              const PacketView& packet, Ipv4 source, uint16_t next_hop_mtu,
                              const Responder& responder) {
  IcmpError error{.type = wire::icmp::kDestUnreachable,
                  .code = wire::icmp::kCodeFragNeeded,
                  .rest_of_header = next_hop_mtu,  // 16 unused bits, then the MTU (RFC 1191)
                  .quote_after_ttl_decrement = true};
  return build_icmp_error(out, frame, packet, error, source, responder);
}

std::optional<ArpMessage> parse_arp(std::span<const uint8_t> frame) {
  if (frame.size() < wire::eth::kHeaderLen + wire::arp::kLen) return {};
  if (load_be16(frame, wire::eth::kType) != wire::eth::kTypeArp) return {};
  std::span<const uint8_t> arp = frame.subspan(wire::eth::kHeaderLen, wire::arp::kLen);
  if (load_be16(arp, wire::arp::kHardwareType) != wire::arp::kHardwareEthernet ||
      load_be16(arp, wire::arp::kProtocolType) != wire::eth::kTypeIpv4 ||
      arp[wire::arp::kHardwareLen] != 6 || arp[wire::arp::kProtocolLen] != 4)
    return {};
  return ArpMessage{.operation = load_be16(arp, wire::arp::kOperation),
                    .sender_mac = load_mac(arp, wire::arp::kSenderMac),
                    .sender_ip = load_ipv4(arp, wire::arp::kSenderIp),
                    .target_mac = load_mac(arp, wire::arp::kTargetMac),
                    .target_ip = load_ipv4(arp, wire::arp::kTargetIp)};
}

std::size_t build_arp_reply(std::span<uint8_t> out, const ArpMessage& request, Mac own_mac) {
  constexpr std::size_t kLength = wire::eth::kHeaderLen + wire::arp::kLen;
  if (out.size() < kLength) return 0;
  store_mac(out, wire::eth::kDst, request.sender_mac);
  store_mac(out, wire::eth::kSrc, own_mac);
  store_be16(out, wire::eth::kType, wire::eth::kTypeArp);
  write_arp(out.subspan(wire::eth::kHeaderLen), wire::arp::kOpReply, own_mac, request.target_ip,
            request.sender_mac, request.sender_ip);
  return kLength;
}

std::size_t build_arp_request(std::span<uint8_t> out, Mac own_mac, Ipv4 own_ip, Ipv4 wanted) {
  constexpr std::size_t kLength = wire::eth::kHeaderLen + wire::arp::kLen;
  if (out.size() < kLength) return 0;
  store_mac(out, wire::eth::kDst, Mac::broadcast());
  store_mac(out, wire::eth::kSrc, own_mac);
  store_be16(out, wire::eth::kType, wire::eth::kTypeArp);
  write_arp(out.subspan(wire::eth::kHeaderLen), wire::arp::kOpRequest, own_mac, own_ip, Mac{},
            wanted);
  return kLength;
}

}  // namespace vsd::fwd
