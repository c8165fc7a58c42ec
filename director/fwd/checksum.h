// The Internet checksum (RFC 1071) computed from scratch, and its incremental update when a
// field changes (RFC 1624 eqn. 3), in the forms the rewrites need. Values are host-order
// numbers of the big-endian 16-bit words as they sit on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/addr.h"

namespace vsd::fwd {

// Ones-complement addition of two 16-bit values (end-around carry).
constexpr uint16_t ones_add(uint16_t a, uint16_t b) {
  uint32_t sum = uint32_t(a) + b;
  return uint16_t((sum & 0xffff) + (sum >> 16));
}

// Folded ones-complement sum of `bytes` read as big-endian 16-bit words, added to `initial`.
// An odd last byte is the high byte of a word padded with zero (RFC 1071 4.1), so when chunks
// are chained every chunk but the last must have an even length. The result is 0 only when
// every word is 0; a non-zero sum that cancels out folds to 0xffff.
uint16_t ones_sum(std::span<const uint8_t> bytes, uint16_t initial = 0);

// The checksum field value for `bytes`: ~ones_sum, with the field itself summed as zero.
uint16_t internet_checksum(std::span<const uint8_t> bytes);

// True when `bytes`, checksum field included, sum to all ones: the receiver's check.
bool checksum_verifies(std::span<const uint8_t> bytes, uint16_t initial = 0);

// Checksum of an IPv4 header (IHL*4 bytes), its checksum field taken as zero.
uint16_t ipv4_header_checksum(std::span<const uint8_t> header);

// Sum of the TCP/UDP pseudo-header: addresses, protocol and L4 length (RFC 793 3.1, RFC 768).
uint16_t pseudo_header_sum(Ipv4 src, Ipv4 dst, uint8_t protocol, uint16_t l4_length);

// TCP or UDP checksum of `segment` (header and payload) from scratch, the checksum field at
// `checksum_at` taken as zero. This is the raw value: see udp_checksum for UDP's zero rule.
uint16_t transport_checksum(Ipv4 src, Ipv4 dst, uint8_t protocol, std::span<const uint8_t> segment,
                            std::size_t checksum_at);
uint16_t tcp_checksum(Ipv4 src, Ipv4 dst, std::span<const uint8_t> segment);
// UDP sends a computed 0 as 0xffff, because 0 in the field means "no checksum" (RFC 768).
uint16_t udp_checksum(Ipv4 src, Ipv4 dst, std::span<const uint8_t> datagram);
// ICMP has no pseudo-header (RFC 792): the sum covers the ICMP message only.
uint16_t icmp_checksum(std::span<const uint8_t> message);

// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), for one 16-bit word m changing to m'. Unlike eqn. 2
// it never turns a checksum into 0xffff (a negative zero that no from-scratch sum yields), so
// the result equals a fresh computation whenever the old checksum was right, and a wrong
// checksum stays wrong by exactly the same amount (spec section 2: "stays exactly as wrong").
constexpr uint16_t checksum_update16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  return uint16_t(~ones_add(ones_add(uint16_t(~checksum), uint16_t(~old_word)), new_word));
}

// The same for a 32-bit value (an address) covered by the checksum: two words change.
constexpr uint16_t checksum_update32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  uint16_t sum = uint16_t(~checksum);
  sum = ones_add(sum, uint16_t(~uint16_t(old_value >> 16)));
  sum = ones_add(sum, uint16_t(~uint16_t(old_value)));
  sum = ones_add(sum, uint16_t(new_value >> 16));
  sum = ones_add(sum, uint16_t(new_value));
  return uint16_t(~sum);
}

// Eqn. 3 for several changed words of one checksum, HC' = ~(~HC + ~m1 + m1' + ~m2 + m2' ...):
// the checksum field is read and written once per packet, however many fields change. The
// result is the one word-by-word updates give, as ones-complement addition is associative and
// yields 0 only when every term is 0.
class ChecksumUpdate {
 public:
  constexpr void replace16(uint16_t old_word, uint16_t new_word) {
    sum_ += uint16_t(~old_word);
    sum_ += new_word;
  }
  constexpr void replace32(uint32_t old_value, uint32_t new_value) {
    replace16(uint16_t(old_value >> 16), uint16_t(new_value >> 16));
    replace16(uint16_t(old_value), uint16_t(new_value));
  }

  constexpr uint16_t applied_to(uint16_t checksum) const {
    uint32_t sum = uint32_t(uint16_t(~checksum)) + sum_;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
  }
  // UDP's rules, as udp_checksum_update16 below.
  constexpr uint16_t applied_to_udp(uint16_t checksum) const {
    if (checksum == 0) return 0;
    uint16_t updated = applied_to(checksum);
    return updated == 0 ? 0xffff : updated;
  }

 private:
  // At most a few words change per packet; each adds under 2^17, so 32 bits never overflow.
  uint32_t sum_ = 0;
};

// UDP's forms: a zero checksum (none was sent) stays zero, and an update landing on 0 is sent
// as 0xffff (kernel ip_vs_proto_udp.c udp_fast_csum_update, CSUM_MANGLED_0).
constexpr uint16_t udp_checksum_update16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  if (checksum == 0) return 0;
  uint16_t updated = checksum_update16(checksum, old_word, new_word);
  return updated == 0 ? 0xffff : updated;
}

constexpr uint16_t udp_checksum_update32(uint16_t checksum, uint32_t old_value,
                                         uint32_t new_value) {
  if (checksum == 0) return 0;
  uint16_t updated = checksum_update32(checksum, old_value, new_value);
  return updated == 0 ? 0xffff : updated;
}

}  // namespace vsd::fwd
