// fields_test: frames built with libtins, dissected, and checked against values written out
// by hand; then broken frames (corrupt, truncated, padded, random) that must dissect safely.
#include "expect/fields.h"
#include "frames/frame_builder.h"

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <tins/tins.h>

namespace vslab::expect {
namespace {

using Named = std::vector<std::pair<std::string, std::string>>;

std::vector<uint8_t> wire(const Tins::PDU& frame) {
  std::unique_ptr<Tins::PDU> copy(frame.clone());
  return copy->serialize();
}

Named named(const std::vector<FieldEntry>& entries) {
  Named out;
  for (const FieldEntry& e : entries) out.emplace_back(e.name, e.value.text);
  return out;
}

Named dissect_named(const std::vector<uint8_t>& bytes) {
  return named(dissect(bytes));
}

const FieldEntry* find(const std::vector<FieldEntry>& entries, const std::string& name) {
  for (const FieldEntry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string text_of(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::vector<FieldEntry> entries = dissect(bytes);
  const FieldEntry* e = find(entries, name);
  return e ? e->value.text : "(absent)";
}

void put16(std::vector<uint8_t>& bytes, std::size_t at, uint16_t value) {
  bytes.at(at) = static_cast<uint8_t>(value >> 8);
  bytes.at(at + 1) = static_cast<uint8_t>(value);
}

const Tins::EthernetII::address_type kClientMac("02:00:00:00:00:01");
const Tins::EthernetII::address_type kDirectorMac("02:00:00:00:00:02");

// 10.0.0.1:40000 -> 10.0.0.2:80, SYN with MSS 1460 and "hello".
Tins::EthernetII tcp_syn_with_payload() {
  return frames::frame()
      .eth(kClientMac, kDirectorMac)
      .ipv4("10.0.0.1", "10.0.0.2")
      .ttl(64)
      .id(4660)
      .tos(0x10)
      .dont_fragment()
      .tcp(40000, 80)
      .flags(frames::SYN)
      .seq(1000)
      .window(64240)
      .mss(1460)
      .payload("hello")
      .pdu();
}

// 10.0.0.1:40000 -> 10.0.0.2:53 carrying "abc". Its UDP checksum, worked out by hand:
// pseudo-header 0a00+0001+0a00+0002+0011+000b = 141f, header 9c40+0035+000b = 9c80,
// data 6162+6300 = c462; total 17501 -> 7502 -> complement 8afd.
Tins::IP udp_abc() {
  Tins::IP ip("10.0.0.2", "10.0.0.1");
  ip.ttl(64);
  ip.id(1);
  return ip / Tins::UDP(53, 40000) / Tins::RawPDU("abc");
}

// An ICMP port unreachable from 10.0.0.2 quoting udp_abc().
Tins::EthernetII port_unreachable() {
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  return Tins::EthernetII() / Tins::IP("10.0.0.1", "10.0.0.2") / unreachable / udp_abc();
}

TEST(Dissect, TcpSynWithPayloadGivesEveryFieldInWireOrder) {
  Named want = {{"eth.dst", "02:00:00:00:00:02"},
                {"eth.src", "02:00:00:00:00:01"},
                {"eth.type", "0x0800"},
                {"ip.src", "10.0.0.1"},
                {"ip.dst", "10.0.0.2"},
                {"ip.ttl", "64"},
                {"ip.proto", "6"},
                {"ip.tos", "0x10"},
                {"ip.df", "1"},
                {"ip.mf", "0"},
                {"ip.frag", "0"},
                {"ip.id", "4660"},
                {"ip.len", "49"},  // 20 + 24 (MSS option) + 5
                {"ip.csum", "valid"},
                {"tcp.sport", "40000"},
                {"tcp.dport", "80"},
                {"tcp.flags", "SYN"},
                {"tcp.seq", "1000"},
                {"tcp.ack", "0"},
                {"tcp.win", "64240"},
                {"tcp.options", "020405b4"},
                {"tcp.csum", "valid"},
                {"payload", "5 bytes: 68656c6c6f"}};
  EXPECT_EQ(dissect_named(wire(tcp_syn_with_payload())), want);
}

TEST(Dissect, NumericFieldsCarryTheirNumber) {
  std::vector<FieldEntry> entries = dissect(wire(tcp_syn_with_payload()));
  EXPECT_EQ(find(entries, "ip.ttl")->value.number, 64u);
  EXPECT_EQ(find(entries, "ip.tos")->value.number, 16u);
  EXPECT_EQ(find(entries, "ip.id")->value.number, 4660u);
  EXPECT_EQ(find(entries, "tcp.sport")->value.number, 40000u);
  EXPECT_EQ(find(entries, "tcp.seq")->value.number, 1000u);
  EXPECT_EQ(find(entries, "eth.type")->value.number, 0x0800u);
  EXPECT_EQ(find(entries, "ip.csum")->value.number, std::nullopt);
}

TEST(Dissect, UdpDatagram) {
  Named want = {{"eth.dst", "02:00:00:00:00:02"},
                {"eth.src", "02:00:00:00:00:01"},
                {"eth.type", "0x0800"},
                {"ip.src", "10.0.0.1"},
                {"ip.dst", "10.0.0.2"},
                {"ip.ttl", "64"},
                {"ip.proto", "17"},
                {"ip.tos", "0x00"},
                {"ip.df", "0"},
                {"ip.mf", "0"},
                {"ip.frag", "0"},
                {"ip.id", "1"},
                {"ip.len", "31"},
                {"ip.csum", "valid"},
                {"udp.sport", "40000"},
                {"udp.dport", "53"},
                {"udp.csum", "valid"},
                {"payload", "3 bytes: 616263"}};
  EXPECT_EQ(dissect_named(wire(Tins::EthernetII(kDirectorMac, kClientMac) / udp_abc())), want);
}

TEST(Dissect, UdpChecksumZeroMeansNone) {
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / udp_abc());
  put16(bytes, 14 + 20 + 6, 0);
  EXPECT_EQ(text_of(bytes, "udp.csum"), "zero");
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");
}

TEST(Dissect, CorruptUdpChecksumSaysWhatItShouldBe) {
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / udp_abc());
  put16(bytes, 14 + 20 + 6, 0x1234);
  EXPECT_EQ(text_of(bytes, "udp.csum"), "invalid (is 0x1234, should be 0x8afd)");
}

// The header of the example in Wikipedia's "IPv4 header checksum": 4500 0073 0000 4000 4011
// b861 c0a8 0001 c0a8 00c7, checksum 0xb861.
TEST(Dissect, CorruptIpChecksumSaysWhatItShouldBe) {
  Tins::IP ip("192.168.0.199", "192.168.0.1");
  ip.ttl(64);
  ip.id(0);
  ip.flags(Tins::IP::DONT_FRAGMENT);
  std::vector<uint8_t> bytes =
      wire(Tins::EthernetII() / ip / Tins::UDP(53, 40000) / Tins::RawPDU(std::string(87, 'x')));
  ASSERT_EQ(bytes.at(24), 0xb8);
  ASSERT_EQ(bytes.at(25), 0x61);
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");

  put16(bytes, 24, 0x1234);
  EXPECT_EQ(text_of(bytes, "ip.csum"), "invalid (is 0x1234, should be 0xb861)");
  EXPECT_EQ(text_of(bytes, "udp.csum"), "valid");
}

TEST(Dissect, CorruptTcpChecksumSaysWhatItShouldBe) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  // libtins computed the checksum it wrote: an answer independent of the code under test.
  uint16_t sent = static_cast<uint16_t>(bytes.at(14 + 20 + 16) << 8 | bytes.at(14 + 20 + 17));
  put16(bytes, 14 + 20 + 16, 0xdead);
  EXPECT_EQ(text_of(bytes, "tcp.csum"),
            fmt::format("invalid (is 0xdead, should be 0x{:04x})", sent));
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");
}

TEST(Dissect, CorruptPayloadByteInvalidatesTcpChecksumOnly) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  bytes.at(14 + 20 + 24) = 'j';  // "hello" -> "jello"
  EXPECT_TRUE(text_of(bytes, "tcp.csum").starts_with("invalid (is 0x"));
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "payload"), "5 bytes: 6a656c6c6f");
}

