// SCTP's checksum: CRC32c (Castagnoli, RFC 9260 appendix A) over the whole SCTP packet with
// its checksum field taken as zero, and no pseudo-header, so that rewriting addresses leaves
// it alone and only a port change needs it computed again (ip_vs_proto_sctp.c's snat and dnat
// handlers recompute it then, from scratch, whatever it was before).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vsd::fwd {

// CRC32c of `bytes` (initial value and final xor all ones, bits reflected).
uint32_t crc32c(std::span<const uint8_t> bytes);

// The value of an SCTP packet's checksum field, `sctp` from its source port on: the CRC32c
// with the field's four bytes as zero.
uint32_t sctp_checksum(std::span<const uint8_t> sctp);

// The field is the CRC's bytes least significant first (the kernel's cpu_to_le32).
void store_sctp_checksum(std::span<uint8_t> sctp, uint32_t crc);
uint32_t load_sctp_checksum(std::span<const uint8_t> sctp);

}  // namespace vsd::fwd
