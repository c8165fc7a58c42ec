// frame_builder.cpp: the builder's headers kept as libtins PDUs and stacked on demand.
#include "frames/frame_builder.h"

#include <stdexcept>
#include <string>

namespace vslab::frames {

FrameBuilder& FrameBuilder::eth(const Mac& src, const Mac& dst) {
  eth_.src_addr(src);
  eth_.dst_addr(dst);
  return *this;
}

FrameBuilder& FrameBuilder::ipv4(const Ipv4& src, const Ipv4& dst) {
  ip_.emplace(dst, src);
  return *this;
}

Tins::IP& FrameBuilder::ip_header(const char* field) {
  if (!ip_) throw std::logic_error(std::string("frame builder: ") + field + "() before ipv4()");
  return *ip_;
}

FrameBuilder& FrameBuilder::ip_src(const Ipv4& src) {
  ip_header("ip_src").src_addr(src);
  return *this;
}

FrameBuilder& FrameBuilder::ttl(uint8_t ttl) {
  ip_header("ttl").ttl(ttl);
  return *this;
}

FrameBuilder& FrameBuilder::id(uint16_t id) {
  ip_header("id").id(id);
  return *this;
}

FrameBuilder& FrameBuilder::tos(uint8_t tos) {
  ip_header("tos").tos(tos);
  return *this;
}

FrameBuilder& FrameBuilder::dont_fragment() {
  ip_header("dont_fragment").flags(Tins::IP::DONT_FRAGMENT);
  return *this;
}

FrameBuilder& FrameBuilder::tcp(uint16_t sport, uint16_t dport) {
  udp_.reset();
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

Tins::EthernetII FrameBuilder::pdu() const {
  Tins::EthernetII frame = eth_;
  if (ip_) frame /= *ip_;
  if (tcp_) frame /= *tcp_;
  if (udp_) frame /= *udp_;
  if (payload_) frame /= Tins::RawPDU(payload_->data(), static_cast<uint32_t>(payload_->size()));
  return frame;
}

std::vector<uint8_t> FrameBuilder::bytes() const {
  return pdu().serialize();
}

}  // namespace vslab::frames