TEST(Dissect, IcmpEchoRequest) {
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x1234);
  echo.sequence(7);
  Tins::IP ip("10.0.0.2", "10.0.0.1");
  Named all = dissect_named(wire(Tins::EthernetII() / ip / echo / Tins::RawPDU("ping")));
  Named icmp_fields(all.begin() + 14, all.end());
  Named want = {{"icmp.type", "8"}, {"icmp.code", "0"},     {"icmp.id", "4660"},
                {"icmp.seq", "7"},  {"icmp.csum", "valid"}, {"payload", "4 bytes: 70696e67"}};
  EXPECT_EQ(icmp_fields, want);
}

// The quoted header's checksum by hand: 4500+001f+0001+0000+4011+0a00+0001+0a00+0002 = 9934
// -> 66cb.
TEST(Dissect, IcmpPortUnreachableQuotesTheUdpDatagram) {
  std::vector<uint8_t> bytes = wire(port_unreachable());
  Named all = dissect_named(bytes);
  Named icmp_fields(all.begin() + 14, all.end());
  Named want = {
      {"icmp.type", "3"},
      {"icmp.code", "3"},
      {"quoted.ip.src", "10.0.0.1"},
      {"quoted.ip.dst", "10.0.0.2"},
      {"quoted.ip.ttl", "64"},
      {"quoted.ip.proto", "17"},
      {"quoted.ip.tos", "0x00"},
      {"quoted.ip.id", "1"},
      {"quoted.ip.csum", "valid"},
      {"quoted.sport", "40000"},
      {"quoted.dport", "53"},
      {"icmp.csum", "valid"},
      {"payload", "31 bytes: 4500001f00010000401166cb0a0000010a0000029c400035000b8afd616263"}};
  EXPECT_EQ(icmp_fields, want);
  EXPECT_EQ(text_of(bytes, "ip.len"), "59");  // 20 + 8 + 31
}

