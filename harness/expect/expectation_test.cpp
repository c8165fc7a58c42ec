// expectation_test: expected frames built and edited the way conformance tests do, compared
// with captured frames built independently; masks, missing fields and the printed diff.
#include "expect/expectation.h"
#include "frames/frame_builder.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <tins/tins.h>

namespace vslab::expect {
namespace {

std::vector<uint8_t> wire(const Tins::PDU& frame) {
  std::unique_ptr<Tins::PDU> copy(frame.clone());
  return copy->serialize();
}

struct SynParams {
  std::string eth_dst = "02:00:00:00:00:02";
  std::string ip_dst = "10.0.0.2";
  int ttl = 64;
  int ip_id = 100;
  int sport = 40000;
  int dport = 80;
};

// 10.0.0.1:40000 -> 10.0.0.2:80, SYN carrying "hello".
Tins::EthernetII tcp_syn(const SynParams& p = {}) {
  return frames::frame()
      .eth("02:00:00:00:00:01", p.eth_dst)
      .ipv4("10.0.0.1", p.ip_dst)
      .ttl(static_cast<uint8_t>(p.ttl))
      .id(static_cast<uint16_t>(p.ip_id))
      .tcp(static_cast<uint16_t>(p.sport), static_cast<uint16_t>(p.dport))
      .flags(frames::SYN)
      .seq(1000)
      .window(64240)
      .payload("hello")
      .pdu();
}

Tins::EthernetII udp_datagram() {
  Tins::IP ip("10.0.0.2", "10.0.0.1");
  ip.ttl(64);
  ip.id(100);
  return Tins::EthernetII("02:00:00:00:00:02", "02:00:00:00:00:01") / ip / Tins::UDP(80, 40000) /
         Tins::RawPDU("hello");
}

const FieldCheck* row(const Comparison& c, const std::string& name) {
  auto it = std::find_if(c.rows.begin(), c.rows.end(),
                         [&name](const FieldCheck& r) { return r.name == name; });
  return it == c.rows.end() ? nullptr : &*it;
}

std::vector<std::string> mismatched_names(const Comparison& c) {
  std::vector<std::string> names;
  for (const FieldCheck& r : c.rows) {
    if (!r.ok) names.push_back(r.name);
  }
  return names;
}

TEST(FrameExpectation, IdenticalFrameComparesOk) {
  Comparison c = FrameExpectation(tcp_syn()).compare(wire(tcp_syn()));
  EXPECT_TRUE(c.ok()) << c.diff();
  // eth 3 + ip 11 + tcp 8 + payload
  EXPECT_EQ(c.rows.size(), 23u);
}

TEST(FrameExpectation, BytesAreTheSerialisedFrame) {
  EXPECT_EQ(FrameExpectation(tcp_syn()).bytes(), wire(tcp_syn()));
}

TEST(FrameExpectation, EditedTtlDiffersOnlyInTtlAndChecksumStaysValid) {
  FrameExpectation want = FrameExpectation(tcp_syn()).ttl(63);
  Comparison c = want.compare(wire(tcp_syn()));

  EXPECT_EQ(want.ttl(), 63);
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"ip.ttl"});
  EXPECT_EQ(row(c, "ip.ttl")->expected, "63");
  EXPECT_EQ(row(c, "ip.ttl")->captured, "64");
  EXPECT_EQ(row(c, "ip.csum")->expected, "valid");
  EXPECT_TRUE(row(c, "ip.csum")->ok);
}

TEST(FrameExpectation, EditedTtlMatchesAFrameSentWithThatTtl) {
  FrameExpectation want = FrameExpectation(tcp_syn()).ttl(63);
  EXPECT_TRUE(want.compare(wire(tcp_syn({.ttl = 63}))).ok());
}

