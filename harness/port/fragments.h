// Fragments of a datagram, as a host following RFC 791 (IPv4) or RFC 8200 (IPv6) would send
// them: what tests and case generators inject when they need a fragmented datagram, and expect
// after re-fragmentation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <tins/ethernetII.h>

namespace vslab::port {

// Cuts an Ethernet/IPv4 frame (no IP options) into fragments of at most `ip_size` bytes of IP;
// the IPv4 header of each is rebuilt by libtins.
std::vector<Tins::EthernetII> fragments_of(const Tins::EthernetII& frame, std::size_t ip_size);

// Cuts an Ethernet/IPv6 frame (no extension headers) into fragments of at most `ip_size` bytes
// of IP, each a fixed header (hop limit, traffic class and flow label kept) and a fragment
// header with `id` in front of its slice of everything the fixed header carried: what
// ip6_fragment makes of a packet with no unfragmentable extension headers.
std::vector<Tins::EthernetII> fragments6_of(const Tins::EthernetII& frame, std::size_t ip_size,
                                            uint32_t id);

}  // namespace vslab::port
