// One fluent builder for the frames tests send and expect, over libtins (Katran's test packet
// builder, in libtins' value types):
//   frame().eth(client_mac, router_mac).ipv4(cip, vip).ttl(64).tcp(40000, 80).flags(SYN).bytes()
// Every pair goes source first, then destination (libtins' constructors take the destination
// first). A field left unset keeps libtins' default, so a frame built here is, byte for byte,
// the one the same libtins calls build.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <tins/tins.h>

namespace vslab::frames {

using Mac = Tins::HWAddress<6>;
using Ipv4 = Tins::IPv4Address;
using Ipv6 = Tins::IPv6Address;

// TCP flags as libtins numbers them; they combine with |.
inline constexpr uint16_t FIN = Tins::TCP::FIN;
inline constexpr uint16_t SYN = Tins::TCP::SYN;
inline constexpr uint16_t RST = Tins::TCP::RST;
inline constexpr uint16_t PSH = Tins::TCP::PSH;
inline constexpr uint16_t ACK = Tins::TCP::ACK;

class FrameBuilder {
 public:
  // Without eth(), both MACs are zero.
  FrameBuilder& eth(const Mac& src, const Mac& dst);

  FrameBuilder& ipv4(const Ipv4& src, const Ipv4& dst);
  // The IPv4 fields below need ipv4() first; calling one before it is a test's bug and throws
  // std::logic_error.
  // A source other than the one ipv4() set: a preset client frame sent from another address.
  FrameBuilder& ip_src(const Ipv4& src);
  FrameBuilder& ttl(uint8_t ttl);
  FrameBuilder& id(uint16_t id);
  FrameBuilder& tos(uint8_t tos);
  FrameBuilder& dont_fragment();

  // IPv6 instead of IPv4 (the last of ipv4() and ipv6() wins). The fields below need ipv6()
  // first (std::logic_error otherwise); ttl() sets the hop limit and tos() the traffic class.
  FrameBuilder& ipv6(const Ipv6& src, const Ipv6& dst);
  FrameBuilder& ip6_src(const Ipv6& src);
  FrameBuilder& flow_label(uint32_t label);  // 20 bits
  // This frame is one fragment (RFC 8200 4.5): the upper layer is built whole, checksummed as
  // the unfragmented packet, and the frame carries `length` of its bytes from `offset` (a
  // multiple of 8; 0 = to the end) behind a fragment header.
  FrameBuilder& fragment6(uint32_t id, uint16_t offset, bool more, std::size_t length = 0);
  // The IP packet built so far (IPv6 or IPv4) inside an outer IPv6 header from src to dst:
  // ip6ip6 (next header 41) or IPIP over IPv6 (next header 4), as Linux IPVS tunnels; hop
  // limit 64 unless outer_hop_limit() says otherwise.
  FrameBuilder& in_ipv6(const Ipv6& src, const Ipv6& dst);
  FrameBuilder& outer_hop_limit(uint8_t hop_limit);

  // ICMPv6 (RFC 4443, 4861); each replaces any TCP or UDP header. They need ipv6() first.
  FrameBuilder& echo6_request(uint16_t id, uint16_t seq);
  FrameBuilder& echo6_reply(uint16_t id, uint16_t seq);
  // An error (type 1 destination unreachable, 2 packet too big, 3 time exceeded, 4 parameter
  // problem) quoting `offending` (a whole frame: its IP packet is quoted, cut so the error
  // stays within IPv6's minimum MTU of 1280). `value` is the MTU of type 2 and the pointer of
  // type 4.
  FrameBuilder& icmp6_error(uint8_t type, uint8_t code, const std::vector<uint8_t>& offending,
                            uint32_t value = 0);
  FrameBuilder& neighbour_solicit(const Ipv6& target, const Mac& source_link_address);
  FrameBuilder& neighbour_advert(const Ipv6& target, const Mac& target_link_address, bool solicited,
                                 bool override_flag);

  FrameBuilder& tcp(uint16_t sport, uint16_t dport);
  // The TCP fields below need tcp() first (std::logic_error otherwise).
  FrameBuilder& flags(uint16_t flags);
  FrameBuilder& seq(uint32_t seq);
  FrameBuilder& ack(uint32_t ack_seq);
  FrameBuilder& window(uint16_t window);
  FrameBuilder& mss(uint16_t mss);

  FrameBuilder& udp(uint16_t sport, uint16_t dport);

  // Bytes after the last header.
  FrameBuilder& payload(std::string_view text);
  FrameBuilder& payload(const std::vector<uint8_t>& bytes);

  Tins::EthernetII pdu() const;
  std::vector<uint8_t> bytes() const;

 private:
  Tins::IP& ip_header(const char* field);
  Tins::IPv6& ip6_header(const char* field);
  Tins::TCP& tcp_header(const char* field);
  void set_l4(std::optional<Tins::ICMPv6> icmp6);
  FrameBuilder& echo6(bool is_request, uint16_t id, uint16_t seq);
  // The upper layer (L4 header and payload) on its own, checksummed for the IPv6 header.
  std::vector<uint8_t> upper_layer_bytes() const;
  Tins::PDU* ip_packet() const;  // the IP header with everything above it, a new object

  Tins::EthernetII eth_;
  std::optional<Tins::IP> ip_;
  std::optional<Tins::IPv6> ip6_;
  std::optional<Tins::IPv6> outer6_;
  uint8_t outer_hop_limit_ = 64;
  std::optional<Tins::ICMPv6> icmp6_;
  struct Fragment {
    uint32_t id;
    uint16_t offset;
    bool more;
    std::size_t length;
  };
  std::optional<Fragment> fragment_;
  std::optional<Tins::TCP> tcp_;
  std::optional<Tins::UDP> udp_;
  std::optional<std::vector<uint8_t>> payload_;
};

inline FrameBuilder frame() {
  return FrameBuilder();
}

}  // namespace vslab::frames