// A quoted header rewritten without its checksum following: the quoted destination moved by
// one, the checksum left at the hand-made 66cb, which now should be 66ca.
TEST(Dissect, AQuotedHeaderWithAStaleChecksumSaysSo) {
  std::vector<uint8_t> bytes = wire(port_unreachable());
  const std::size_t quoted_ip = 14 + 20 + 8;
  ++bytes.at(quoted_ip + 19);
  EXPECT_EQ(text_of(bytes, "quoted.ip.dst"), "10.0.0.3");
  EXPECT_EQ(text_of(bytes, "quoted.ip.csum"), "invalid (is 0x66cb, should be 0x66ca)");
}

TEST(Dissect, IcmpFragmentationNeededGivesNextHopMtu) {
  Tins::ICMP too_big(Tins::ICMP::DEST_UNREACHABLE);
  too_big.code(4);
  too_big.mtu(1480);
  std::vector<uint8_t> bytes =
      wire(Tins::EthernetII() / Tins::IP("10.0.0.1", "10.0.0.3") / too_big / udp_abc());
  EXPECT_EQ(text_of(bytes, "icmp.mtu"), "1480");
  EXPECT_EQ(text_of(bytes, "icmp.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "quoted.dport"), "53");
  EXPECT_EQ(text_of(bytes, "icmp.id"), "(absent)");
}

// LVS-TUN: director 10.0.0.3 -> real server 10.0.1.1 around the client's SYN.
Tins::EthernetII ipip_with_tcp() {
  Tins::IP outer("10.0.1.1", "10.0.0.3");
  outer.ttl(64);
  outer.id(7);
  Tins::IP inner("10.0.0.2", "10.0.0.1");
  inner.ttl(63);
  inner.id(4660);
  inner.flags(Tins::IP::DONT_FRAGMENT);
  Tins::TCP tcp(80, 40000);
  tcp.flags(Tins::TCP::SYN);
  tcp.seq(1000);
  tcp.window(64240);
  return Tins::EthernetII(kDirectorMac, kClientMac) / outer / inner / tcp;
}

TEST(Dissect, IpipGivesInnerHeaderAndInnerTcp) {
  Named want = {{"eth.dst", "02:00:00:00:00:02"},
                {"eth.src", "02:00:00:00:00:01"},
                {"eth.type", "0x0800"},
                {"ip.src", "10.0.0.3"},
                {"ip.dst", "10.0.1.1"},
                {"ip.ttl", "64"},
                {"ip.proto", "4"},
                {"ip.tos", "0x00"},
                {"ip.df", "0"},
                {"ip.mf", "0"},
                {"ip.frag", "0"},
                {"ip.id", "7"},
                {"ip.len", "60"},
                {"ip.csum", "valid"},
                {"inner.ip.src", "10.0.0.1"},
                {"inner.ip.dst", "10.0.0.2"},
                {"inner.ip.ttl", "63"},
                {"inner.ip.proto", "6"},
                {"inner.ip.tos", "0x00"},
                {"inner.ip.df", "1"},
                {"inner.ip.mf", "0"},
                {"inner.ip.frag", "0"},
                {"inner.ip.id", "4660"},
                {"inner.ip.len", "40"},
                {"inner.ip.csum", "valid"},
                {"tcp.sport", "40000"},
                {"tcp.dport", "80"},
                {"tcp.flags", "SYN"},
                {"tcp.seq", "1000"},
                {"tcp.ack", "0"},
                {"tcp.win", "64240"},
                {"tcp.options", "none"},
                {"tcp.csum", "valid"},
                {"payload", "0 bytes"}};
  EXPECT_EQ(dissect_named(wire(ipip_with_tcp())), want);
}

TEST(Dissect, CorruptInnerHeaderIsReportedAsInner) {
  std::vector<uint8_t> bytes = wire(ipip_with_tcp());
  bytes.at(14 + 20 + 8) = 62;  // inner TTL
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");
  EXPECT_TRUE(text_of(bytes, "inner.ip.csum").starts_with("invalid (is 0x"));
}

// Four NOP options (01 01 01 01), so IHL 6; the header checksum covers them. (libtins 4.0
// writes options that have a length byte, e.g. router alert, one byte too long, over the
// start of the UDP header, so NOPs it is.)
TEST(Dissect, Ipv4OptionsAreCoveredByTheHeaderChecksum) {
  Tins::IP ip = udp_abc();
  for (int i = 0; i < 4; ++i) ip.noop();
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / ip);
  ASSERT_EQ(bytes.at(14), 0x46);
  EXPECT_EQ(text_of(bytes, "ip.len"), "35");
  EXPECT_EQ(text_of(bytes, "ip.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "udp.sport"), "40000");
  EXPECT_EQ(text_of(bytes, "udp.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "payload"), "3 bytes: 616263");

  // By hand: 4600+0023+0001+0000+4011+0a00+0001+0a00+0002+0101+0101 = 9c3a -> 63c5; with the
  // last NOP turned into END (00) the sum is 9c39 -> 63c6.
  bytes.at(14 + 20 + 3) = 0;
  EXPECT_EQ(text_of(bytes, "ip.csum"), "invalid (is 0x63c5, should be 0x63c6)");
}

TEST(Dissect, Ipv4OptionsAreComparedAsBytes) {
  Tins::IP ip = udp_abc();
  for (int i = 0; i < 4; ++i) ip.noop();
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / ip);
  EXPECT_EQ(text_of(bytes, "ip.opts"), "01010101");
  bytes.at(14 + 20 + 3) = 0;
  EXPECT_EQ(text_of(bytes, "ip.opts"), "01010100");
  // A header without options has no such field.
  EXPECT_EQ(find(dissect(wire(Tins::EthernetII() / udp_abc())), "ip.opts"), nullptr);
}

TEST(Dissect, ArpRequest) {
  Tins::EthernetII request = Tins::ARP::make_arp_request("10.0.0.2", "10.0.0.1", kClientMac);
  Named want = {{"eth.dst", "ff:ff:ff:ff:ff:ff"}, {"eth.src", "02:00:00:00:00:01"},
                {"eth.type", "0x0806"},           {"arp.op", "1"},
                {"arp.sha", "02:00:00:00:00:01"}, {"arp.spa", "10.0.0.1"},
                {"arp.tha", "00:00:00:00:00:00"}, {"arp.tpa", "10.0.0.2"}};
  EXPECT_EQ(dissect_named(wire(request)), want);
}

TEST(Dissect, VlanTaggedFrameGivesVlanIdAndTheInnerType) {
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / Tins::Dot1Q(10) / udp_abc());
  Named all = dissect_named(bytes);
  Named head(all.begin(), all.begin() + 5);
  Named want = {{"eth.dst", "00:00:00:00:00:00"},
                {"eth.src", "00:00:00:00:00:00"},
                {"eth.type", "0x0800"},
                {"vlan.id", "10"},
                {"ip.src", "10.0.0.1"}};
  EXPECT_EQ(head, want);
  EXPECT_EQ(text_of(bytes, "udp.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "payload"), "3 bytes: 616263");
}

TEST(Dissect, NonFirstFragmentHasOnlyPayload) {
  Tins::IP ip("10.0.0.2", "10.0.0.1");
  ip.protocol(17);
  ip.fragment_offset(185);  // 185 * 8 = 1480 bytes
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / ip / Tins::RawPDU("tail-bytes"));
  Named all = dissect_named(bytes);
  Named after_ip(all.begin() + 10, all.end());
  Named want = {{"ip.frag", "1480"},
                {"ip.id", "1"},
                {"ip.len", "30"},
                {"ip.csum", "valid"},
                {"payload", "10 bytes: 7461696c2d6279746573"}};
  EXPECT_EQ(after_ip, want);
}

TEST(Dissect, FirstFragmentShowsL4ChecksumUnverified) {
  Tins::IP ip = udp_abc();
  ip.flags(Tins::IP::MORE_FRAGMENTS);
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / ip);
  EXPECT_EQ(text_of(bytes, "ip.mf"), "1");
  EXPECT_EQ(text_of(bytes, "udp.csum"), "0x8afd (fragment, not verified)");
}

TEST(Dissect, PaddedShortFrameHasValidChecksumAndEmptyPayload) {
  Tins::TCP tcp(80, 40000);
  tcp.flags(Tins::TCP::SYN);
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / tcp);
  ASSERT_EQ(bytes.size(), 60u);  // 54 bytes of headers, padded to the Ethernet minimum
  for (std::size_t i = 54; i < 60; ++i) bytes[i] = 0xee;  // padding need not be zero
  EXPECT_EQ(text_of(bytes, "ip.len"), "40");
  EXPECT_EQ(text_of(bytes, "tcp.csum"), "valid");
  EXPECT_EQ(text_of(bytes, "payload"), "0 bytes");
}

TEST(Dissect, TcpFlagsAreListedInHeaderBitOrder) {
  auto flags_text = [](uint16_t flags) {
    Tins::TCP tcp(80, 40000);
    tcp.flags(flags);
    return text_of(wire(Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / tcp), "tcp.flags");
  };
  EXPECT_EQ(flags_text(0), "none");
  EXPECT_EQ(flags_text(Tins::TCP::SYN | Tins::TCP::ACK), "SYN|ACK");
  EXPECT_EQ(flags_text(Tins::TCP::ACK | Tins::TCP::PSH | Tins::TCP::FIN), "FIN|PSH|ACK");
  EXPECT_EQ(flags_text(0xff), "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
}

TEST(Dissect, LongPayloadTextKeepsEveryByte) {
  std::string hundred(100, 'A');
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") /
                                    Tins::UDP(53, 40000) / Tins::RawPDU(hundred));
  std::string hex;
  for (int i = 0; i < 100; ++i) hex += "41";
  EXPECT_EQ(text_of(bytes, "payload"), "100 bytes: " + hex);
}

TEST(Dissect, Ipv6IsTakenApartUnderIp6Names) {
  // fields_ipv6_test.cpp has the rest; here only that IPv6 no longer ends in a payload.
  std::vector<uint8_t> bytes = wire(Tins::EthernetII() / Tins::IPv6() / Tins::UDP(1, 2));
  EXPECT_EQ(text_of(bytes, "eth.type"), "0x86dd");
  EXPECT_EQ(text_of(bytes, "ip.src"), "(absent)");
  EXPECT_EQ(text_of(bytes, "ip6.src"), "::");
  EXPECT_EQ(text_of(bytes, "udp.dport"), "1");
  EXPECT_EQ(text_of(bytes, "payload"), "0 bytes");
}

TEST(Dissect, EmptyFrameIsMalformed) {
  Named want = {{"malformed", "truncated Ethernet header: 0 of 14 bytes"}};
  EXPECT_EQ(dissect_named({}), want);
}

TEST(Dissect, TruncatedIpHeaderSaysHowMuchIsThere) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  bytes.resize(14 + 12);
  Named want = {{"eth.dst", "02:00:00:00:00:02"},
                {"eth.src", "02:00:00:00:00:01"},
                {"eth.type", "0x0800"},
                {"malformed", "truncated IPv4 header: 12 of 20 bytes"}};
  EXPECT_EQ(dissect_named(bytes), want);
}

TEST(Dissect, IhlBelowFiveIsMalformed) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  bytes.at(14) = 0x43;
  std::vector<FieldEntry> entries = dissect(bytes);
  EXPECT_EQ(entries.back().value.text, "IPv4 header length 12 (IHL 3) is below 20");
  EXPECT_EQ(find(entries, "ip.dst")->value.text, "10.0.0.2");
  EXPECT_EQ(find(entries, "tcp.sport"), nullptr);
}

