#include "fwd/icmp6.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/flow_label.h"
#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr std::size_t kL3 = Packet6::kL3;
constexpr std::size_t kL4 = Packet6::kL4;
// Where the quoted packet starts, behind the error's 8-byte header.
constexpr std::size_t kQuote = kL4 + 8;

Ip6 ip6_at(std::span<const uint8_t> bytes, std::size_t at) {
  Ip6 a;
  std::copy_n(bytes.begin() + std::ptrdiff_t(at), a.size(), a.begin());
  return a;
}

void put_ip6(std::span<uint8_t> bytes, std::size_t at, const Ip6& a) {
  std::copy(a.begin(), a.end(), bytes.begin() + std::ptrdiff_t(at));
}

bool multicast(const Ip6& a) {
  return a[0] == 0xff;
}

// The Ethernet and IPv6 headers of an answer to `frame`: back to its source MAC, along `flow`
// (from its source to its destination, the label the kernel's stack gives the flow), traffic
// class `tclass`, hop limit 64.
void answer_header(std::span<uint8_t> out, std::span<const uint8_t> frame, const Mac& mac,
                   const Flow6& flow, uint8_t tclass, uint16_t payload_len) {
  store_mac(out, wire::eth::kDst, load_mac(frame, wire::eth::kSrc));
  store_mac(out, wire::eth::kSrc, mac);
  store_be16(out, wire::eth::kType, wire::eth::kTypeIpv6);
  store_be32(out, kL3, ipv6_first_word(tclass, flow));
  store_be16(out, kL3 + wire6::kPayloadLen, payload_len);
  out[kL3 + wire6::kNextHeader] = flow.next_header;
  out[kL3 + wire6::kHopLimit] = 64;
  put_ip6(out, kL3 + wire6::kSrc, flow.src);
  put_ip6(out, kL3 + wire6::kDst, flow.dst);
}

// The checksum of the TCP, UDP or ICMPv6 message of `length` bytes at kL4 under the frame's
// own addresses, its field at `field` (from kL4) taken as zero, written in.
void write_l4_checksum(std::span<uint8_t> frame, uint8_t next_header, std::size_t length,
                       std::size_t field) {
  store_be16(frame, kL4 + field, 0);
  const uint16_t pseudo =
      pseudo_header_sum6(ip6_at(frame, kL3 + wire6::kSrc), ip6_at(frame, kL3 + wire6::kDst),
                         next_header, uint32_t(length));
  store_be16(frame, kL4 + field, uint16_t(~ones_sum(frame.subspan(kL4, length), pseudo)));
}

void forward_error(std::span<uint8_t> frame, const Packet6& p, const Mac& from) {
  frame[kL3 + wire6::kHopLimit]--;
  store_mac(frame, wire::eth::kSrc, from);
  write_l4_checksum(frame, wire6::kProtoIcmp6, p.payload_len, 2);
}

// The error from `from_end` to `to_end` quoting `to_end` -> `from_end`: what the receiver sent
// on its side of the connection, coming back from where it sent it.
void rewrite_both_ends(std::span<uint8_t> frame, const Packet6& p, const Address6& from_end,
                       const Address6& to_end, const Mac& from) {
  put_ip6(frame, kL3 + wire6::kSrc, from_end.addr);
  put_ip6(frame, kL3 + wire6::kDst, to_end.addr);
  put_ip6(frame, kQuote + wire6::kSrc, to_end.addr);
  put_ip6(frame, kQuote + wire6::kDst, from_end.addr);
  store_be16(frame, kQuote + wire6::kHeaderLen, to_end.port);
  store_be16(frame, kQuote + wire6::kHeaderLen + 2, from_end.port);
  forward_error(frame, p, from);
}

}  // namespace

bool may_send_icmp6_error(const Packet6& p) {
  if (p.is_icmp() && is_icmp6_error(p.icmp_type)) return false;
  return !multicast(p.dst) && !multicast(p.src) && p.src != Ip6{};
}

std::size_t build_icmp6_error(std::span<uint8_t> out, std::span<const uint8_t> frame,
                              const Packet6& p, uint8_t type, uint8_t code, uint32_t rest,
                              const Ip6& source, const Mac& mac) {
  const std::size_t room = icmp6::kMaxError - wire6::kHeaderLen - 8;
  const std::size_t quoted = std::min(p.l3_end() - kL3, room);
  const std::size_t length = 8 + quoted;
  if (out.size() < kL4 + length) return 0;
  const Flow6 flow{source, p.src, wire6::kProtoIcmp6, 0, icmp6_flow_port(type, code)};
  answer_header(out, frame, mac, flow, 0, uint16_t(length));
  out[kL4] = type;
  out[kL4 + 1] = code;
  store_be32(out, kL4 + 4, rest);
  std::copy_n(frame.begin() + std::ptrdiff_t(kL3), quoted, out.begin() + std::ptrdiff_t(kQuote));
  write_l4_checksum(out, wire6::kProtoIcmp6, length, 2);
  return kL4 + length;
}

