#include "frames/sctp.h"

#include <algorithm>
#include <array>

namespace vslab::frames {
namespace {

std::array<uint32_t, 256> crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    table[n] = c;
  }
  return table;
}

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(uint8_t(v >> 8));
  b.push_back(uint8_t(v));
}

void put32(std::vector<uint8_t>& b, uint32_t v) {
  put16(b, uint16_t(v >> 16));
  put16(b, uint16_t(v));
}

constexpr std::size_t kChecksumAt = 8;

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes) {
  static const auto table = crc_table();
  uint32_t c = 0xffffffffu;
  for (uint8_t b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return ~c;
}

SctpChunk sctp_chunk(uint8_t type, uint32_t tag, const std::string& text) {
  SctpChunk chunk{type, 0, {}};
  auto& v = chunk.value;
  switch (type) {
    case sctp::kInit:
    case sctp::kInitAck:
      put32(v, tag);      // initiate tag
      put32(v, 65536);    // a_rwnd
      put16(v, 10);       // outbound streams
      put16(v, 10);       // inbound streams
      put32(v, tag + 1);  // initial TSN
      if (type == sctp::kInitAck) {
        put16(v, 7);  // state cookie parameter
        put16(v, 12);
        put32(v, 0xc00c1e5u);
        put32(v, tag);
      }
      break;
    case sctp::kCookieEcho:
      put32(v, 0xc00c1e5u);
      put32(v, tag);
      break;
    case sctp::kData:
      chunk.flags = 0x03;  // a whole message: first and last fragment
      put32(v, tag + 1);   // TSN
      put16(v, 0);         // stream
      put16(v, 0);         // stream sequence
      put32(v, 0);         // payload protocol
      v.insert(v.end(), text.begin(), text.end());
      break;
    case sctp::kSack:
      put32(v, tag + 1);  // cumulative TSN ack
      put32(v, 65536);
      put16(v, 0);
      put16(v, 0);
      break;
    case sctp::kShutdown:
      put32(v, tag + 1);
      break;
    default:
      break;
  }
  return chunk;
}

std::vector<uint8_t> sctp_packet(uint16_t sport, uint16_t dport, uint32_t verification_tag,
                                 const std::vector<SctpChunk>& chunks) {
  std::vector<uint8_t> b;
  put16(b, sport);
  put16(b, dport);
  put32(b, verification_tag);
  put32(b, 0);  // the checksum, below
  for (const auto& c : chunks) {
    b.push_back(c.type);
    b.push_back(c.flags);
    put16(b, uint16_t(4 + c.value.size()));
    b.insert(b.end(), c.value.begin(), c.value.end());
    while (b.size() % 4 != 0) b.push_back(0);
  }
  const uint32_t crc = crc32c(b);
  for (int i = 0; i < 4; ++i) b[kChecksumAt + i] = uint8_t(crc >> (8 * i));
  return b;
}

uint32_t sctp_checksum_on_wire(std::span<const uint8_t> sctp) {
  if (sctp.size() < kChecksumAt + 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(sctp[kChecksumAt + i]) << (8 * i);
  return v;
}

uint32_t sctp_checksum_of(std::span<const uint8_t> sctp) {
  std::vector<uint8_t> copy(sctp.begin(), sctp.end());
  if (copy.size() < kChecksumAt + 4) return crc32c(copy);
  std::fill_n(copy.begin() + kChecksumAt, 4, uint8_t{0});
  return crc32c(copy);
}

Tins::EthernetII sctp_frame(Tins::EthernetII eth, Tins::IP ip, std::vector<uint8_t> packet) {
  ip.protocol(kProtoSctp);
  return eth / ip / Tins::RawPDU(packet);
}

}  // namespace vslab::frames
