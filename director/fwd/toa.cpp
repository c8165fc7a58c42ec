#include "fwd/toa.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/wire.h"

namespace vsd::fwd {

std::size_t add_toa(std::span<const uint8_t> frame, const PacketView& packet, Endpoint client,
                    std::size_t ip_mtu, std::span<uint8_t> out) {
  if (!packet.is_tcp() || !packet.has_l4) return 0;
  const std::size_t tcp_len = packet.l4_header_len;
  const std::size_t ip_len = packet.ip_total_len;
  const std::size_t end = packet.l3 + ip_len;  // any link-layer padding is left behind
  if (tcp_len + kToaLen > 60 || ip_len + kToaLen > ip_mtu || end + kToaLen > out.size() ||
      end > frame.size())
    return 0;
  const std::size_t at = packet.l4 + wire::tcp::kMinHeaderLen;
  std::copy_n(frame.begin(), at, out.begin());
  std::copy(frame.begin() + std::ptrdiff_t(at), frame.begin() + std::ptrdiff_t(end),
            out.begin() + std::ptrdiff_t(at + kToaLen));
  out[at] = kToaKind;
  out[at + 1] = uint8_t(kToaLen);
  store_be16(out, at + 2, client.port);
  store_be32(out, at + 4, client.addr.value);

  auto ip = out.subspan(packet.l3, ip_len + kToaLen);
  store_be16(ip, wire::ip::kTotalLen, uint16_t(ip_len + kToaLen));
  store_be16(ip, wire::ip::kChecksum, 0);
  store_be16(ip, wire::ip::kChecksum, ipv4_header_checksum(ip.first(packet.ip_header_len)));
  auto tcp = ip.subspan(packet.ip_header_len);
  tcp[wire::tcp::kDataOffset] =
      uint8_t(((tcp_len + kToaLen) / 4) << 4 | (tcp[wire::tcp::kDataOffset] & 0x0f));
  store_be16(tcp, wire::tcp::kChecksum, 0);
  // The addresses as they now stand in the frame (the real server's side), not the view's.
  Ipv4 src{load_be32(ip, wire::ip::kSrc)}, dst{load_be32(ip, wire::ip::kDst)};
  store_be16(tcp, wire::tcp::kChecksum, tcp_checksum(src, dst, tcp));
  return end + kToaLen;
}

}  // namespace vsd::fwd
