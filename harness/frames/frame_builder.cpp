// frame_builder.cpp: the builder's headers kept as libtins PDUs and stacked on demand.
#include "frames/frame_builder.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

namespace vslab::frames {

FrameBuilder& FrameBuilder::eth(const Mac& src, const Mac& dst) {
  eth_.src_addr(src);
  eth_.dst_addr(dst);
  return *this;
}

FrameBuilder& FrameBuilder::ipv4(const Ipv4& src, const Ipv4& dst) {
  ip6_.reset();
  fragment_.reset();
  icmp6_.reset();
  ip_.emplace(dst, src);
  return *this;
}

FrameBuilder& FrameBuilder::ipv6(const Ipv6& src, const Ipv6& dst) {
  ip_.reset();
  ip6_.emplace(dst, src);
  // libtins' default is 0 hops, which no sender uses.
  ip6_->hop_limit(64);
  return *this;
}

Tins::IP& FrameBuilder::ip_header(const char* field) {
  if (!ip_) throw std::logic_error(std::string("frame builder: ") + field + "() before ipv4()");
  return *ip_;
}

Tins::IPv6& FrameBuilder::ip6_header(const char* field) {
  if (!ip6_) throw std::logic_error(std::string("frame builder: ") + field + "() before ipv6()");
  return *ip6_;
}

FrameBuilder& FrameBuilder::ip6_src(const Ipv6& src) {
  ip6_header("ip6_src").src_addr(src);
  return *this;
}

FrameBuilder& FrameBuilder::flow_label(uint32_t label) {
  if (label > 0xfffff) throw std::out_of_range("frame builder: a flow label has 20 bits");
  ip6_header("flow_label").flow_label(label);
  return *this;
}

FrameBuilder& FrameBuilder::fragment6(uint32_t id, uint16_t offset, bool more, std::size_t length) {
  ip6_header("fragment6");
  if (offset % 8 != 0)
    throw std::invalid_argument("frame builder: a fragment offset is a multiple of 8");
  fragment_ = Fragment{id, offset, more, length};
  return *this;
}

FrameBuilder& FrameBuilder::in_ipv6(const Ipv6& src, const Ipv6& dst) {
  if (!ip_ && !ip6_) throw std::logic_error("frame builder: in_ipv6() before ipv4() or ipv6()");
  outer6_.emplace(dst, src);
  return *this;
}

FrameBuilder& FrameBuilder::outer_hop_limit(uint8_t hop_limit) {
  outer_hop_limit_ = hop_limit;
  return *this;
}

void FrameBuilder::set_l4(std::optional<Tins::ICMPv6> icmp6) {
  ip6_header("an ICMPv6 message");
  tcp_.reset();
  udp_.reset();
  icmp6_ = std::move(icmp6);
}

FrameBuilder& FrameBuilder::echo6(bool is_request, uint16_t id, uint16_t seq) {
  Tins::ICMPv6 echo(is_request ? Tins::ICMPv6::ECHO_REQUEST : Tins::ICMPv6::ECHO_REPLY);
  echo.identifier(id);
  echo.sequence(seq);
  set_l4(echo);
  return *this;
}

FrameBuilder& FrameBuilder::echo6_request(uint16_t id, uint16_t seq) {
  return echo6(true, id, seq);
}

FrameBuilder& FrameBuilder::echo6_reply(uint16_t id, uint16_t seq) {
  return echo6(false, id, seq);
}

FrameBuilder& FrameBuilder::icmp6_error(uint8_t type, uint8_t code,
                                        const std::vector<uint8_t>& offending, uint32_t value) {
  if (type < 1 || type > 4) throw std::invalid_argument("frame builder: ICMPv6 errors are 1..4");
  Tins::ICMPv6 error(static_cast<Tins::ICMPv6::Types>(type));
  error.code(code);
  // The 4 bytes after the checksum (MTU, pointer, or unused) are where libtins keeps an echo's
  // identifier and sequence; it has no setter of its own for them.
  error.identifier(static_cast<uint16_t>(value >> 16));
  error.sequence(static_cast<uint16_t>(value & 0xffff));
  set_l4(error);
  // RFC 4443 2.4 (c): as much of the packet as fits in 1280 bytes with the 40 + 8 in front.
  constexpr std::size_t kEthernet = 14, kMaxQuoted = 1280 - 40 - 8;
  std::vector<uint8_t> quoted;
  if (offending.size() > kEthernet) quoted.assign(offending.begin() + kEthernet, offending.end());
  if (quoted.size() > kMaxQuoted) quoted.resize(kMaxQuoted);
  payload_ = std::move(quoted);
  return *this;
}

FrameBuilder& FrameBuilder::neighbour_solicit(const Ipv6& target, const Mac& source_link_address) {
  Tins::ICMPv6 ns(Tins::ICMPv6::NEIGHBOUR_SOLICIT);
  ns.target_addr(target);
  ns.source_link_layer_addr(source_link_address);
  set_l4(ns);
  ip6_->hop_limit(255);  // RFC 4861 7.1.1: anything else is dropped
  return *this;
}

FrameBuilder& FrameBuilder::neighbour_advert(const Ipv6& target, const Mac& target_link_address,
                                             bool solicited, bool override_flag) {
  Tins::ICMPv6 na(Tins::ICMPv6::NEIGHBOUR_ADVERT);
  na.target_addr(target);
  na.solicited(solicited ? 1 : 0);
  na.override(override_flag ? 1 : 0);
  na.target_link_layer_addr(target_link_address);
  set_l4(na);
  ip6_->hop_limit(255);
  return *this;
}

FrameBuilder& FrameBuilder::ip_src(const Ipv4& src) {
  ip_header("ip_src").src_addr(src);
  return *this;
}

FrameBuilder& FrameBuilder::ttl(uint8_t ttl) {
  if (ip6_)
    ip6_->hop_limit(ttl);
  else
    ip_header("ttl").ttl(ttl);
  return *this;
}

FrameBuilder& FrameBuilder::id(uint16_t id) {
  ip_header("id").id(id);
  return *this;
}

FrameBuilder& FrameBuilder::tos(uint8_t tos) {
  if (ip6_)
    ip6_->traffic_class(tos);
  else
    ip_header("tos").tos(tos);
  return *this;
}

FrameBuilder& FrameBuilder::dont_fragment() {
  ip_header("dont_fragment").flags(Tins::IP::DONT_FRAGMENT);
  return *this;
}

FrameBuilder& FrameBuilder::tcp(uint16_t sport, uint16_t dport) {
  udp_.reset();
  icmp6_.reset();
  tcp_.emplace(dport, sport);
  return *this;
}

Tins::TCP& FrameBuilder::tcp_header(const char* field) {
  if (!tcp_) throw std::logic_error(std::string("frame builder: ") + field + "() before tcp()");
  return *tcp_;
}

FrameBuilder& FrameBuilder::flags(uint16_t flags) {
  tcp_header("flags").flags(flags);
  return *this;
}

FrameBuilder& FrameBuilder::seq(uint32_t seq) {
  tcp_header("seq").seq(seq);
  return *this;
}

FrameBuilder& FrameBuilder::ack(uint32_t ack_seq) {
  tcp_header("ack").ack_seq(ack_seq);
  return *this;
}

FrameBuilder& FrameBuilder::window(uint16_t window) {
  tcp_header("window").window(window);
  return *this;
}

FrameBuilder& FrameBuilder::mss(uint16_t mss) {
  tcp_header("mss").mss(mss);
  return *this;
}

FrameBuilder& FrameBuilder::udp(uint16_t sport, uint16_t dport) {
  tcp_.reset();
  icmp6_.reset();
  udp_.emplace(dport, sport);
  return *this;
}

FrameBuilder& FrameBuilder::payload(std::string_view text) {
  payload_.emplace(text.begin(), text.end());
  return *this;
}

FrameBuilder& FrameBuilder::payload(const std::vector<uint8_t>& bytes) {
  payload_ = bytes;
  return *this;
}

std::vector<uint8_t> FrameBuilder::upper_layer_bytes() const {
  Tins::IPv6 whole = *ip6_;
  if (tcp_) whole /= *tcp_;
  if (udp_) whole /= *udp_;
  if (icmp6_) whole /= *icmp6_;
  if (payload_) whole /= Tins::RawPDU(payload_->data(), static_cast<uint32_t>(payload_->size()));
  auto bytes = whole.serialize();
  return {bytes.begin() + 40, bytes.end()};
}

Tins::PDU* FrameBuilder::ip_packet() const {
  Tins::PDU* packet = nullptr;
  if (ip_) packet = ip_->clone();
  if (ip6_ && !fragment_) packet = ip6_->clone();
  if (!packet && !fragment_) return nullptr;
  if (fragment_) {
    // libtins 4.0 writes extension headers with a wrong next header chain, so the fragment
    // header is written here, in front of the slice of the upper layer it carries.
    auto upper = upper_layer_bytes();
    std::size_t from = std::min<std::size_t>(fragment_->offset, upper.size());
    std::size_t length = fragment_->length ? fragment_->length : upper.size() - from;
    length = std::min(length, upper.size() - from);
    uint8_t next = tcp_ ? 6 : udp_ ? 17 : icmp6_ ? 58 : 59;
    uint16_t offset_and_m = static_cast<uint16_t>(fragment_->offset | (fragment_->more ? 1 : 0));
    std::vector<uint8_t> body{next,
                              0,
                              static_cast<uint8_t>(offset_and_m >> 8),
                              static_cast<uint8_t>(offset_and_m),
                              static_cast<uint8_t>(fragment_->id >> 24),
                              static_cast<uint8_t>(fragment_->id >> 16),
                              static_cast<uint8_t>(fragment_->id >> 8),
                              static_cast<uint8_t>(fragment_->id)};
    body.insert(body.end(), upper.begin() + static_cast<std::ptrdiff_t>(from),
                upper.begin() + static_cast<std::ptrdiff_t>(from + length));
    auto* ip6 = new Tins::IPv6(*ip6_);
    ip6->next_header(44);
    *ip6 /= Tins::RawPDU(body.data(), static_cast<uint32_t>(body.size()));
    return ip6;
  }
  if (tcp_) *packet /= *tcp_;
  if (udp_) *packet /= *udp_;
  if (icmp6_) *packet /= *icmp6_;
  if (payload_) *packet /= Tins::RawPDU(payload_->data(), static_cast<uint32_t>(payload_->size()));
  return packet;
}

Tins::EthernetII FrameBuilder::pdu() const {
  Tins::EthernetII frame = eth_;
  std::unique_ptr<Tins::PDU> packet(ip_packet());
  if (outer6_ && packet) {
    Tins::IPv6 outer = *outer6_;
    outer.hop_limit(outer_hop_limit_);
    outer /= *packet;
    frame /= outer;
    return frame;
  }
  if (packet) {
    frame /= *packet;
    return frame;
  }
  if (tcp_) frame /= *tcp_;
  if (udp_) frame /= *udp_;
  if (payload_) frame /= Tins::RawPDU(payload_->data(), static_cast<uint32_t>(payload_->size()));
  return frame;
}

std::vector<uint8_t> FrameBuilder::bytes() const {
  return pdu().serialize();
}

}  // namespace vslab::frames
