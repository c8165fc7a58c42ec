// TOA insertion (spec section 2 FULLNAT, [dpvs, unverified]): the option's bytes, where it
// goes, and every length and checksum after it, checked by re-parsing with libtins and
// recomputing the checksums from scratch.
#include "fwd/toa.h"

#include <gtest/gtest.h>

#include "fwd/checksum.h"
#include "fwd/test_frames.h"

namespace vsd::fwd {
namespace {

using namespace testing;

const Endpoint kClient{ip(kCip), 40000};

// The client's handshake-completing ACK (plus `data` bytes) as FULLNAT already rewrote it:
// LIP:5001 -> RIP:8080, carrying a timestamp option (10 bytes) and `extra_option_bytes` NOPs,
// padded to whole words.
Bytes rewritten_ack(std::size_t data = 0, std::size_t extra_option_bytes = 0) {
  Tins::TCP segment = tcp(5001, 8080, Tins::TCP::ACK, 1001, 7001);
  segment.timestamp(11, 22);
  for (std::size_t i = 0; i < extra_option_bytes; ++i)
    segment.add_option(Tins::TCP::option(Tins::TCP::NOP));
  auto frame = ethernet(kDirectorIntMac, kRsMac) / ipv4(kLip, kRip, 63) / segment;
  if (data) frame /= Tins::RawPDU(payload_bytes(data));
  return serialize(frame);
}

TEST(Toa, InsertsKind254WithTheClientsPortThenAddressFirstAmongTheOptions) {
  Bytes in = rewritten_ack();
  Bytes out(in.size() + 64);
  auto n = add_toa(in, view_of(in), kClient, 1500, out);
  ASSERT_EQ(n, in.size() + 8);
  out.resize(n);
  const std::size_t options = 14 + 20 + 20;
  const uint8_t want[8] = {254, 8, 0x9c, 0x40, 10, 0, 0, 2};  // 40000 = 0x9c40, 10.0.0.2
  EXPECT_TRUE(std::equal(want, want + 8, out.begin() + options));
  // The segment's own options follow unchanged.
  EXPECT_TRUE(std::equal(in.begin() + options, in.end(), out.begin() + options + 8));

  auto parsed = parse(out);
  const auto& ip4 = parsed.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip4.tot_len(), in.size() - 14 + 8);
  const auto& seg = parsed.rfind_pdu<Tins::TCP>();
  EXPECT_EQ(seg.data_offset(), (20 + 12 + 8) / 4);
  auto* toa = seg.search_option(Tins::TCP::OptionTypes(254));
  ASSERT_NE(toa, nullptr);
  EXPECT_EQ(toa->data_size(), 6u);
  EXPECT_EQ(seg.timestamp(), std::make_pair(uint32_t(11), uint32_t(22)));
}

TEST(Toa, ChecksumsVerifyFromScratch) {
  for (std::size_t data : {0, 1, 77, 1400}) {
    Bytes in = rewritten_ack(data);
    Bytes out(in.size() + 64);
    auto n = add_toa(in, view_of(in), kClient, 1500, out);
    ASSERT_EQ(n, in.size() + 8) << data;
    std::span<const uint8_t> ip4(out.data() + 14, n - 14);
    EXPECT_TRUE(checksum_verifies(ip4.first(20))) << data;
    EXPECT_TRUE(checksum_verifies(ip4.subspan(20),
                                  pseudo_header_sum(ip(kLip), ip(kRip), 6, uint16_t(n - 34))))
        << data;
    // Payload moved by 8 bytes, untouched.
    EXPECT_TRUE(std::equal(in.end() - std::ptrdiff_t(data), in.end(),
                           out.begin() + std::ptrdiff_t(n - data)));
  }
}

TEST(Toa, NothingWhenTheTcpHeaderWouldPass60Bytes) {
  Bytes in = rewritten_ack(0, 24);  // 20 + 12 + 24 = 56 bytes of header: no room for 8
  Bytes out(in.size() + 64);
  EXPECT_EQ(add_toa(in, view_of(in), kClient, 1500, out), 0u);
  Bytes fits = rewritten_ack(0, 20);  // 52 + 8 = 60: fits exactly
  Bytes out2(fits.size() + 64);
  EXPECT_EQ(add_toa(fits, view_of(fits), kClient, 1500, out2), fits.size() + 8);
}

TEST(Toa, NothingWhenThePacketWouldPassTheMtu) {
  Bytes in = rewritten_ack(1500 - 20 - 32);  // exactly 1500 bytes of IP
  Bytes out(in.size() + 64);
  EXPECT_EQ(add_toa(in, view_of(in), kClient, 1500, out), 0u);
  EXPECT_EQ(add_toa(in, view_of(in), kClient, 1508, out), in.size() + 8);
}

TEST(Toa, NothingForUdp) {
  auto frame = ethernet(kDirectorIntMac, kRsMac) / ipv4(kLip, kRip) / Tins::UDP(8080, 5001);
  Bytes in = serialize(frame);
  Bytes out(in.size() + 64);
  EXPECT_EQ(add_toa(in, view_of(in), kClient, 1500, out), 0u);
}

}  // namespace
}  // namespace vsd::fwd
