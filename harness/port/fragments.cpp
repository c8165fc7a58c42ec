#include "port/fragments.h"

#include <algorithm>

#include <tins/ip.h>
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

}  // namespace vslab::port