TEST(Dissect, TotalLengthBeyondTheFrameIsMalformed) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  put16(bytes, 14 + 2, 1000);
  std::vector<FieldEntry> entries = dissect(bytes);
  EXPECT_EQ(entries.back().value.text, "truncated IPv4 packet: 49 of 1000 bytes");
  EXPECT_EQ(find(entries, "ip.len")->value.text, "1000");
}

TEST(Dissect, TcpDataOffsetBeyondTheSegmentIsMalformed) {
  std::vector<uint8_t> bytes = wire(tcp_syn_with_payload());
  bytes.at(14 + 20 + 12) = 0xf0;  // 60-byte header in a 29-byte segment
  EXPECT_EQ(dissect(bytes).back().value.text, "truncated TCP header with options: 29 of 60 bytes");
}

// Every prefix of a frame dissects, and either says where it broke off or, when only
// padding was cut, equals the whole frame's dissection. Each prefix is its own exact-size
// buffer so that AddressSanitizer sees any read past it.
void expect_every_prefix_dissects(const std::vector<uint8_t>& frame) {
  Named whole = dissect_named(frame);
  for (std::size_t length = 0; length <= frame.size(); ++length) {
    auto prefix = std::make_unique<uint8_t[]>(length + 1);
    std::copy(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(length), prefix.get());
    std::vector<FieldEntry> entries = dissect(std::span<const uint8_t>(prefix.get(), length));
    bool ends_malformed = !entries.empty() && entries.back().field == Field::Malformed;
    EXPECT_TRUE(ends_malformed || named(entries) == whole) << "prefix of " << length << " bytes";
  }
}

