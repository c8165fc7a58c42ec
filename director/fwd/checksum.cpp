// checksum.cpp: the from-scratch sums. The per-packet rewrites use the incremental updates in
// checksum.h; these serve the frames the director builds itself and ICMP's quoted headers.
#include "fwd/checksum.h"

#include <cstring>

#include "fwd/wire.h"

namespace vsd::fwd {

namespace {

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

// a + b with the carry out of bit 63 added back in. 2^64 is 1 modulo 0xffff, as 2^16 is, so
// this is the ones-complement sum of all the 16-bit words in both; it is 0 only when both are.
uint64_t add_end_around(uint64_t a, uint64_t b) {
  uint64_t sum = a + b;
  return sum + (sum < b);
}

// Sums everything but the 16-bit field at `skip_at`, an even offset, so the words after the
// field keep their alignment.
uint16_t ones_sum_without_field(std::span<const uint8_t> bytes, std::size_t skip_at,
                                uint16_t initial) {
  if (skip_at + 2 > bytes.size()) return ones_sum(bytes, initial);
  uint16_t before = ones_sum(bytes.first(skip_at), initial);
  return ones_sum(bytes.subspan(skip_at + 2), before);
}

// Adds the next word and steps over it, when that many bytes are left.
template <class Word>
void add_word(uint64_t& sum, const uint8_t*& at, std::size_t& left) {
  if (left < sizeof(Word)) return;
  Word word;
  std::memcpy(&word, at, sizeof word);
  sum = add_end_around(sum, word);
  at += sizeof word;
  left -= sizeof word;
}

}  // namespace

// Eight bytes at a time in the machine's order: the ones-complement sum does not depend on
// byte order except for a swap of its two bytes (RFC 1071 2(B)), undone at the end. An odd
// last byte is the first byte of a word, the low one in this order.
uint16_t ones_sum(std::span<const uint8_t> bytes, uint16_t initial) {
  const uint8_t* at = bytes.data();
  std::size_t left = bytes.size();
  uint64_t sum = __builtin_bswap16(initial);
  while (left >= sizeof(uint64_t)) add_word<uint64_t>(sum, at, left);
  add_word<uint32_t>(sum, at, left);
  add_word<uint16_t>(sum, at, left);
  if (left == 1) sum = add_end_around(sum, *at);
  return __builtin_bswap16(fold(sum));
}

uint16_t internet_checksum(std::span<const uint8_t> bytes) {
  return uint16_t(~ones_sum(bytes));
}

bool checksum_verifies(std::span<const uint8_t> bytes, uint16_t initial) {
  return ones_sum(bytes, initial) == 0xffff;
}

uint16_t ipv4_header_checksum(std::span<const uint8_t> header) {
  return uint16_t(~ones_sum_without_field(header, wire::ip::kChecksum, 0));
}

uint16_t pseudo_header_sum(Ipv4 src, Ipv4 dst, uint8_t protocol, uint16_t l4_length) {
  uint64_t sum = (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) +
                 (dst.value & 0xffff) + protocol + l4_length;
  return fold(sum);
}

uint16_t transport_checksum(Ipv4 src, Ipv4 dst, uint8_t protocol, std::span<const uint8_t> segment,
                            std::size_t checksum_at) {
  uint16_t pseudo = pseudo_header_sum(src, dst, protocol, uint16_t(segment.size()));
  return uint16_t(~ones_sum_without_field(segment, checksum_at, pseudo));
}

uint16_t tcp_checksum(Ipv4 src, Ipv4 dst, std::span<const uint8_t> segment) {
  return transport_checksum(src, dst, wire::ip::kProtoTcp, segment, wire::tcp::kChecksum);
}

uint16_t udp_checksum(Ipv4 src, Ipv4 dst, std::span<const uint8_t> datagram) {
  uint16_t sum = transport_checksum(src, dst, wire::ip::kProtoUdp, datagram, wire::udp::kChecksum);
  return sum == 0 ? 0xffff : sum;
}

uint16_t icmp_checksum(std::span<const uint8_t> message) {
  return uint16_t(~ones_sum_without_field(message, wire::icmp::kChecksum, 0));
}

}  // namespace vsd::fwd
