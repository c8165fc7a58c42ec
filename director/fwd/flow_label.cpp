#include "fwd/flow_label.h"

#include <algorithm>
#include <array>
#include <bit>
#include <random>

namespace vsd::fwd {

uint32_t auto_flow_label(const SipKey& key, const Flow6& flow) {
  // The lower address first, its port along with it; between equal addresses the lower port.
  const bool swap = flow.dst < flow.src || (flow.dst == flow.src && flow.dport < flow.sport);
  const Ip6& first = swap ? flow.dst : flow.src;
  const Ip6& second = swap ? flow.src : flow.dst;
  const uint16_t first_port = swap ? flow.dport : flow.sport;
  const uint16_t second_port = swap ? flow.sport : flow.dport;
  std::array<uint8_t, 37> message{};
  message[0] = flow.next_header;
  message[1] = uint8_t(first_port >> 8);
  message[2] = uint8_t(first_port);
  message[3] = uint8_t(second_port >> 8);
  message[4] = uint8_t(second_port);
  std::copy(first.begin(), first.end(), message.begin() + 5);
  std::copy(second.begin(), second.end(), message.begin() + 21);
  uint32_t hash = uint32_t(siphash<2, 4>(key, message));
  if (hash == 0) hash = 1;  // the kernel's flow hash keeps 0 for "none"
  const uint32_t label = std::rotl(hash, 16) & 0xfffffu;
  return label != 0 ? label : 1;
}

const SipKey& process_flow_key() {
  static const SipKey key = [] {
    std::random_device device;
    auto word = [&] { return uint64_t{device()} << 32 | device(); };
    return SipKey{word(), word()};
  }();
  return key;
}

uint32_t ipv6_first_word(uint8_t tclass, const Flow6& flow) {
  return 0x60000000u | uint32_t(tclass) << 20 | auto_flow_label(process_flow_key(), flow);
}

}  // namespace vsd::fwd