TEST(Dissect, EveryTruncationOfATcpFrameIsSafe) {
  expect_every_prefix_dissects(wire(tcp_syn_with_payload()));
}

TEST(Dissect, EveryTruncationOfAnIpipFrameIsSafe) {
  expect_every_prefix_dissects(wire(ipip_with_tcp()));
}

TEST(Dissect, EveryTruncationOfAnIcmpErrorIsSafe) {
  expect_every_prefix_dissects(wire(port_unreachable()));
}

// Random damage to sound frames: no throw, at most one Malformed entry and only at the end.
TEST(Dissect, RandomlyCorruptedFramesDissectSafely) {
  std::vector<std::vector<uint8_t>> seeds = {
      wire(tcp_syn_with_payload()), wire(ipip_with_tcp()), wire(port_unreachable()),
      wire(Tins::EthernetII() / Tins::Dot1Q(5) / udp_abc()),
      wire(Tins::ARP::make_arp_request("10.0.0.2", "10.0.0.1", kClientMac))};
  std::mt19937 random(20240601);
  for (const std::vector<uint8_t>& seed : seeds) {
    for (int round = 0; round < 2000; ++round) {
      std::vector<uint8_t> frame = seed;
      int damaged_bytes = 1 + static_cast<int>(random() % 6);
      for (int i = 0; i < damaged_bytes; ++i) {
        frame[random() % frame.size()] = static_cast<uint8_t>(random());
      }
      frame.resize(random() % (frame.size() + 1));
      std::vector<FieldEntry> entries = dissect(frame);
      for (std::size_t i = 0; i + 1 < entries.size(); ++i) {
        ASSERT_NE(entries[i].field, Field::Malformed) << "round " << round;
      }
    }
  }
}

TEST(FieldName, IsTheGenericName) {
  EXPECT_EQ(field_name(Field::EthDst), "eth.dst");
  EXPECT_EQ(field_name(Field::IpFragOffset), "ip.frag");
  EXPECT_EQ(field_name(Field::InnerIpChecksum), "inner.ip.csum");
  EXPECT_EQ(field_name(Field::SrcPort), "l4.sport");
  EXPECT_EQ(field_name(Field::L4Checksum), "l4.csum");
  EXPECT_EQ(field_name(Field::QuotedDstPort), "quoted.dport");
  EXPECT_EQ(field_name(Field::Malformed), "malformed");
}

}  // namespace
}  // namespace vslab::expect
