// Which of a port's IPv6 addresses a packet the director originates towards `destination`
// leaves from, as Linux's source address selection (RFC 6724 section 5) picks among the
// addresses of the outgoing interface. The rules that can tell a director's addresses apart:
// a link-local address only for a link-local destination (scope), the same label in the
// default policy table (rule 6), then the longest prefix shared with the destination, counted
// no further than the address's own prefix length (rule 8): so a VIP held as a /128 on the
// port beats the port's /64 address for a real server in the VIP's /64, as IPVS's tunnels
// show (ip_vs_tunnel_xmit_v6 leaves the choice to the route). Ties keep the first candidate:
// Linux keeps an interface's addresses of one scope newest first and a tie keeps the address
// met first, so the candidates come newest first (a VIP added after the port's address wins a
// tie with it: seen on qemu-kernel with the real servers in another /64).
#pragma once

#include <optional>
#include <span>

#include "net/ip6.h"

namespace vsd {

struct Ip6Prefix {
  Ip6 addr{};
  int prefix = 128;
};

// Rule 6's label of an address in Linux's default policy table.
int policy_label6(const Ip6& a);

// A candidate with its label, worked out once where the candidates are set (not per packet).
struct SourceCandidate6 {
  Ip6Prefix address;
  int label = 1;
  explicit SourceCandidate6(Ip6Prefix a) : address(a), label(policy_label6(a.addr)) {}
};

std::optional<Ip6> source_address6(std::span<const SourceCandidate6> candidates,
                                   const Ip6& destination);

}  // namespace vsd
