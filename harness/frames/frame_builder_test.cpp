// The frame builder: each argument lands in the header field it names (source first, then
// destination), and an unset field keeps libtins' default, so replacing a hand-stacked frame
// with the builder leaves the bytes as they were.
#include "frames/frame_builder.h"

#include <gtest/gtest.h>

namespace vslab::frames {
namespace {

const Mac kClientMac("02:00:00:00:00:01");
const Mac kRouterMac("02:00:00:00:00:02");

TEST(FrameBuilder, PutsEachValueInTheFieldItNames) {
  Tins::EthernetII built = frame()
                               .eth(kClientMac, kRouterMac)
                               .ipv4("10.10.0.2", "10.20.0.100")
                               .ttl(63)
                               .id(0x4242)
                               .tcp(40000, 80)
                               .flags(SYN | ACK)
                               .seq(1000)
                               .ack(7)
                               .window(64240)
                               .payload("hello")
                               .pdu();
  std::vector<uint8_t> wire = built.serialize();
  Tins::EthernetII parsed(wire.data(), static_cast<uint32_t>(wire.size()));
  EXPECT_EQ(parsed.src_addr(), Mac("02:00:00:00:00:01"));
  EXPECT_EQ(parsed.dst_addr(), Mac("02:00:00:00:00:02"));
  const auto& ip = parsed.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip.src_addr(), Ipv4("10.10.0.2"));
  EXPECT_EQ(ip.dst_addr(), Ipv4("10.20.0.100"));
  EXPECT_EQ(ip.ttl(), 63);
  EXPECT_EQ(ip.id(), 0x4242);
  const auto& tcp = parsed.rfind_pdu<Tins::TCP>();
  EXPECT_EQ(tcp.sport(), 40000);
  EXPECT_EQ(tcp.dport(), 80);
  EXPECT_EQ(tcp.flags(), 0x12);  // SYN and ACK (RFC 9293, 3.1)
  EXPECT_EQ(tcp.seq(), 1000u);
  EXPECT_EQ(tcp.ack_seq(), 7u);
  EXPECT_EQ(tcp.window(), 64240);
  const auto& raw = parsed.rfind_pdu<Tins::RawPDU>();
  EXPECT_EQ(std::string(raw.payload().begin(), raw.payload().end()), "hello");
}

TEST(FrameBuilder, BuildsTheBytesTheSameLibtinsCallsBuild) {
  Tins::IP ip("10.0.0.2", "10.0.0.1");
  ip.ttl(64);
  ip.id(4660);
  ip.tos(0x10);
  ip.flags(Tins::IP::DONT_FRAGMENT);
  Tins::TCP tcp(80, 40000);
  tcp.flags(Tins::TCP::SYN);
  tcp.seq(1000);
  tcp.window(64240);
  tcp.mss(1460);
  auto by_hand =
      (Tins::EthernetII(kRouterMac, kClientMac) / ip / tcp / Tins::RawPDU("hello")).serialize();
  auto built = frame()
                   .eth(kClientMac, kRouterMac)
                   .ipv4("10.0.0.1", "10.0.0.2")
                   .ttl(64)
                   .id(4660)
                   .tos(0x10)
                   .dont_fragment()
                   .tcp(40000, 80)
                   .flags(SYN)
                   .seq(1000)
                   .window(64240)
                   .mss(1460)
                   .payload("hello")
                   .bytes();
  EXPECT_EQ(built, by_hand);
}

TEST(FrameBuilder, UnsetFieldsKeepLibtinsDefaults) {
  auto by_hand =
      (Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::TCP(80, 40000)).serialize();
  EXPECT_EQ(frame().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80).bytes(), by_hand);
  auto udp_by_hand = (Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 40000) /
                      Tins::RawPDU("q"))
                         .serialize();
  EXPECT_EQ(frame().ipv4("10.0.0.1", "10.0.0.2").udp(40000, 53).payload("q").bytes(), udp_by_hand);
}

TEST(FrameBuilder, IpSrcReplacesTheSourceOnly) {
  Tins::EthernetII built =
      frame().ipv4("10.0.0.1", "10.0.0.2").ttl(5).ip_src("172.16.0.9").tcp(1, 2).pdu();
  const auto& ip = built.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip.src_addr(), Ipv4("172.16.0.9"));
  EXPECT_EQ(ip.dst_addr(), Ipv4("10.0.0.2"));
  EXPECT_EQ(ip.ttl(), 5);
}

TEST(FrameBuilder, AFieldBeforeItsHeaderIsATestBug) {
  EXPECT_THROW(frame().ttl(64), std::logic_error);
  EXPECT_THROW(frame().ipv4("10.0.0.1", "10.0.0.2").flags(SYN), std::logic_error);
}

}  // namespace
}  // namespace vslab::frames