std::size_t build_tcp_reset6(std::span<uint8_t> out, std::span<const uint8_t> frame,
                             const Packet6& p, const Mac& mac) {
  if (!p.is_tcp() || (p.tcp_flags & wire::tcp::kRst)) return 0;
  constexpr std::size_t kSegment = 20;
  if (out.size() < kL4 + kSegment) return 0;
  const uint8_t tclass = uint8_t(load_be32(frame, kL3) >> 20) & 0xfc;
  answer_header(out, frame, mac, {p.dst, p.src, 6, p.dport, p.sport}, tclass, kSegment);
  std::fill_n(out.begin() + std::ptrdiff_t(kL4), kSegment, 0);
  store_be16(out, kL4 + wire::tcp::kSrcPort, p.dport);
  store_be16(out, kL4 + wire::tcp::kDstPort, p.sport);
  out[kL4 + wire::tcp::kDataOffset] = 5 << 4;
  if (p.tcp_flags & wire::tcp::kAckFlag) {
    store_be32(out, kL4 + wire::tcp::kSeq, load_be32(frame, p.l4_at + wire::tcp::kAck));
    out[kL4 + wire::tcp::kFlags] = wire::tcp::kRst;
  } else {
    const std::size_t header = std::size_t(frame[p.l4_at + wire::tcp::kDataOffset] >> 4) * 4;
    const std::size_t data = p.upper_len() > header ? p.upper_len() - header : 0;
    const uint32_t ack = load_be32(frame, p.l4_at + wire::tcp::kSeq) + uint32_t(data) +
                         ((p.tcp_flags & wire::tcp::kSyn) ? 1 : 0) +
                         ((p.tcp_flags & wire::tcp::kFin) ? 1 : 0);
    store_be32(out, kL4 + wire::tcp::kAck, ack);
    out[kL4 + wire::tcp::kFlags] = wire::tcp::kRst | wire::tcp::kAckFlag;
  }
  write_l4_checksum(out, 6, kSegment, wire::tcp::kChecksum);
  return kL4 + kSegment;
}

std::optional<Quote6> parse_quote6(std::span<const uint8_t> frame, const Packet6& p) {
  if (!p.is_icmp() || !is_icmp6_error(p.icmp_type)) return std::nullopt;
  // The quoted header and the first 8 bytes behind it: its ports.
  if (p.l3_end() < kQuote + wire6::kHeaderLen + 8) return std::nullopt;
  if ((frame[kQuote] >> 4) != 6) return std::nullopt;
  Quote6 q;
  q.next_header = frame[kQuote + wire6::kNextHeader];
  if (q.next_header != 6 && q.next_header != 17) return std::nullopt;
  q.src = ip6_at(frame, kQuote + wire6::kSrc);
  q.dst = ip6_at(frame, kQuote + wire6::kDst);
  q.sport = load_be16(frame, kQuote + wire6::kHeaderLen);
  q.dport = load_be16(frame, kQuote + wire6::kHeaderLen + 2);
  return q;
}

void nat_icmp6_in(std::span<uint8_t> frame, const Packet6& p, const Ip6& rip, uint16_t rport,
                  const Mac& from) {
  put_ip6(frame, kL3 + wire6::kDst, rip);
  put_ip6(frame, kQuote + wire6::kSrc, rip);
  store_be16(frame, kQuote + wire6::kHeaderLen, rport);
  forward_error(frame, p, from);
}

void nat_icmp6_out(std::span<uint8_t> frame, const Packet6& p, const Ip6& vip, uint16_t vport,
                   const Mac& from) {
  put_ip6(frame, kL3 + wire6::kSrc, vip);
  put_ip6(frame, kQuote + wire6::kDst, vip);
  store_be16(frame, kQuote + wire6::kHeaderLen + 2, vport);
  forward_error(frame, p, from);
}

void fullnat_icmp6_in(std::span<uint8_t> frame, const Packet6& p, const Address6& local,
                      const Address6& real_server, const Mac& from) {
  rewrite_both_ends(frame, p, local, real_server, from);
}

void fullnat_icmp6_out(std::span<uint8_t> frame, const Packet6& p, const Address6& virtual_service,
                       const Address6& client, const Mac& from) {
  rewrite_both_ends(frame, p, virtual_service, client, from);
}

}  // namespace vsd::fwd