TEST(FrameExpectation, NatRewriteEditsMatchTheRewrittenFrame) {
  FrameExpectation want = FrameExpectation(tcp_syn())
                              .eth_dst("02:00:00:00:00:0A")
                              .ip_dst("10.0.1.1")
                              .dport(8080)
                              .ttl(63);
  Tins::EthernetII rewritten =
      tcp_syn({.eth_dst = "02:00:00:00:00:0a", .ip_dst = "10.0.1.1", .ttl = 63, .dport = 8080});
  Comparison c = want.compare(wire(rewritten));
  EXPECT_TRUE(c.ok()) << c.diff();

  Comparison against_original = want.compare(wire(tcp_syn()));
  std::vector<std::string> rewritten_fields = {"eth.dst", "ip.dst", "ip.ttl", "tcp.dport"};
  EXPECT_EQ(mismatched_names(against_original), rewritten_fields);
}

TEST(FrameExpectation, EveryOuterEditReachesTheWire) {
  Tins::EthernetII sent = tcp_syn();
  FrameExpectation want = FrameExpectation(sent)
                              .eth_src("02:00:00:00:00:0b")
                              .ip_src("192.0.2.1")
                              .tos(0x10)
                              .df(true)
                              .ip_id(7)
                              .sport(1025);
  Comparison c = want.compare(wire(sent));
  std::vector<std::string> edited = {"eth.src", "ip.src", "ip.tos", "ip.df", "ip.id", "tcp.sport"};
  EXPECT_EQ(mismatched_names(c), edited);
  EXPECT_EQ(row(c, "eth.src")->expected, "02:00:00:00:00:0b");
  EXPECT_EQ(row(c, "ip.src")->expected, "192.0.2.1");
  EXPECT_EQ(row(c, "ip.tos")->expected, "0x10");
  EXPECT_EQ(row(c, "ip.df")->expected, "1");
  EXPECT_EQ(row(c, "ip.id")->expected, "7");
  EXPECT_EQ(row(c, "tcp.sport")->expected, "1025");
}

TEST(FrameExpectation, DfFalseClearsOnlyDf) {
  Tins::EthernetII sent = tcp_syn();
  sent.rfind_pdu<Tins::IP>().flags(
      static_cast<Tins::IP::Flags>(Tins::IP::DONT_FRAGMENT | Tins::IP::MORE_FRAGMENTS));
  Comparison c = FrameExpectation(sent).df(false).compare(wire(sent));
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"ip.df"});
  EXPECT_EQ(row(c, "ip.mf")->expected, "1");
}

// LVS-TUN: the client's packet inside 10.0.0.3 -> 10.0.1.1.
Tins::EthernetII ipip(const std::string& inner_dst, int inner_ttl, int dport) {
  Tins::IP outer("10.0.1.1", "10.0.0.3");
  outer.ttl(64);
  Tins::IP inner(inner_dst, "10.0.0.1");
  inner.ttl(static_cast<uint8_t>(inner_ttl));
  return Tins::EthernetII() / outer / inner / Tins::UDP(static_cast<uint16_t>(dport), 40000);
}

TEST(FrameExpectation, InnerEditsAndPortsActOnTheEncapsulatedPacket) {
  FrameExpectation want =
      FrameExpectation(ipip("10.0.0.2", 64, 53)).inner_ip_dst("10.0.0.9").inner_ttl(63).dport(54);
  Comparison c = want.compare(wire(ipip("10.0.0.2", 64, 53)));
  std::vector<std::string> edited = {"inner.ip.dst", "inner.ip.ttl", "udp.dport"};
  EXPECT_EQ(mismatched_names(c), edited);
  EXPECT_TRUE(want.compare(wire(ipip("10.0.0.9", 63, 54))).ok());
}

TEST(FrameExpectation, InnerIpSrcEdit) {
  FrameExpectation want = FrameExpectation(ipip("10.0.0.2", 64, 53)).inner_ip_src("10.0.0.7");
  Comparison c = want.compare(wire(ipip("10.0.0.2", 64, 53)));
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"inner.ip.src"});
  EXPECT_EQ(row(c, "inner.ip.src")->expected, "10.0.0.7");
}

