// The flow label of the IPv6 packets the director's own stack originates (ICMPv6 errors, echo
// replies, TCP resets), as Linux 6.1 writes it with its defaults (net.ipv6.auto_flowlabels = 1,
// flowlabel_reflect = 0, flowlabel_state_ranges = 0): a keyed hash of the packet's flow, so
// that one flow keeps one label and distinct flows get distinct ones (docs/ipvs.md section 3).
// The key is drawn once per process, as the kernel draws its hash secret once per boot; two
// directors therefore agree on which packets share a label, never on the label itself.
#pragma once

#include <cstdint>

#include "net/ip6.h"
#include "sched/siphash.h"

namespace vsd::fwd {

// What the kernel hashes of a packet it originates (its flowi6): the two addresses, the
// next header, and the ports; for ICMPv6 the type and code in the place of the destination
// port, as the flowi6 keeps them there.
struct Flow6 {
  Ip6 src{}, dst{};
  uint8_t next_header = 0;
  uint16_t sport = 0, dport = 0;
};

// ICMPv6 type and code where the kernel's flowi6 holds them: its first byte the type, its
// second the code, read as the destination port.
constexpr uint16_t icmp6_flow_port(uint8_t type, uint8_t code) {
  return uint16_t(type << 8 | code);
}

// The label for `flow` under `key`: the hash of the flow with its two ends in a fixed order
// (so a flow and its reverse hash alike), turned by 16 bits, its low 20 bits. Never 0: the
// kernel's hash is never 0 either, and its 20 bits are 0 in one flow of 2^20, where the label
// would say "no label"; such a flow gets 1 here.
uint32_t auto_flow_label(const SipKey& key, const Flow6& flow);

// The key of this process, drawn from std::random_device on first use.
const SipKey& process_flow_key();

// The first word of an IPv6 header the director originates: version 6, `tclass`, and the
// process's label for `flow`.
uint32_t ipv6_first_word(uint8_t tclass, const Flow6& flow);

}  // namespace vsd::fwd
