// fragment.cpp: ip_do_fragment's cut of an IPv4 packet and ip6_fragment's of an IPv6 one,
// header by header.
#include "fwd/fragment.h"

#include <algorithm>
#include <optional>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/ipv6.h"
#include "fwd/wire.h"

namespace vsd::fwd {

namespace {

constexpr std::size_t kL3 = wire::eth::kHeaderLen;

void set_ipv4_checksum(std::span<uint8_t> header) {
  store_be16(header, wire::ip::kChecksum, ipv4_header_checksum(header));
}

struct Ipv4Layout {
  std::size_t header_len;
  std::size_t total_len;
  uint16_t flags_fragment;
};

std::optional<Ipv4Layout> layout_of(std::span<const uint8_t> frame) {
  if (frame.size() < kL3 + wire::ip::kMinHeaderLen) return {};
  std::span<const uint8_t> ip = frame.subspan(kL3);
  uint8_t version_ihl = ip[wire::ip::kVersionIhl];
  Ipv4Layout layout{std::size_t(version_ihl & 0x0f) * 4, load_be16(ip, wire::ip::kTotalLen),
                    load_be16(ip, wire::ip::kFlagsFragment)};
  if ((version_ihl >> 4) != 4 || layout.header_len < wire::ip::kMinHeaderLen) return {};
  if (layout.total_len < layout.header_len || layout.total_len > ip.size()) return {};
  return layout;
}

// After the first fragment only options with the copy flag stay; the others become NOPs so
// the header keeps its length (RFC 791 3.1, the kernel's ip_options_fragment). A malformed
// option list is left as it is from the bad option on.
void replace_uncopied_options(std::span<uint8_t> options) {
  constexpr uint8_t kEnd = 0, kNop = 1, kCopyFlag = 0x80;
  std::size_t i = 0;
  while (i < options.size()) {
    uint8_t type = options[i];
    if (type == kEnd) return;
    if (type == kNop) {
      ++i;
      continue;
    }
    if (i + 1 >= options.size()) return;
    std::size_t length = options[i + 1];
    if (length < 2 || i + length > options.size()) return;
    if (!(type & kCopyFlag)) std::fill_n(options.begin() + i, length, kNop);
    i += length;
  }
}

}  // namespace

std::size_t fragment_ipv4(std::span<const uint8_t> frame, uint16_t fragment_size,
                          std::span<FragmentBuffer> outs) {
  auto layout = layout_of(frame);
  if (!layout || fragment_size < layout->header_len + 8) return 0;
  const std::size_t header_len = layout->header_len;
  const std::size_t payload_len = layout->total_len - header_len;
  const std::size_t max_chunk = (fragment_size - header_len) & ~std::size_t(7);
  const std::size_t first_offset = std::size_t(layout->flags_fragment & wire::ip::kOffsetMask) * 8;
  const bool packet_has_more = (layout->flags_fragment & wire::ip::kMoreFragments) != 0;
  std::span<const uint8_t> header = frame.subspan(kL3, header_len);
  std::span<const uint8_t> payload = frame.subspan(kL3 + header_len, payload_len);

  std::size_t count = 0;
  std::size_t done = 0;
  do {
    std::size_t chunk = std::min(max_chunk, payload_len - done);
    bool is_last = done + chunk == payload_len;
    std::size_t offset = first_offset + done;
    if (count == outs.size() || offset / 8 > wire::ip::kOffsetMask) return 0;
    std::span<uint8_t> out = outs[count].buffer;
    std::size_t length = kL3 + header_len + chunk;
    if (out.size() < length) return 0;

    std::copy_n(frame.begin(), kL3, out.begin());
    std::span<uint8_t> out_header = out.subspan(kL3, header_len);
    std::copy(header.begin(), header.end(), out_header.begin());
    if (count > 0) replace_uncopied_options(out_header.subspan(wire::ip::kMinHeaderLen));
    store_be16(out_header, wire::ip::kTotalLen, uint16_t(header_len + chunk));
    // ip_do_fragment writes only the offset and MF: DF is not kept on fragments.
    uint16_t more = (!is_last || packet_has_more) ? wire::ip::kMoreFragments : 0;
    store_be16(out_header, wire::ip::kFlagsFragment, uint16_t(offset / 8) | more);
    set_ipv4_checksum(out_header);
    std::copy_n(payload.begin() + done, chunk, out.begin() + kL3 + header_len);

    outs[count].length = length;
    ++count;
    done += chunk;
  } while (done < payload_len);
  return count;
}

namespace {

// Where the fragmentable part starts and the byte that names its first header, as
// ip6_find_1stfragopt walks; nullopt for a chain that runs out of the packet, carries a fragment
// header already, or is longer than parse_ipv6 walks.
struct Unfragmentable {
  std::size_t end = 0;
  std::size_t names_at = 0;
};

std::optional<Unfragmentable> unfragmentable_of(std::span<const uint8_t> frame,
                                                std::size_t l3_end) {
  Unfragmentable u{kL3 + wire6::kHeaderLen, kL3 + wire6::kNextHeader};
  bool routing_seen = false;
  for (std::size_t n = 0; n <= kMaxExtensionHeaders; ++n) {
    const uint8_t type = frame[u.names_at];
    if (type == kExtFragment) return std::nullopt;
    if (type == kExtRouting) routing_seen = true;
    const bool kept =
        type == kExtHopByHop || type == kExtRouting || (type == kExtDestination && !routing_seen);
    if (!kept) return u;
    if (u.end + 8 > l3_end) return std::nullopt;
    const std::size_t len = (frame[u.end + 1] + 1u) * 8u;
    if (u.end + len > l3_end) return std::nullopt;
    u.names_at = u.end;
    u.end += len;
  }
  return std::nullopt;
}

}  // namespace

std::size_t fragment_ipv6(std::span<const uint8_t> frame, uint16_t fragment_size, uint32_t id,
                          std::span<FragmentBuffer> outs) {
  if (frame.size() < kL3 + wire6::kHeaderLen ||
      load_be16(frame, wire::eth::kType) != wire::eth::kTypeIpv6 || (frame[kL3] >> 4) != 6)
    return 0;
  const std::size_t l3_end = kL3 + wire6::kHeaderLen + load_be16(frame, kL3 + wire6::kPayloadLen);
  if (l3_end > frame.size()) return 0;
  const auto unfragmentable = unfragmentable_of(frame, l3_end);
  if (!unfragmentable) return 0;
  const std::size_t head = unfragmentable->end;  // Ethernet + unfragmentable headers
  const std::size_t size = std::max<std::size_t>(fragment_size, kIpv6MinMtu);
  const std::size_t headers = head - kL3 + kFragmentHeaderLen;
  if (size < headers + 8) return 0;
  const std::size_t per_fragment = (size - headers) & ~std::size_t(7);
  const uint8_t first_fragmentable = frame[unfragmentable->names_at];
  std::size_t n = 0;
  for (std::size_t offset = 0, left = l3_end - head; left > 0; ++n) {
    const std::size_t data = left > per_fragment ? per_fragment : left;
    const bool more = data < left;
    if (n == outs.size()) return 0;
    const std::size_t length = head + kFragmentHeaderLen + data;
    std::span<uint8_t> out = outs[n].buffer;
    if (out.size() < length) return 0;
    std::copy_n(frame.begin(), head, out.begin());
    out[unfragmentable->names_at] = kExtFragment;
    store_be16(out, kL3 + wire6::kPayloadLen, uint16_t(length - kL3 - wire6::kHeaderLen));
    out[head] = first_fragmentable;
    out[head + 1] = 0;
    store_be16(out, head + 2, uint16_t(offset | (more ? 1 : 0)));
    store_be32(out, head + 4, id);
    std::copy_n(frame.begin() + std::ptrdiff_t(head + offset), data,
                out.begin() + std::ptrdiff_t(head + kFragmentHeaderLen));
    outs[n].length = length;
    offset += data;
    left -= data;
  }
  return n;
}

}  // namespace vsd::fwd