TEST(FrameExpectation, IgnoredIpIdAcceptsAnyId) {
  std::vector<uint8_t> captured = wire(tcp_syn({.ip_id = 101}));
  EXPECT_EQ(mismatched_names(FrameExpectation(tcp_syn()).compare(captured)),
            std::vector<std::string>{"ip.id"});

  Comparison c = FrameExpectation(tcp_syn()).ignore(Field::IpId).compare(captured);
  EXPECT_TRUE(c.ok()) << c.diff();
  EXPECT_EQ(row(c, "ip.id")->expected, "(ignored)");
  EXPECT_EQ(row(c, "ip.id")->captured, "101");
}

TEST(FrameExpectation, IgnoredFieldMayBeAbsent) {
  Comparison c = FrameExpectation(tcp_syn()).ignore(Field::TcpSeq).compare(std::vector<uint8_t>{});
  const FieldCheck* seq = row(c, "tcp.seq");
  ASSERT_NE(seq, nullptr);
  EXPECT_TRUE(seq->ok);
  EXPECT_EQ(seq->captured, "-");
}

TEST(FrameExpectation, AnyOfAcceptsOnlyTheListedTexts) {
  FrameExpectation want = FrameExpectation(tcp_syn()).any_of(Field::IpTtl, {"63", "64"});
  EXPECT_TRUE(want.compare(wire(tcp_syn({.ttl = 64}))).ok());
  EXPECT_TRUE(want.compare(wire(tcp_syn({.ttl = 63}))).ok());

  Comparison c = want.compare(wire(tcp_syn({.ttl = 62})));
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"ip.ttl"});
  EXPECT_EQ(row(c, "ip.ttl")->expected, "any of {63, 64}");
  EXPECT_EQ(row(c, "ip.ttl")->captured, "62");
}

TEST(FrameExpectation, InRangeChecksTheNumberInclusively) {
  FrameExpectation want = FrameExpectation(tcp_syn()).in_range(Field::SrcPort, 1024, 65535);
  EXPECT_TRUE(want.compare(wire(tcp_syn({.sport = 40000}))).ok());
  EXPECT_TRUE(want.compare(wire(tcp_syn({.sport = 1024}))).ok());

  Comparison c = want.compare(wire(tcp_syn({.sport = 1023})));
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"tcp.sport"});
  EXPECT_EQ(row(c, "tcp.sport")->expected, "in [1024, 65535]");
  EXPECT_EQ(row(c, "tcp.sport")->captured, "1023");
}

TEST(FrameExpectation, ExpectTextPinsAChecksumVerdict) {
  std::vector<uint8_t> no_checksum = wire(udp_datagram());
  no_checksum.at(14 + 20 + 6) = 0;
  no_checksum.at(14 + 20 + 7) = 0;
  EXPECT_EQ(mismatched_names(FrameExpectation(udp_datagram()).compare(no_checksum)),
            std::vector<std::string>{"udp.csum"});

  FrameExpectation want = FrameExpectation(udp_datagram()).expect_text(Field::L4Checksum, "zero");
  EXPECT_TRUE(want.compare(no_checksum).ok());
  Comparison c = want.compare(wire(udp_datagram()));
  EXPECT_EQ(row(c, "udp.csum")->expected, "zero");
  EXPECT_EQ(row(c, "udp.csum")->captured, "valid");
  EXPECT_FALSE(c.ok());
}

TEST(FrameExpectation, ExpectTextNamesANumericFieldByItsNumberToo) {
  // ip.tos dissects as "0x28": its number 40 names it as well, 41 does not.
  Tins::EthernetII frame = tcp_syn();
  frame.rfind_pdu<Tins::IP>().tos(0x28);
  const auto bytes = wire(frame);
  EXPECT_TRUE(FrameExpectation(frame).expect_text(Field::IpTos, "0x28").compare(bytes).ok());
  EXPECT_TRUE(FrameExpectation(frame).expect_text(Field::IpTos, "40").compare(bytes).ok());
  EXPECT_FALSE(FrameExpectation(frame).expect_text(Field::IpTos, "41").compare(bytes).ok());
}

