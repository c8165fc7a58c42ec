// Fragments of a datagram, as a host following RFC 791 would send them: what tests and case
// generators inject when they need a fragmented datagram, and expect after re-fragmentation.
#pragma once

#include <cstddef>
#include <vector>

#include <tins/ethernetII.h>

namespace vslab::port {

// Cuts an Ethernet/IPv4 frame (no IP options) into fragments of at most `ip_size` bytes of IP;
// the IPv4 header of each is rebuilt by libtins.
std::vector<Tins::EthernetII> fragments_of(const Tins::EthernetII& frame, std::size_t ip_size);

}  // namespace vslab::port
