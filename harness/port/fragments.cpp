#include "port/fragments.h"

#include <algorithm>

#include <tins/ip.h>
#include <tins/ipv6.h>
#include <tins/rawpdu.h>

namespace vslab::port {

std::vector<Tins::EthernetII> fragments_of(const Tins::EthernetII& frame, std::size_t ip_size) {
  auto whole = Tins::EthernetII(frame).serialize();
  const auto& ip = frame.rfind_pdu<Tins::IP>();
  const std::size_t data_at = 14 + 20, data_len = whole.size() - data_at;
  const std::size_t chunk = (ip_size - 20) / 8 * 8;
  std::vector<Tins::EthernetII> pieces;
  for (std::size_t off = 0; off < data_len; off += chunk) {
    std::size_t n = std::min(chunk, data_len - off);
    Tins::IP part(ip.dst_addr(), ip.src_addr());
    part.ttl(ip.ttl());
    part.id(ip.id());
    part.tos(ip.tos());
    part.protocol(whole[14 + 9]);  // as serialised: libtins fills it in only then
    part.flags(off + n < data_len ? Tins::IP::MORE_FRAGMENTS : Tins::IP::Flags(0));
    part.fragment_offset(uint16_t(off / 8));
    pieces.push_back(Tins::EthernetII(frame.dst_addr(), frame.src_addr()) / part /
                     Tins::RawPDU(whole.data() + data_at + off, uint32_t(n)));
  }
  return pieces;
}

std::vector<Tins::EthernetII> fragments6_of(const Tins::EthernetII& frame, std::size_t ip_size,
                                            uint32_t id) {
  const auto whole = Tins::EthernetII(frame).serialize();
  const auto& ip = frame.rfind_pdu<Tins::IPv6>();
  constexpr std::size_t kDataAt = 14 + 40, kFragmentHeader = 8;
  const uint8_t next = whole.at(14 + 6);  // as serialised: libtins fills it in only then
  const std::size_t data_len = whole.size() - kDataAt;
  const std::size_t chunk = (ip_size - 40 - kFragmentHeader) / 8 * 8;
  std::vector<Tins::EthernetII> pieces;
  for (std::size_t off = 0; off < data_len; off += chunk) {
    const std::size_t n = std::min(chunk, data_len - off);
    const auto offset_and_m = uint16_t(off | (off + n < data_len ? 1 : 0));
    std::vector<uint8_t> body{next,
                              0,
                              uint8_t(offset_and_m >> 8),
                              uint8_t(offset_and_m),
                              uint8_t(id >> 24),
                              uint8_t(id >> 16),
                              uint8_t(id >> 8),
                              uint8_t(id)};
    body.insert(body.end(), whole.begin() + std::ptrdiff_t(kDataAt + off),
                whole.begin() + std::ptrdiff_t(kDataAt + off + n));
    Tins::IPv6 part(ip.dst_addr(), ip.src_addr());
    part.hop_limit(ip.hop_limit());
    part.traffic_class(ip.traffic_class());
    part.flow_label(ip.flow_label());
    part.next_header(44);
    pieces.push_back(Tins::EthernetII(frame.dst_addr(), frame.src_addr()) / part /
                     Tins::RawPDU(body.data(), uint32_t(body.size())));
  }
  return pieces;
}

}  // namespace vslab::port