TEST(FrameExpectation, LaterMaskOnAFieldReplacesTheEarlierOne) {
  FrameExpectation want =
      FrameExpectation(tcp_syn()).ignore(Field::IpTtl).any_of(Field::IpTtl, {"1"});
  EXPECT_FALSE(want.compare(wire(tcp_syn())).ok());
}

TEST(FrameExpectation, MaskOnAFieldNeitherFrameHasFails) {
  Comparison c =
      FrameExpectation(tcp_syn()).in_range(Field::IcmpId, 0, 10).compare(wire(tcp_syn()));
  EXPECT_EQ(mismatched_names(c), std::vector<std::string>{"icmp.id"});
  EXPECT_EQ(row(c, "icmp.id")->expected, "in [0, 10]");
  EXPECT_EQ(row(c, "icmp.id")->captured, "-");
}

TEST(FrameExpectation, UdpCapturedForTcpExpectedListsMissingAndExtraFields) {
  Comparison c = FrameExpectation(tcp_syn()).compare(wire(udp_datagram()));
  std::vector<std::string> want = {"ip.proto",  //
                                   "ip.len",    // 45 vs 33
                                   "tcp.sport", "udp.sport", "tcp.dport", "udp.dport",
                                   "tcp.flags",                                           //
                                   "tcp.seq",   "tcp.ack",   "tcp.win",   "tcp.options",  //
                                   "tcp.csum",  "udp.csum"};
  EXPECT_EQ(mismatched_names(c), want);
  EXPECT_EQ(row(c, "ip.proto")->expected, "6");
  EXPECT_EQ(row(c, "ip.proto")->captured, "17");
  EXPECT_EQ(row(c, "tcp.flags")->expected, "SYN");
  EXPECT_EQ(row(c, "tcp.flags")->captured, "-");
  EXPECT_EQ(row(c, "udp.sport")->expected, "-");
  EXPECT_EQ(row(c, "udp.sport")->captured, "40000");
  EXPECT_TRUE(row(c, "payload")->ok);
}

TEST(FrameExpectation, TruncatedCaptureShowsWhyItIsMalformed) {
  std::vector<uint8_t> captured = wire(tcp_syn());
  captured.resize(30);
  Comparison c = FrameExpectation(tcp_syn()).compare(captured);
  const FieldCheck* malformed = row(c, "malformed");
  ASSERT_NE(malformed, nullptr);
  EXPECT_FALSE(malformed->ok);
  EXPECT_EQ(malformed->expected, "-");
  EXPECT_EQ(malformed->captured, "truncated IPv4 header: 16 of 20 bytes");
  EXPECT_EQ(row(c, "ip.src")->captured, "-");
}

TEST(FrameExpectation, DiffMarksMismatchesAndCountsThem) {
  std::string diff = FrameExpectation(tcp_syn()).ttl(63).compare(wire(tcp_syn())).diff();
  EXPECT_NE(diff.find("  field            expected                          captured\n"),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("\n! ip.ttl           63                                64\n"),
            std::string::npos)
      << diff;
  EXPECT_NE(diff.find("\n  ip.dst           10.0.0.2                          10.0.0.2\n"),
            std::string::npos)
      << diff;
  EXPECT_TRUE(diff.ends_with("\n1 of 23 fields differ\n")) << diff;
}

TEST(FrameExpectation, DiffShortensLongPayloadsAroundTheFirstDifference) {
  auto with_payload = [](const std::string& text) {
    return Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(80, 40000) /
           Tins::RawPDU(text);
  };
  std::string sent(200, 'a');
  std::string received = sent;
  received[150] = 'b';
  std::string diff =
      FrameExpectation(with_payload(sent)).compare(wire(with_payload(received))).diff();

  // Shown from the 16-byte line holding byte 150: bytes 144..199, all of them.
  std::string expected_hex, captured_hex;
  for (int i = 144; i < 200; ++i) {
    expected_hex += "61";
    captured_hex += i == 150 ? "62" : "61";
  }
  EXPECT_NE(diff.find("! payload          200 bytes, from byte 144: " + expected_hex + "\n"),
            std::string::npos)
      << diff;
  EXPECT_NE(
      diff.find(std::string(2 + 17 + 34, ' ') + "200 bytes, from byte 144: " + captured_hex + "\n"),
      std::string::npos)
      << diff;
}

