// vslab bench's parts that need neither root nor a clock.
#include <gtest/gtest.h>

#include <vector>

#include "bench/frames.h"
#include "bench/report.h"
#include "bench/setups.h"
#include "fwd/checksum.h"

namespace vslab::bench {
namespace {

GeneratorConfig config_with(uint32_t flows) {
  GeneratorConfig c;
  c.dst_mac = *vsd::Mac::parse("02:00:00:00:00:01");
  c.src_ip = BenchAddresses::kClient;
  c.dst_ip = BenchAddresses::kVip;
  c.flows = flows;
  return c;
}

// Both checksums of a frame verify: a full recomputation gives the value in the frame.
void expect_checksums_right(const std::vector<uint8_t>& f) {
  std::span<const uint8_t> ip(f.data() + 14, 20);
  EXPECT_EQ(vsd::fwd::internet_checksum(ip), 0) << "IPv4 header checksum";
  vsd::Ipv4 src{uint32_t(f[26]) << 24 | uint32_t(f[27]) << 16 | uint32_t(f[28]) << 8 | f[29]};
  vsd::Ipv4 dst{uint32_t(f[30]) << 24 | uint32_t(f[31]) << 16 | uint32_t(f[32]) << 8 | f[33]};
  std::vector<uint8_t> udp(f.begin() + 34, f.end());
  uint16_t carried = uint16_t(udp[6] << 8 | udp[7]);
  udp[6] = udp[7] = 0;
  EXPECT_EQ(vsd::fwd::udp_checksum(src, dst, udp), carried) << "UDP checksum";
}

TEST(BenchFrames, FlowsSpreadOverPortsThenAddresses) {
  auto c = config_with(1000000);
  EXPECT_EQ(flow_port(0), 1024);
  EXPECT_EQ(flow_address(c, 59999), BenchAddresses::kClient.value);
  EXPECT_EQ(flow_address(c, 60000), BenchAddresses::kClient.value + 1);
  EXPECT_EQ(flow_port(60000), 1024);
}

TEST(BenchFrames, BuiltFramesCarryRightChecksums) {
  auto c = config_with(1000000);
  vsd::Mac mac = *vsd::Mac::parse("02:00:00:00:00:02");
  for (uint32_t flow : {0u, 59999u, 60000u, 999999u}) {
    std::vector<uint8_t> f(c.frame_size);
    build_frame(c, mac, flow, f.data());
    expect_checksums_right(f);
  }
}

TEST(BenchFrames, ReaddressedFrameEqualsOneBuiltForTheNewFlow) {
  auto c = config_with(1000000);
  c.frame_size = 1514;
  vsd::Mac mac = *vsd::Mac::parse("02:00:00:00:00:02");
  std::vector<uint8_t> moved(c.frame_size), built(c.frame_size);
  build_frame(c, mac, 5, moved.data());
  readdress(c, moved.data(), 5, 700123);
  build_frame(c, mac, 700123, built.data());
  EXPECT_EQ(moved, built);
}

GeneratorConfig config6_with(uint32_t flows, uint32_t frame_size) {
  auto c = config_with(flows);
  c.family = 6;
  c.src_ip6 = BenchAddresses::client6();
  c.dst_ip6 = BenchAddresses::vip6();
  c.frame_size = frame_size;
  return c;
}

// The UDP checksum of an IPv6 frame verifies: the sum over pseudo-header and datagram is all
// ones (RFC 8200 8.1), computed here without the generator's own code.
void expect_udp6_checksum_right(const std::vector<uint8_t>& f) {
  ASSERT_EQ(f[12], 0x86);
  ASSERT_EQ(f[13], 0xdd);
  const std::size_t length = std::size_t(f[18] << 8 | f[19]);
  ASSERT_EQ(length + 54, f.size());
  uint32_t sum = 0;
  for (std::size_t i = 22; i < 54; i += 2) sum += uint32_t(f[i] << 8 | f[i + 1]);  // addresses
  sum += uint32_t(length) + 17;
  for (std::size_t i = 54; i < f.size(); i += 2)
    sum += uint32_t(f[i] << 8 | (i + 1 < f.size() ? f[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu) << "UDP checksum over IPv6";
  EXPECT_NE(f[60] << 8 | f[61], 0) << "IPv6 UDP always carries a checksum";
}

TEST(BenchFrames, Ipv6FramesAreAtLeast66BytesOnTheWire) {
  EXPECT_EQ(frame_size_for(4, 60, true), 60u);
  EXPECT_EQ(frame_size_for(6, 60, false), 62u);
  EXPECT_EQ(frame_size_for(6, 60, true), uint32_t(Stamp::kOffset6 + sizeof(Stamp)));
  EXPECT_EQ(frame_size_for(6, 1514, true), 1514u);
}

TEST(BenchFrames, Ipv6FramesCarryRightChecksumsAndReaddressLikeBuiltOnes) {
  auto c = config6_with(1000000, 62);
  vsd::Mac mac = *vsd::Mac::parse("02:00:00:00:00:02");
  for (uint32_t flow : {0u, 59999u, 60000u, 999999u}) {
    std::vector<uint8_t> f(c.frame_size);
    build_frame(c, mac, flow, f.data());
    expect_udp6_checksum_right(f);
    EXPECT_EQ(f[21], 64) << "hop limit";
    EXPECT_EQ(flow_address6(c, flow)[15], uint8_t(2 + flow / Generator::kPortsPerAddress));
  }
  c.frame_size = 1001;  // odd: the checksum's padded last byte
  std::vector<uint8_t> moved(c.frame_size), built(c.frame_size);
  build_frame(c, mac, 5, moved.data());
  readdress(c, moved.data(), 5, 700123);
  build_frame(c, mac, 700123, built.data());
  EXPECT_EQ(moved, built);
  expect_udp6_checksum_right(moved);
}

TEST(BenchRules, Ipv6ServiceInBrackets) {
  EXPECT_EQ(bench_rules("dr", false, 6),
            "-A -u [fd00:10::100]:80 -s rr\n"
            "-a -u [fd00:10::100]:80 -r [fd00:168:10::11]:80 -g -w 1\n"
            "-a -u [fd00:10::100]:80 -r [fd00:168:10::12]:80 -g -w 1\n"
            "-a -u [fd00:10::100]:80 -r [fd00:168:10::13]:80 -g -w 1\n");
  EXPECT_NE(bench_rules("fullnat", false, 6).find("--add-laddr -z fd00:168:10::20f -u "),
            std::string::npos);
}

TEST(BenchRules, NatServiceOverThreeRealServers) {
  EXPECT_EQ(bench_rules("nat"),
            "-A -u 10.10.0.100:80 -s rr\n"
            "-a -u 10.10.0.100:80 -r 192.168.10.11:80 -m -w 1\n"
            "-a -u 10.10.0.100:80 -r 192.168.10.12:80 -m -w 1\n"
            "-a -u 10.10.0.100:80 -r 192.168.10.13:80 -m -w 1\n");
  EXPECT_NE(bench_rules("dr", true).find("-A -t 10.10.0.100:80"), std::string::npos);
  EXPECT_THROW(bench_rules("masq"), std::invalid_argument);
}

TEST(BenchRules, FullnatAddsItsLocalAddresses) {
  auto rules = bench_rules("fullnat");
  EXPECT_NE(rules.find("-a -u 10.10.0.100:80 -r 192.168.10.11:80 -b -w 1\n"), std::string::npos);
  EXPECT_NE(rules.find("--add-laddr -z 192.168.10.200 -u 10.10.0.100:80\n"), std::string::npos);
  EXPECT_NE(rules.find("--add-laddr -z 192.168.10.215 -u 10.10.0.100:80\n"), std::string::npos);
  EXPECT_EQ(rules.find("192.168.10.216"), std::string::npos);
}

TEST(BenchReport, RatioSpreadIsMedianMinMaxOfPairs) {
  Row row;
  for (double d : {50.0, 80.0, 60.0}) {
    Pair p;
    p.raw.delivered_pps = 100;
    p.config.delivered_pps = d;
    row.pairs.push_back(p);
  }
  auto s = ratio_spread(row);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->median, 0.6);
  EXPECT_DOUBLE_EQ(s->min, 0.5);
  EXPECT_DOUBLE_EQ(s->max, 0.8);
}

Row row_of(const std::string& config, int family, double raw_pps, double pps, double ns) {
  Row row;
  row.config = config + family_suffix(family);
  row.family = family;
  row.is_dut = config != "raw";
  row.flows = 4096;
  Pair p;
  p.raw.delivered_pps = raw_pps;
  p.config.delivered_pps = pps;
  if (ns > 0) p.config.director_ns_per_frame = ns;
  row.pairs.push_back(p);
  return row;
}

TEST(BenchReport, Ipv6RowsAgainstTheirIpv4Twins) {
  Report r;
  r.rows = {row_of("raw", 4, 100, 100, 0), row_of("raw", 6, 80, 80, 0),
            row_of("vsd nat", 4, 100, 50, 1000), row_of("vsd nat", 6, 80, 45, 1250)};
  const std::string text = format_table(r);
  EXPECT_NE(text.find("IPv6 against IPv4 in the same run"), std::string::npos) << text;
  // 45 / 50 of the rate; (45/80) / (50/100) of the ratio to raw; 1000 / 1250 by CPU.
  EXPECT_NE(text.find("vsd nat IPv6                  64 B: 0.90x the IPv4 rate (0.000 / 0.000 "
                      "Mpps), 1.12x its ratio to raw; CPU per frame 1250 ns vs 1000 ns (0.80 of "
                      "its IPv4 rate)"),
            std::string::npos)
      << text;
  r.rows = {row_of("raw", 4, 100, 100, 0), row_of("vsd nat", 4, 100, 50, 1000)};
  EXPECT_EQ(format_table(r).find("IPv6 against IPv4"), std::string::npos) << "IPv4 alone";
}

TEST(BenchReport, Percentiles) {
  std::vector<uint32_t> ns;
  for (uint32_t i = 1; i <= 1000; ++i) ns.push_back(i * 1000);  // 1..1000 us
  auto p = percentiles(ns);
  EXPECT_DOUBLE_EQ(p.p50_us, 501);
  EXPECT_DOUBLE_EQ(p.p99_us, 991);
  EXPECT_DOUBLE_EQ(p.p999_us, 1000);
  EXPECT_EQ(p.count, 1000u);
}

}  // namespace
}  // namespace vslab::bench
