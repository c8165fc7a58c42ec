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
  Tins::TCP& tcp_header(const char* field);

  Tins::EthernetII eth_;
  std::optional<Tins::IP> ip_;
  std::optional<Tins::TCP> tcp_;
  std::optional<Tins::UDP> udp_;
  std::optional<std::vector<uint8_t>> payload_;
};

inline FrameBuilder frame() {
  return FrameBuilder();
}

}  // namespace vslab::frames