TEST(FrameExpectation, DiffCutsLongPayloadsAfter64Bytes) {
  auto with_payload = [](const std::string& text) {
    return Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(80, 40000) /
           Tins::RawPDU(text);
  };
  std::string diff = FrameExpectation(with_payload(std::string(100, 'a')))
                         .compare(wire(with_payload(std::string(100, 'a'))))
                         .diff();
  std::string sixty_four_bytes;
  for (int i = 0; i < 64; ++i) sixty_four_bytes += "61";
  EXPECT_NE(diff.find("  payload          100 bytes: " + sixty_four_bytes + "...\n"),
            std::string::npos)
      << diff;
}

TEST(FrameExpectation, CopiesAreIndependent) {
  FrameExpectation original(tcp_syn());
  FrameExpectation copy = original;
  copy.ttl(1).ignore(Field::IpId);
  EXPECT_TRUE(original.compare(wire(tcp_syn())).ok());
  EXPECT_FALSE(copy.compare(wire(tcp_syn())).ok());

  FrameExpectation assigned(udp_datagram());
  assigned = copy;
  EXPECT_EQ(assigned.bytes(), copy.bytes());
  FrameExpectation moved = std::move(assigned);
  EXPECT_EQ(moved.bytes(), copy.bytes());
}

TEST(FrameExpectation, EditingAHeaderTheFrameLacksThrows) {
  Tins::IP no_ethernet = Tins::IP("10.0.0.2", "10.0.0.1") / Tins::TCP(80, 40000);
  EXPECT_THROW(FrameExpectation(no_ethernet).eth_dst("02:00:00:00:00:03"), std::logic_error);

  Tins::EthernetII arp = Tins::ARP::make_arp_request("10.0.0.2", "10.0.0.1", "02:00:00:00:00:01");
  EXPECT_THROW(FrameExpectation(arp).ttl(63), std::logic_error);

  Tins::EthernetII echo =
      Tins::EthernetII() / Tins::IP("10.0.0.2", "10.0.0.1") / Tins::ICMP(Tins::ICMP::ECHO_REQUEST);
  EXPECT_THROW(FrameExpectation(echo).dport(80), std::logic_error);

  EXPECT_THROW(FrameExpectation(tcp_syn()).inner_ttl(63), std::logic_error);
}

TEST(FrameExpectation, PortEditOfAnIcmpErrorDoesNotReachIntoTheQuote) {
  Tins::EthernetII unreachable = Tins::EthernetII() / Tins::IP("10.0.0.1", "10.0.0.2") /
                                 Tins::ICMP(Tins::ICMP::DEST_UNREACHABLE) /
                                 Tins::IP("10.0.0.2", "10.0.0.1") / Tins::UDP(53, 40000);
  EXPECT_THROW(FrameExpectation(unreachable).sport(1), std::logic_error);
}

TEST(FrameExpectation, BadValuesThrowWithTheEditName) {
  FrameExpectation want(tcp_syn());
  EXPECT_THROW(want.ttl(256), std::out_of_range);
  EXPECT_THROW(want.sport(-1), std::out_of_range);
  EXPECT_THROW(want.ip_dst("10.0.0"), std::invalid_argument);
  EXPECT_THROW(want.eth_dst("02:00:00:00:00:01:ff"), std::invalid_argument);
  EXPECT_THROW(want.in_range(Field::IpTtl, 10, 9), std::invalid_argument);
  EXPECT_THROW(want.any_of(Field::IpTtl, {}), std::invalid_argument);
  try {
    want.eth_src("not a mac");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "FrameExpectation::eth_src: \"not a mac\" is not a MAC like 02:00:00:00:00:01");
  }
}

}  // namespace
}  // namespace vslab::expect
