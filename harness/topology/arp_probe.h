// Learning the MAC of a host the topology does not control (an external director's port):
// an ARP probe from a namespace of the run, on the segment the host is wired to.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace vslab::topo {

// Asks on `ifname` inside `netns` who has `target_ip` and returns the MAC of the first reply,
// or nothing after `timeout`. The request is an ARP probe (sender address 0.0.0.0, RFC 5227):
// a host answers it without learning a neighbour from it, so the probe leaves no wrong entry
// in the director's cache.
std::optional<std::string> arp_probe(const std::string& netns, const std::string& ifname,
                                     const std::string& target_ip,
                                     std::chrono::milliseconds timeout);

}  // namespace vslab::topo
