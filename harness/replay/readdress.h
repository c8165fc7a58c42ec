// Re-addressing a capture from another network onto a topology: its client, VIP, real-server
// addresses and MACs are replaced by the topology's, everywhere they occur (Ethernet, ARP,
// IPv4, the inner header of IPIP, the header quoted in an ICMP error), and every checksum
// that covers a changed word is updated incrementally (RFC 1624), so a valid checksum stays
// valid and a wrong one stays exactly as wrong, also in fragments and in quoted headers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vslab::replay {

using Ipv4Bytes = std::array<uint8_t, 4>;
using MacBytes = std::array<uint8_t, 6>;

std::optional<Ipv4Bytes> parse_ipv4(const std::string& text);
std::optional<MacBytes> parse_mac(const std::string& text);

struct AddressMap {
  std::map<Ipv4Bytes, Ipv4Bytes> ips;  // the capture's -> the topology's
  std::map<MacBytes, MacBytes> macs;
  bool empty() const { return ips.empty() && macs.empty(); }
  // False when `from` or `to` is not an address (the text is the caller's to report).
  bool add_ip(const std::string& from, const std::string& to);
  bool add_mac(const std::string& from, const std::string& to);
};

// Rewrites the frame in place. Never throws: a header too short to hold a field is left as it
// is from there on (a malformed frame replays as malformed).
void readdress_frame(std::vector<uint8_t>& frame, const AddressMap& map);

}  // namespace vslab::replay
