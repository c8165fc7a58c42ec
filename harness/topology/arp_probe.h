// Learning the MAC of a host the topology does not control (an external director's port):
// an ARP probe from a namespace of the run, on the segment the host is wired to.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vslab::topo {

// Asks on `ifname` inside `netns` who has `target_ip` and returns the MAC of the first reply,
// or nothing after `timeout`. The request is an ARP probe (sender address 0.0.0.0, RFC 5227):
// a host answers it without learning a neighbour from it, so the probe leaves no wrong entry
// in the director's cache.
std::optional<std::string> arp_probe(const std::string& netns, const std::string& ifname,
                                     const std::string& target_ip,
                                     std::chrono::milliseconds timeout);

// The loop the ARP and the NDP probe share: inside `netns`, sends the frame `make_probe` builds
// from `ifname`'s own MAC every 250 ms (a lost first one, the far side's port still coming up,
// is simply repeated) until `answer` finds what it looks for in a frame received there, or
// `timeout` passes.
std::optional<std::string> probe_port(
    const std::string& netns, const std::string& ifname,
    const std::function<std::vector<uint8_t>(const uint8_t* own_mac)>& make_probe,
    const std::function<std::optional<std::string>(const uint8_t* frame, std::size_t size)>& answer,
    std::chrono::milliseconds timeout);

}  // namespace vslab::topo
