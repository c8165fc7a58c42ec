// Test-only helpers for the fwd tests: the addresses of a small LVS topology, libtins frame
// builders, and a plain reference checksum independent of checksum.cpp, so a test can check
// "valid" by recomputing from scratch. Not linked into vsd_fwd.
#pragma once

#include <tins/tins.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fwd/packet.h"
#include "fwd/reply.h"
#include "fwd/wire.h"
#include "net/addr.h"

namespace vsd::fwd::testing {

using Bytes = std::vector<uint8_t>;

// Topology (spec section 1): client CIP, service VIP, director DIP/LIP, real server RIP.
inline const std::string kCip = "10.0.0.2";
inline const std::string kVip = "10.0.0.100";
inline const std::string kDip = "192.168.1.1";
inline const std::string kLip = "192.168.1.2";
inline const std::string kRip = "192.168.1.11";
inline const std::string kClientMac = "02:00:00:00:00:01";
inline const std::string kDirectorExtMac = "02:00:00:00:00:fe";
inline const std::string kDirectorIntMac = "02:00:00:00:01:fe";
inline const std::string kRsMac = "02:00:00:00:01:0b";
inline const std::string kRouterMac = "02:00:00:00:00:99";

inline Ipv4 ip(const std::string& text) {
  return *Ipv4::parse(text);
}
inline Mac mac(const std::string& text) {
  return *Mac::parse(text);
}

// Serialises without the padding libtins adds up to Ethernet's 60 bytes: veth and AF_PACKET
// deliver frames unpadded, and a test that cuts a frame short must cut the packet itself.
inline Bytes serialize(Tins::PDU& pdu) {
  Bytes bytes = pdu.serialize();
  bool is_ipv4 = bytes.size() >= 18 && bytes[12] == 0x08 && bytes[13] == 0x00;
  if (is_ipv4) bytes.resize(std::min(bytes.size(), 14 + std::size_t(bytes[16] << 8 | bytes[17])));
  return bytes;
}

inline Tins::EthernetII parse(const Bytes& frame) {
  return Tins::EthernetII(frame.data(), uint32_t(frame.size()));
}

inline std::span<uint8_t> span_of(Bytes& bytes) {
  return {bytes.data(), bytes.size()};
}

inline Bytes payload_bytes(std::size_t length, uint8_t seed = 1) {
  Bytes payload(length);
  for (std::size_t i = 0; i < length; ++i) payload[i] = uint8_t(seed + i * 7);
  return payload;
}

// An IPv4 header as a client stack sends it: TTL 64, DF, ID 0x1234, TOS 0.
inline Tins::IP ipv4(const std::string& src, const std::string& dst, uint8_t ttl = 64) {
  Tins::IP header(dst, src);
  header.ttl(ttl);
  header.id(0x1234);
  header.flags(Tins::IP::DONT_FRAGMENT);
  header.tos(0);
  return header;
}

// A record-route option with room for one address: type 7, length 7, pointer 4 (RFC 791).
inline Tins::IP::option record_route_option() {
  static const uint8_t data[] = {4, 0, 0, 0, 0};
  return Tins::IP::option(Tins::IP::option_identifier(7), std::begin(data), std::end(data));
}

inline Tins::EthernetII ethernet(const std::string& src, const std::string& dst) {
  return Tins::EthernetII(dst, src);
}

inline Tins::TCP tcp(uint16_t sport, uint16_t dport, uint16_t flags, uint32_t seq = 1000,
                     uint32_t ack = 0) {
  Tins::TCP segment(dport, sport);
  segment.flags(flags);
  segment.seq(seq);
  segment.ack_seq(ack);
  segment.window(64240);
  return segment;
}

// Reads a big-endian 16-bit value.
inline uint16_t be16(const Bytes& bytes, std::size_t at) {
  return uint16_t(bytes.at(at) << 8 | bytes.at(at + 1));
}

inline void put_be16(Bytes& bytes, std::size_t at, uint16_t value) {
  bytes.at(at) = uint8_t(value >> 8);
  bytes.at(at + 1) = uint8_t(value);
}

// RFC 1071 written out the plain way: a 32-bit accumulator of 16-bit words, folded at the end.
inline uint16_t reference_sum(const Bytes& bytes, std::size_t from, std::size_t length,
                              uint32_t start = 0) {
  uint32_t sum = start;
  for (std::size_t i = 0; i < length; i += 2) {
    uint32_t high = bytes.at(from + i);
    uint32_t low = i + 1 < length ? bytes.at(from + i + 1) : 0;
    sum += high << 8 | low;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

inline uint32_t pseudo_header_words(const Bytes& frame, std::size_t l3, uint8_t protocol,
                                    std::size_t l4_length) {
  uint32_t sum = 0;
  for (std::size_t at = l3 + 12; at < l3 + 20; at += 2) sum += be16(frame, at);
  return sum + protocol + uint32_t(l4_length);
}

inline std::size_t ip_header_len(const Bytes& frame, std::size_t l3 = 14) {
  return std::size_t(frame.at(l3) & 0x0f) * 4;
}

inline std::size_t ip_total_len(const Bytes& frame, std::size_t l3 = 14) {
  return be16(frame, l3 + 2);
}

// The receiver's check: the header, checksum included, sums to all ones.
inline bool ip_checksum_valid(const Bytes& frame, std::size_t l3 = 14) {
  return reference_sum(frame, l3, ip_header_len(frame, l3)) == 0xffff;
}

// The TCP/UDP verification sum (pseudo-header + segment, checksum included): 0xffff when the
// checksum is right; anything else measures how wrong it is.
inline uint16_t l4_residual(const Bytes& frame, std::size_t l3 = 14) {
  std::size_t l4 = l3 + ip_header_len(frame, l3);
  std::size_t l4_length = ip_total_len(frame, l3) - ip_header_len(frame, l3);
  uint8_t protocol = frame.at(l3 + 9);
  return reference_sum(frame, l4, l4_length, pseudo_header_words(frame, l3, protocol, l4_length));
}

inline bool l4_checksum_valid(const Bytes& frame, std::size_t l3 = 14) {
  return l4_residual(frame, l3) == 0xffff;
}

inline bool icmp_checksum_valid(const Bytes& frame, std::size_t l3 = 14) {
  std::size_t l4 = l3 + ip_header_len(frame, l3);
  return reference_sum(frame, l4, ip_total_len(frame, l3) - ip_header_len(frame, l3)) == 0xffff;
}

// Rewrites a TCP/UDP checksum from scratch: libtins 4.0 gets TCP's wrong when the IP header
// carries options.
inline void fix_l4_checksum(Bytes& frame, std::size_t l3 = 14) {
  std::size_t l4 = l3 + ip_header_len(frame, l3);
  std::size_t at = l4 + (frame.at(l3 + 9) == 6 ? 16 : 6);
  put_be16(frame, at, 0);
  put_be16(frame, at, uint16_t(~l4_residual(frame, l3)));
}

inline uint32_t be32(const Bytes& bytes, std::size_t at) {
  return uint32_t(be16(bytes, at)) << 16 | be16(bytes, at + 2);
}

inline void fix_ip_checksum(Bytes& frame, std::size_t l3 = 14) {
  put_be16(frame, l3 + 10, 0);
  put_be16(frame, l3 + 10, uint16_t(~reference_sum(frame, l3, ip_header_len(frame, l3))));
}

// What `mac` answers the director's "who has `address`?" with: a data plane handed it
// learns the neighbour.
inline Bytes arp_reply(Mac director, const std::string& director_ip, const std::string& address,
                       Mac mac) {
  ArpMessage request{wire::arp::kOpRequest, director, ip(director_ip), Mac{}, ip(address)};
  Bytes frame(64);
  frame.resize(build_arp_reply(frame, request, mac));
  return frame;
}

// `mac` at `address` asking "who has `director_ip`?": a data plane handed it learns the
// neighbour unasked, as the kernel learns from a request that names it (an unsolicited reply
// would teach it nothing).
inline Bytes arp_request_from(Mac mac, const std::string& address, const std::string& director_ip) {
  Bytes frame(64);
  frame.resize(build_arp_request(frame, mac, ip(address), ip(director_ip)));
  return frame;
}

// The bytes of an IP packet cut to what an ICMP error quotes: header + 8 bytes.
inline Bytes quote_of(Tins::PDU& packet, std::size_t length = 28) {
  Bytes bytes = packet.serialize();
  bytes.resize(length);
  return bytes;
}

// An Ethernet frame carrying an ICMP error from `src` to `dst` that quotes `quoted`, as a
// real server's stack sends it (icmp_send: TOS 0xc0, TTL 64, no DF).
inline Bytes icmp_error_frame(const std::string& eth_src, const std::string& eth_dst,
                              const std::string& src, const std::string& dst, uint8_t type,
                              uint8_t code, const Bytes& quoted, uint32_t rest = 0) {
  Tins::IP header(dst, src);
  header.ttl(64);
  header.id(0x4321);
  header.tos(0xc0);
  Tins::ICMP icmp{Tins::ICMP::Flags(type)};
  icmp.code(code);
  auto frame = Tins::EthernetII(eth_dst, eth_src) / header / icmp / Tins::RawPDU(quoted);
  Bytes bytes = serialize(frame);
  // The 4 bytes after the checksum: libtins has no setter for all of them at once.
  std::size_t l4 = 34;
  for (int i = 0; i < 4; ++i) bytes.at(l4 + 4 + i) = uint8_t(rest >> (24 - 8 * i));
  put_be16(bytes, l4 + 2, 0);
  put_be16(bytes, l4 + 2, uint16_t(~reference_sum(bytes, l4, bytes.size() - l4)));
  return bytes;
}

inline Classified classify_bytes(const Bytes& frame) {
  return classify(std::span<const uint8_t>(frame.data(), frame.size()));
}

// Classifies a frame the test knows is a good IPv4 packet.
inline PacketView view_of(const Bytes& frame) {
  Classified result = classify_bytes(frame);
  if (result.verdict != Verdict::Ipv4) throw std::runtime_error("test frame does not classify");
  return result.packet;
}

// A UDP datagram over IPv6 from fd00:10::2:40001 to fd00:20::100:53 with `data_len` bytes of
// data, its checksum right, and `extensions` (each a type and its whole header bytes, next
// header and length fields included; the next header fields are filled in) between the fixed
// header and UDP. libtins writes the packet without them; they are spliced in after, which
// leaves the UDP checksum right (the pseudo-header does not count extension headers).
struct Extension6 {
  uint8_t type = 0;
  Bytes bytes;
};
inline Extension6 pad_extension(uint8_t type) {
  return {type, {0, 0, 1, 4, 0, 0, 0, 0}};  // one PadN option of four zero bytes
}
inline Extension6 routing_extension() {
  return {43, {0, 0, 0, 0, 0, 0, 0, 0}};  // type 0, segments left 0, no addresses
}
inline Bytes udp6_datagram(std::size_t data_len, const std::vector<Extension6>& extensions = {}) {
  auto frame = ethernet(kClientMac, kDirectorExtMac) /
               Tins::IPv6(Tins::IPv6Address("fd00:20::100"), Tins::IPv6Address("fd00:10::2")) /
               Tins::UDP(53, 40001) / Tins::RawPDU(payload_bytes(data_len));
  Bytes out = serialize(frame);
  constexpr std::size_t kL3 = 14, kL4 = kL3 + 40;
  std::size_t names = kL3 + 6, at = kL4, added = 0;
  for (const auto& e : extensions) {
    Bytes header = e.bytes;
    header[0] = out[names];  // what came next, for now
    out[names] = e.type;
    out.insert(out.begin() + std::ptrdiff_t(at), header.begin(), header.end());
    names = at;
    at += header.size();
    added += header.size();
  }
  put_be16(out, kL3 + 4, uint16_t(be16(out, kL3 + 4) + added));
  return out;
}

}  // namespace vsd::fwd::testing
