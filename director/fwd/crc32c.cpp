#include "fwd/crc32c.h"

#include <array>

#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82f63b78;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kReflectedPolynomial : 0);
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t crc_update(uint32_t crc, std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes) crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return crc;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes) {
  return ~crc_update(0xffffffff, bytes);
}

uint32_t sctp_checksum(std::span<const uint8_t> sctp) {
  constexpr std::size_t at = wire::sctp::kChecksum;
  if (sctp.size() < at + 4) return ~crc_update(0xffffffff, sctp);
  constexpr std::array<uint8_t, 4> zero{};
  uint32_t crc = crc_update(0xffffffff, sctp.first(at));
  crc = crc_update(crc, zero);
  crc = crc_update(crc, sctp.subspan(at + 4));
  return ~crc;
}

void store_sctp_checksum(std::span<uint8_t> sctp, uint32_t crc) {
  for (std::size_t i = 0; i < 4; ++i) sctp[wire::sctp::kChecksum + i] = uint8_t(crc >> (8 * i));
}

uint32_t load_sctp_checksum(std::span<const uint8_t> sctp) {
  uint32_t crc = 0;
  for (std::size_t i = 0; i < 4; ++i) crc |= uint32_t(sctp[wire::sctp::kChecksum + i]) << (8 * i);
  return crc;
}

}  // namespace vsd::fwd
