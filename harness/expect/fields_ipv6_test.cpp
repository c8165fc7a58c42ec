// fields_ipv6_test: IPv6 frames dissected field by field, against a frame written out byte by
// byte here (the oracle is the RFC's layout, not the builder), then frames built with the
// frame builder, each broken in one field that the dissection and the diff must name.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "expect/expectation.h"
#include "expect/fields.h"
#include "frames/frame_builder.h"

namespace vslab::expect {
namespace {

std::string text_of(const std::vector<uint8_t>& bytes, const std::string& name) {
  for (const FieldEntry& e : dissect(bytes))
    if (e.name == name) return e.value.text;
  return "(absent)";
}

const frames::Mac kClientMac("02:00:00:00:00:01");
const frames::Mac kRouterMac("02:00:00:00:00:02");

// fd00:10::2 -> fd00:20::100, UDP 40000 -> 53 carrying "hi", hop limit 64, traffic class
// 0xb8, flow label 0x12345. The checksum 0xffc7 is the RFC 8200 8.1 sum worked out apart from vslab
// (python): addresses, upper length 10, next header 17, then the UDP header and "hi".
std::vector<uint8_t> hand_written_udp6() {
  return {0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
          0x01, 0x86, 0xdd, 0x6b, 0x81, 0x23, 0x45, 0x00, 0x0a, 17,   64,  //
          0xfd, 0x00, 0x00, 0x10, 0,    0,    0,    0,    0,    0,    0,
          0,    0,    0,    0,    2,  //
          0xfd, 0x00, 0x00, 0x20, 0,    0,    0,    0,    0,    0,    0,
          0,    0,    0,    1,    0,  //
          0x9c, 0x40, 0x00, 0x35, 0x00, 0x0a, 0xff, 0xc7, 'h',  'i'};
}

TEST(FieldsIpv6, TakesTheFixedHeaderApartAsRfc8200LaysItOut) {
  auto bytes = hand_written_udp6();
  EXPECT_EQ(text_of(bytes, "eth.type"), "0x86dd");
  EXPECT_EQ(text_of(bytes, "ip6.src"), "fd00:10::2");
  EXPECT_EQ(text_of(bytes, "ip6.dst"), "fd00:20::100");
  EXPECT_EQ(text_of(bytes, "ip6.hlim"), "64");
  EXPECT_EQ(text_of(bytes, "ip6.tclass"), "0xb8");
  EXPECT_EQ(text_of(bytes, "ip6.flow"), "0x12345");
  EXPECT_EQ(text_of(bytes, "ip6.plen"), "10");
  EXPECT_EQ(text_of(bytes, "ip6.nxt"), "17");
  EXPECT_EQ(text_of(bytes, "udp.sport"), "40000");
  EXPECT_EQ(text_of(bytes, "udp.dport"), "53");
  EXPECT_EQ(text_of(bytes, "payload"), "2 bytes: 6869");
}

TEST(FieldsIpv6, VerifiesTheL4ChecksumOverTheIpv6PseudoHeader) {
  auto bytes = hand_written_udp6();
  EXPECT_EQ(text_of(bytes, "udp.csum"), "valid");
  auto other_destination = bytes;
  other_destination[14 + 39] = 0x01;  // fd00:20::101: only the pseudo-header sees it
  EXPECT_EQ(text_of(other_destination, "udp.csum"), "invalid (is 0xffc7, should be 0xffc6)");
}

TEST(FieldsIpv6, BuilderAndHandWrittenFrameAgree) {
  auto built = frames::frame()
                   .eth(kClientMac, kRouterMac)
                   .ipv6("fd00:10::2", "fd00:20::100")
                   .ttl(64)
                   .tos(0xb8)
                   .flow_label(0x12345)
                   .udp(40000, 53)
                   .payload("hi")
                   .bytes();
  EXPECT_EQ(built, hand_written_udp6());
}

frames::FrameBuilder tcp6_syn() {
  return frames::frame()
      .eth(kClientMac, kRouterMac)
      .ipv6("fd00:10::2", "fd00:20::100")
      .tcp(40000, 80)
      .flags(frames::SYN)
      .seq(1000);
}

// Each row: one byte of a valid frame changed, and the field the diff must name for it.
struct BrokenField {
  std::size_t at;  // offset in the frame
  uint8_t value;
  std::string field;
};

TEST(FieldsIpv6, TheDiffNamesEveryFieldThatIsWrong) {
  auto good = tcp6_syn().bytes();
  FrameExpectation want(tcp6_syn().pdu());
  ASSERT_TRUE(want.compare(good).ok()) << want.compare(good).diff();
  const std::vector<BrokenField> cases{
      {14 + 0, 0x61, "ip6.tclass"},     {14 + 3, 0x07, "ip6.flow"},
      {14 + 7, 63, "ip6.hlim"},         {14 + 8 + 15, 0x03, "ip6.src"},
      {14 + 24 + 15, 0x07, "ip6.dst"},  {14 + 40 + 1, 0x41, "tcp.sport"},
      {14 + 40 + 13, 0x12, "tcp.flags"}};
  for (const auto& c : cases) {
    auto bad = good;
    bad.at(c.at) = c.value;
    auto cmp = want.compare(bad);
    bool named = false;
    for (const auto& row : cmp.rows)
      if (!row.ok && row.name == c.field) named = true;
    EXPECT_TRUE(named) << c.field << " not flagged:\n" << cmp.diff();
  }
  auto wrong_length = good;
  wrong_length[14 + 5] = 0x10;  // payload length 16 of 20 bytes present
  EXPECT_FALSE(want.compare(wrong_length).ok());
  auto wrong_next = good;
  wrong_next[14 + 6] = 17;  // the TCP segment read as UDP
  EXPECT_FALSE(want.compare(wrong_next).ok());
}

TEST(FieldsIpv6, AMaskOnTheTtlCoversTheHopLimit) {
  auto bad = tcp6_syn().ttl(12).bytes();
  FrameExpectation want(tcp6_syn().pdu());
  EXPECT_FALSE(want.compare(bad).ok());
  want.ignore(Field::IpTtl);
  EXPECT_TRUE(want.compare(bad).ok()) << want.compare(bad).diff();
}

TEST(FieldsIpv6, Echo6CarriesIdAndSequenceAndAValidChecksum) {
  auto bytes = frames::frame()
                   .eth(kClientMac, kRouterMac)
                   .ipv6("fd00:10::2", "fd00:20::100")
                   .echo6_request(0x1234, 7)
                   .payload("ping")
                   .bytes();
  EXPECT_EQ(text_of(bytes, "ip6.nxt"), "58");
  EXPECT_EQ(text_of(bytes, "icmp6.type"), "128");
  EXPECT_EQ(text_of(bytes, "icmp6.id"), "4660");
  EXPECT_EQ(text_of(bytes, "icmp6.seq"), "7");
  EXPECT_EQ(text_of(bytes, "icmp6.csum"), "valid");
  bytes[14 + 40 + 4] ^= 0xff;
  EXPECT_EQ(text_of(bytes, "icmp6.csum").substr(0, 7), "invalid");
}

TEST(FieldsIpv6, AnErrorQuotesTheOffendingPacketWithItsPorts) {
  auto offending = frames::frame()
                       .eth(kRouterMac, kClientMac)
                       .ipv6("fd00:20::100", "fd00:10::2")
                       .ttl(63)
                       .udp(53, 40000)
                       .payload("answer")
                       .bytes();
  auto error = frames::frame()
                   .eth(kClientMac, kRouterMac)
                   .ipv6("fd00:10::2", "fd00:20::100")
                   .icmp6_error(1, 4, offending)  // port unreachable
                   .bytes();
  EXPECT_EQ(text_of(error, "icmp6.type"), "1");
  EXPECT_EQ(text_of(error, "icmp6.code"), "4");
  EXPECT_EQ(text_of(error, "icmp6.csum"), "valid");
  EXPECT_EQ(text_of(error, "quoted.ip6.src"), "fd00:20::100");
  EXPECT_EQ(text_of(error, "quoted.ip6.dst"), "fd00:10::2");
  EXPECT_EQ(text_of(error, "quoted.ip6.hlim"), "63");
  EXPECT_EQ(text_of(error, "quoted.ip6.nxt"), "17");
  EXPECT_EQ(text_of(error, "quoted.sport"), "53");
  EXPECT_EQ(text_of(error, "quoted.dport"), "40000");
  // The quote is what a NAT director rewrites: a wrong quoted port is a wrong frame.
  FrameExpectation want(Tins::EthernetII(error.data(), uint32_t(error.size())));
  auto other_port = error;
  other_port[14 + 48 + 40 + 1] = 54;
  EXPECT_FALSE(want.compare(other_port).ok());
}

TEST(FieldsIpv6, PacketTooBigCarriesTheMtuAndQuotesAtMost1280Bytes) {
  auto big = frames::frame()
                 .eth(kRouterMac, kClientMac)
                 .ipv6("fd00:10::2", "fd00:20::100")
                 .tcp(40000, 80)
                 .payload(std::string(1400, 'x'))
                 .bytes();
  auto ptb = frames::frame()
                 .eth(kClientMac, kRouterMac)
                 .ipv6("fd00:20::1", "fd00:10::2")
                 .icmp6_error(2, 0, big, 1280)
                 .bytes();
  EXPECT_EQ(text_of(ptb, "icmp6.mtu"), "1280");
  EXPECT_EQ(ptb.size(), 14u + 1280u);
  EXPECT_EQ(text_of(ptb, "icmp6.csum"), "valid");
  EXPECT_EQ(text_of(ptb, "quoted.dport"), "80");
}

TEST(FieldsIpv6, NeighbourSolicitationAndAdvertisement) {
  auto ns = frames::frame()
                .eth(kClientMac, frames::Mac("33:33:ff:00:00:01"))
                .ipv6("fd00:10::2", "ff02::1:ff00:1")
                .neighbour_solicit("fd00:10::1", kClientMac)
                .bytes();
  EXPECT_EQ(text_of(ns, "icmp6.type"), "135");
  EXPECT_EQ(text_of(ns, "ip6.hlim"), "255");
  EXPECT_EQ(text_of(ns, "nd.target"), "fd00:10::1");
  EXPECT_EQ(text_of(ns, "nd.lladdr"), "02:00:00:00:00:01");
  EXPECT_EQ(text_of(ns, "icmp6.csum"), "valid");
  auto na = frames::frame()
                .eth(kRouterMac, kClientMac)
                .ipv6("fd00:10::1", "fd00:10::2")
                .neighbour_advert("fd00:10::1", kRouterMac, true, true)
                .bytes();
  EXPECT_EQ(text_of(na, "icmp6.type"), "136");
  EXPECT_EQ(text_of(na, "nd.flags"), "S|O");
  EXPECT_EQ(text_of(na, "nd.lladdr"), "02:00:00:00:00:02");
  EXPECT_EQ(text_of(na, "icmp6.csum"), "valid");
}

TEST(FieldsIpv6, FragmentHeaderFieldsAndTheFirstFragmentsPorts) {
  auto whole = tcp6_syn().payload(std::string(100, 'y'));
  auto first = whole;
  first.fragment6(0xabcdef01, 0, true, 64);
  auto bytes = first.bytes();
  EXPECT_EQ(text_of(bytes, "ip6.nxt"), "44");
  EXPECT_EQ(text_of(bytes, "ip6.ext"), "frag");
  EXPECT_EQ(text_of(bytes, "ip6.frag.id"), std::to_string(0xabcdef01u));
  EXPECT_EQ(text_of(bytes, "ip6.frag.offset"), "0");
  EXPECT_EQ(text_of(bytes, "ip6.frag.m"), "1");
  EXPECT_EQ(text_of(bytes, "ip6.plen"), "72");
  EXPECT_EQ(text_of(bytes, "tcp.dport"), "80");
  auto second = whole;
  second.fragment6(0xabcdef01, 64, false);
  auto rest = second.bytes();
  EXPECT_EQ(text_of(rest, "ip6.frag.offset"), "64");
  EXPECT_EQ(text_of(rest, "ip6.frag.m"), "0");
  EXPECT_EQ(text_of(rest, "tcp.dport"), "(absent)");
  EXPECT_EQ(text_of(rest, "ip6.plen"), std::to_string(8 + 20 + 100 - 64));
}

TEST(FieldsIpv6, Ip6ip6AndIpipOverIpv6NameTheInnerHeader) {
  auto ip6ip6 = tcp6_syn().ttl(63).in_ipv6("fd00:60::1", "fd00:60::11").bytes();
  EXPECT_EQ(text_of(ip6ip6, "ip6.nxt"), "41");
  EXPECT_EQ(text_of(ip6ip6, "ip6.dst"), "fd00:60::11");
  EXPECT_EQ(text_of(ip6ip6, "inner.ip6.dst"), "fd00:20::100");
  EXPECT_EQ(text_of(ip6ip6, "inner.ip6.hlim"), "63");
  EXPECT_EQ(text_of(ip6ip6, "tcp.dport"), "80");
  EXPECT_EQ(text_of(ip6ip6, "tcp.csum"), "valid");
  auto ipip6 = frames::frame()
                   .eth(kClientMac, kRouterMac)
                   .ipv4("10.10.0.2", "10.20.0.100")
                   .udp(40000, 53)
                   .in_ipv6("fd00:60::1", "fd00:60::11")
                   .bytes();
  EXPECT_EQ(text_of(ipip6, "ip6.nxt"), "4");
  EXPECT_EQ(text_of(ipip6, "inner.ip.dst"), "10.20.0.100");
  EXPECT_EQ(text_of(ipip6, "udp.csum"), "valid");
}

TEST(FieldsIpv6, TruncatedIpv6DissectsSafely) {
  auto bytes = tcp6_syn().bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    auto entries = dissect(cut);
    if (n >= 14) {
      EXPECT_FALSE(entries.empty());
    }
  }
}

TEST(FieldsIpv6, ExpectationEditsActOnTheIpv6Header) {
  // What a NAT director does to the client's segment: new destination and port, two hops less.
  auto sent = tcp6_syn().pdu();
  FrameExpectation want(sent);
  want.ip_dst("fd00:168:10::11").ttl(62).dport(8080);
  auto rewritten = frames::frame()
                       .eth(kClientMac, kRouterMac)
                       .ipv6("fd00:10::2", "fd00:168:10::11")
                       .ttl(62)
                       .tcp(40000, 8080)
                       .flags(frames::SYN)
                       .seq(1000)
                       .bytes();
  EXPECT_TRUE(want.compare(rewritten).ok()) << want.compare(rewritten).diff();
  // The same segment with the checksum of the unrewritten one: a director that forgot the
  // pseudo-header's change.
  auto stale = rewritten;
  auto original = tcp6_syn().bytes();
  stale[14 + 40 + 16] = original[14 + 40 + 16];
  stale[14 + 40 + 17] = original[14 + 40 + 17];
  auto cmp = want.compare(stale);
  ASSERT_FALSE(cmp.ok());
  bool named = false;
  for (const auto& row : cmp.rows)
    if (!row.ok && row.name == "tcp.csum") named = true;
  EXPECT_TRUE(named) << cmp.diff();
  EXPECT_THROW(want.ip_src("10.0.0.1"), std::invalid_argument);
}

}  // namespace
}  // namespace vslab::expect
