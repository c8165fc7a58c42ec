// Learning the MAC of a host the topology does not control (an external director's port) by
// an IPv6 address: arp_probe()'s counterpart for a port that has no IPv4 address, with
// neighbour discovery (RFC 4861) in place of ARP.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vslab::topo {

// Sends a neighbour solicitation for `target_ip` on `ifname` inside `netns` and returns the
// MAC of the first advertisement for it, or nothing after `timeout`. The solicitation comes
// from the unspecified address (::) as duplicate address detection sends it (RFC 4862 5.4.2):
// the host answers to all nodes without learning a neighbour from it, so the probe leaves no
// wrong entry in the director's cache, as an ARP probe leaves none.
std::optional<std::string> ndp_probe(const std::string& netns, const std::string& ifname,
                                     const std::string& target_ip,
                                     std::chrono::milliseconds timeout);

// The probe's frame for a target (16 bytes) from a MAC (6 bytes); exposed for its unit test.
std::vector<uint8_t> ndp_probe_frame(const uint8_t* own_mac, const uint8_t* target);

// The advertised MAC if `frame` is a neighbour advertisement for `target`, else nothing.
std::optional<std::string> advertised_mac(const uint8_t* frame, std::size_t size,
                                          const uint8_t* target);

}  // namespace vslab::topo
