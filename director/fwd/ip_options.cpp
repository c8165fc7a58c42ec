#include "fwd/ip_options.h"

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr uint8_t kEnd = 0, kNop = 1, kRecordRoute = 7, kTimestamp = 68;
constexpr uint8_t kTimeOnly = 0, kAddressAndTime = 1, kPrespecified = 3;

void store32(std::span<uint8_t> b, std::size_t at, uint32_t value) {
  store_be16(b, at, uint16_t(value >> 16));
  store_be16(b, at + 2, uint16_t(value));
}

// One option at option[0..length): its pointer counts from 1 (RFC 791).
bool stamp_record_route(std::span<uint8_t> option, Ipv4 local) {
  const std::size_t pointer = option[2];
  if (pointer + 3 > option.size()) return false;  // full: nothing to do on the way in
  store_ipv4(option, pointer - 1, local);
  option[2] = uint8_t(pointer + 4);
  return true;
}

bool stamp_timestamp(std::span<uint8_t> option, Ipv4 local, uint32_t ms) {
  const std::size_t pointer = option[2];
  const uint8_t flag = option[3] & 0x0f;
  if (pointer > option.size()) {
    // Full: the pre-specified kind stays as it is; the others count the hosts that found no
    // room (a count at 15 is a parameter problem classify() does not pass).
    if (flag == kPrespecified) return false;
    const unsigned overflow = option[3] >> 4;
    if (overflow >= 15) return false;
    option[3] = uint8_t((overflow + 1) << 4 | flag);
    return true;
  }
  switch (flag) {
    case kTimeOnly:
      store32(option, pointer - 1, ms);
      option[2] = uint8_t(pointer + 4);
      return true;
    case kAddressAndTime:
      if (pointer + 7 > option.size()) return false;
      store_ipv4(option, pointer - 1, local);
      store32(option, pointer + 3, ms);
      option[2] = uint8_t(pointer + 8);
      return true;
    case kPrespecified:
      if (pointer + 7 > option.size()) return false;
      if (load_ipv4(option, pointer - 1) != local) return false;
      store32(option, pointer + 3, ms);
      option[2] = uint8_t(pointer + 8);
      return true;
    default:
      return false;
  }
}

// `recorded`: what record route gets; `stamped`: the address a timestamp option names.
bool stamp_options(std::span<uint8_t> frame, const PacketView& packet, Ipv4 recorded, Ipv4 stamped,
                   uint32_t ms_since_midnight) {
  if (!packet.has_ip_options() || packet.l3 + packet.ip_header_len > frame.size()) return false;
  std::span<uint8_t> header = frame.subspan(packet.l3, packet.ip_header_len);
  std::span<uint8_t> options = header.subspan(wire::ip::kMinHeaderLen);
  bool changed = false;
  for (std::size_t at = 0; at < options.size();) {
    const uint8_t type = options[at];
    if (type == kEnd) break;
    if (type == kNop) {
      ++at;
      continue;
    }
    if (at + 1 >= options.size()) break;
    const std::size_t length = options[at + 1];
    if (length < 2 || at + length > options.size()) break;
    std::span<uint8_t> option = options.subspan(at, length);
    if (type == kRecordRoute && length >= 3) changed |= stamp_record_route(option, recorded);
    if (type == kTimestamp && length >= 4)
      changed |= stamp_timestamp(option, stamped, ms_since_midnight);
    at += length;
  }
  if (changed) store_be16(header, wire::ip::kChecksum, ipv4_header_checksum(header));
  return changed;
}

}  // namespace

bool stamp_options_on_receipt(std::span<uint8_t> frame, const PacketView& packet, Ipv4 local,
                              uint32_t ms_since_midnight) {
  return stamp_options(frame, packet, local, local, ms_since_midnight);
}

bool stamp_options_forwarded(std::span<uint8_t> frame, const PacketView& packet, Ipv4 received_on,
                             Ipv4 sent_from, uint32_t ms_since_midnight) {
  return stamp_options(frame, packet, sent_from, received_on, ms_since_midnight);
}

}  // namespace vsd::fwd
