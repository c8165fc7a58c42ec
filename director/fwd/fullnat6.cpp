#include "fwd/fullnat6.h"

#include <algorithm>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/wire.h"

namespace vsd::fwd {
namespace {

constexpr std::size_t kL3 = Packet6::kL3;

void replace_address(std::span<uint8_t> frame, std::size_t at, const Ip6& addr,
                     ChecksumUpdate& update) {
  for (std::size_t i = 0; i < addr.size(); i += 2)
    update.replace16(load_be16(frame, at + i), uint16_t(addr[i] << 8 | addr[i + 1]));
  std::copy(addr.begin(), addr.end(), frame.begin() + std::ptrdiff_t(at));
}

void replace_port(std::span<uint8_t> frame, std::size_t at, uint16_t port, ChecksumUpdate& update) {
  update.replace16(load_be16(frame, at), port);
  store_be16(frame, at, port);
}

// Source and destination, address and port, all four replaced; one checksum update for them.
void rewrite_both(std::span<uint8_t> frame, const Packet6& p, const Address6& src,
                  const Address6& dst, const Mac& from) {
  ChecksumUpdate update;
  replace_address(frame, kL3 + wire6::kSrc, src.addr, update);
  replace_address(frame, kL3 + wire6::kDst, dst.addr, update);
  replace_port(frame, p.l4_at, src.port, update);
  replace_port(frame, p.l4_at + 2u, dst.port, update);
  const std::size_t sum_at = p.l4_at + (p.is_tcp() ? 16u : 6u);
  const uint16_t old = load_be16(frame, sum_at);
  store_be16(frame, sum_at, p.is_udp() ? update.applied_to_udp(old) : update.applied_to(old));
  frame[kL3 + wire6::kHopLimit]--;
  store_mac(frame, wire::eth::kSrc, from);
}

}  // namespace

void fullnat_in6(std::span<uint8_t> frame, const Packet6& p, const Address6& local,
                 const Address6& real_server, const Mac& from) {
  rewrite_both(frame, p, local, real_server, from);
}

void fullnat_out6(std::span<uint8_t> frame, const Packet6& p, const Address6& virtual_service,
                  const Address6& client, const Mac& from) {
  rewrite_both(frame, p, virtual_service, client, from);
}

}  // namespace vsd::fwd
