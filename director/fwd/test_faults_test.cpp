// The forwarding test faults (test_faults.h): off, every rewrite is what the spec says; on,
// exactly the faulted field is wrong and every checksum still verifies, so a conformance
// check that catches the fault can only do it by the field itself.
#include "fwd/test_faults.h"

#include <gtest/gtest.h>

#include "fwd/dr.h"
#include "fwd/fullnat.h"
#include "fwd/nat.h"
#include "fwd/test_frames.h"
#include "fwd/tun.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const EthAddrs kToRealServer{mac(kDirectorIntMac), mac(kRsMac)};
const EthAddrs kToClient{mac(kDirectorExtMac), mac(kClientMac)};
const Endpoint kLocal{ip(kLip), 5001};
const Endpoint kRealServer{ip(kRip), 8080};
const Endpoint kService{ip(kVip), 80};
const Endpoint kClient{ip(kCip), 40000};
constexpr std::size_t kTtlAt = 14 + 8;

Bytes client_segment() {
  auto frame = ethernet(kClientMac, kDirectorExtMac) / ipv4(kCip, kVip) /
               tcp(40000, 80, Tins::TCP::PSH | Tins::TCP::ACK) / Tins::RawPDU(payload_bytes(21));
  return serialize(frame);
}

Bytes server_reply() {
  auto frame = ethernet(kRsMac, kDirectorIntMac) / ipv4(kRip, kCip) /
               tcp(8080, 40000, Tins::TCP::ACK, 7000, 1001) / Tins::RawPDU(payload_bytes(9));
  return serialize(frame);
}

// Each test starts from the product's defaults and leaves them so for the next.
class TestFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { test_faults = {}; }
  void TearDown() override { test_faults = {}; }
};

using DecTtl = TestFaultsTest;
using NoTtlDecrement = TestFaultsTest;
using NoNatReplyRewrite = TestFaultsTest;

TEST_F(DecTtl, TakesOneOffByDefault) {
  Bytes frame = client_segment();
  dec_ttl(span_of(frame), view_of(frame));
  EXPECT_EQ(frame[kTtlAt], 63);
  EXPECT_TRUE(ip_checksum_valid(frame));
}

TEST_F(NoTtlDecrement, LeavesThePacketAsItCame) {
  test_faults.ttl_decrement = 0;
  Bytes frame = client_segment();
  const Bytes before = frame;
  dec_ttl(span_of(frame), view_of(frame));
  EXPECT_EQ(frame, before);
}

TEST_F(NoTtlDecrement, NatKeepsTheTtlBothWays) {
  test_faults.ttl_decrement = 0;
  Bytes in = client_segment();
  nat_in(span_of(in), view_of(in), kRealServer, kToRealServer);
  Bytes out = server_reply();
  nat_out(span_of(out), view_of(out), kService, kToClient);

  for (const Bytes* frame : {&in, &out}) {
    EXPECT_EQ(parse(*frame).rfind_pdu<Tins::IP>().ttl(), 64);
    EXPECT_TRUE(ip_checksum_valid(*frame));
    EXPECT_TRUE(l4_checksum_valid(*frame));
  }
  // Only the TTL is faulted: the addresses are rewritten as ever.
  EXPECT_EQ(parse(in).rfind_pdu<Tins::IP>().dst_addr().to_string(), kRip);
  EXPECT_EQ(parse(out).rfind_pdu<Tins::IP>().src_addr().to_string(), kVip);
}

TEST_F(NoTtlDecrement, DrKeepsTheTtl) {
  test_faults.ttl_decrement = 0;
  Bytes frame = client_segment();
  dr_forward(span_of(frame), view_of(frame), kToRealServer);
  EXPECT_EQ(parse(frame).rfind_pdu<Tins::IP>().ttl(), 64);
  EXPECT_TRUE(ip_checksum_valid(frame));
}

TEST_F(NoTtlDecrement, FullnatKeepsTheTtlBothWays) {
  test_faults.ttl_decrement = 0;
  Bytes in = client_segment();
  fullnat_in(span_of(in), view_of(in), kLocal, kRealServer, kToRealServer);
  auto reply = ethernet(kRsMac, kDirectorIntMac) / ipv4(kRip, kLip) /
               tcp(8080, 5001, Tins::TCP::ACK, 7000, 1001);
  Bytes out = serialize(reply);
  fullnat_out(span_of(out), view_of(out), kService, kClient, kToClient);

  for (const Bytes* frame : {&in, &out}) {
    EXPECT_EQ(parse(*frame).rfind_pdu<Tins::IP>().ttl(), 64);
    EXPECT_TRUE(ip_checksum_valid(*frame));
    EXPECT_TRUE(l4_checksum_valid(*frame));
  }
}

// The outer TTL is the inner one as it leaves (spec section 2, TUN), so both keep it.
TEST_F(NoTtlDecrement, TunKeepsTheTtlInsideAndOut) {
  test_faults.ttl_decrement = 0;
  Bytes frame = client_segment();
  Bytes out(2000);
  TunnelParams tunnel{ip(kDip), ip(kRip), 1500, 0x5151, kToRealServer};
  auto r = tun_encapsulate(std::span<const uint8_t>(frame.data(), frame.size()), view_of(frame),
                           tunnel, span_of(out));
  ASSERT_EQ(r.verdict, TunVerdict::Ok);
  out.resize(r.length);

  constexpr std::size_t kInnerL3 = 14 + 20;
  EXPECT_EQ(out[kTtlAt], 64);           // outer
  EXPECT_EQ(out[kInnerL3 + 8], 64);     // inner
  EXPECT_TRUE(ip_checksum_valid(out));  // outer
  EXPECT_TRUE(ip_checksum_valid(out, kInnerL3));
}

TEST_F(NoNatReplyRewrite, AReplyLeavesFromTheVipByDefault) {
  Bytes frame = server_reply();
  nat_out(span_of(frame), view_of(frame), kService, kToClient);
  EXPECT_EQ(parse(frame).rfind_pdu<Tins::IP>().src_addr().to_string(), kVip);
}

TEST_F(NoNatReplyRewrite, AReplyLeavesWithTheRealServersAddress) {
  test_faults.keep_nat_reply_source = true;
  Bytes frame = server_reply();
  nat_out(span_of(frame), view_of(frame), kService, kToClient);

  auto out = parse(frame);
  const auto& ip4 = out.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.src_addr().to_string(), kRip);
  // Everything else is still done: the fault is the address alone.
  EXPECT_EQ(ip4.dst_addr().to_string(), kCip);
  EXPECT_EQ(ip4.ttl(), 63);
  EXPECT_EQ(out.rfind_pdu<Tins::TCP>().sport(), 80);
  EXPECT_EQ(out.dst_addr().to_string(), kClientMac);
  EXPECT_TRUE(ip_checksum_valid(frame));
  EXPECT_TRUE(l4_checksum_valid(frame));
}

TEST_F(NoNatReplyRewrite, RequestsAreStillRewritten) {
  test_faults.keep_nat_reply_source = true;
  Bytes frame = client_segment();
  nat_in(span_of(frame), view_of(frame), kRealServer, kToRealServer);
  EXPECT_EQ(parse(frame).rfind_pdu<Tins::IP>().dst_addr().to_string(), kRip);
}

}  // namespace
}  // namespace vsd::fwd
