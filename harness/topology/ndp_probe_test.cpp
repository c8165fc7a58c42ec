// The neighbour discovery probe: its solicitation laid out as RFC 4861 and 4862 say (checked
// byte by byte), advertisements read back, and a real kernel's answer on a live topology.
#include "topology/ndp_probe.h"

#include <arpa/inet.h>

#include <cstring>

#include <gtest/gtest.h>

#include "topology/live.h"
#include "topology/parse.h"

namespace vslab::topo {
namespace {

const uint8_t kMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

in6_addr address(const char* text) {
  in6_addr a{};
  EXPECT_EQ(inet_pton(AF_INET6, text, &a), 1);
  return a;
}

TEST(NdpProbe, SolicitsFromTheUnspecifiedAddressToTheSolicitedNodeGroup) {
  auto target = address("fd00:1::1:2:3");
  auto f = ndp_probe_frame(kMac, target.s6_addr);
  ASSERT_EQ(f.size(), 14u + 40u + 24u);
  // 33:33 and the group's last 32 bits: ff and the target's last 24 bits.
  EXPECT_EQ(f[0], 0x33);
  EXPECT_EQ(f[1], 0x33);
  EXPECT_EQ(f[2], 0xff);
  EXPECT_EQ(f[3], 0x02);  // fd00:1::1:2:3 ends 00 02 00 03
  EXPECT_EQ(f[4], 0x00);
  EXPECT_EQ(f[5], 0x03);
  EXPECT_EQ(f[12], 0x86);
  EXPECT_EQ(f[13], 0xdd);
  const uint8_t* ip = f.data() + 14;
  EXPECT_EQ(ip[0], 0x60);
  EXPECT_EQ(ip[5], 24);   // payload length
  EXPECT_EQ(ip[6], 58);   // ICMPv6
  EXPECT_EQ(ip[7], 255);  // hop limit
  for (int i = 8; i < 24; ++i) EXPECT_EQ(ip[i], 0) << "source byte " << i - 8;
  const uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0x02, 0x00, 0x03};
  EXPECT_EQ(std::memcmp(ip + 24, group, 16), 0);
  const uint8_t* ns = ip + 40;
  EXPECT_EQ(ns[0], 135);
  EXPECT_EQ(ns[1], 0);
  EXPECT_EQ(std::memcmp(ns + 8, target.s6_addr, 16), 0);
  // The checksum sums to 0xffff with the pseudo-header, as a receiver checks it.
  uint32_t sum = 0;
  for (int i = 0; i < 32; i += 2) sum += uint32_t(ip[8 + i] << 8 | ip[9 + i]);
  sum += 24 + 58;
  for (int i = 0; i < 24; i += 2) sum += uint32_t(ns[i] << 8 | ns[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

TEST(NdpProbe, ReadsTheTargetLinkAddressOfAnAdvertisementForItsTargetOnly) {
  auto target = address("fd00:1::1");
  std::vector<uint8_t> na(14 + 40 + 24 + 8, 0);
  const uint8_t src_mac[6] = {0x02, 0x76, 0x73, 0x02, 0x01, 0x00};
  std::memcpy(na.data() + 6, src_mac, 6);
  na[12] = 0x86;
  na[13] = 0xdd;
  na[14] = 0x60;
  na[14 + 5] = 32;
  na[14 + 6] = 58;
  na[14 + 7] = 255;
  uint8_t* m = na.data() + 54;
  m[0] = 136;
  m[4] = 0x60;  // solicited, override
  std::memcpy(m + 8, target.s6_addr, 16);
  m[24] = 2;  // target link-layer address option
  m[25] = 1;
  const uint8_t option_mac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
  std::memcpy(m + 26, option_mac, 6);
  EXPECT_EQ(advertised_mac(na.data(), na.size(), target.s6_addr), "02:aa:bb:cc:dd:ee");
  auto other = address("fd00:1::2");
  EXPECT_FALSE(advertised_mac(na.data(), na.size(), other.s6_addr));
  m[0] = 135;  // a solicitation is no answer
  EXPECT_FALSE(advertised_mac(na.data(), na.size(), target.s6_addr));
  m[0] = 136;
  na.resize(na.size() - 8);  // no option: the frame's source
  na[14 + 5] = 24;
  EXPECT_EQ(advertised_mac(na.data(), na.size(), target.s6_addr), "02:76:73:02:01:00");
  EXPECT_FALSE(advertised_mac(na.data(), 30, target.s6_addr));  // truncated
}

TEST(NdpProbe, ALinuxRouterAnswersWithTheMacOfItsInterface) {
  if (!have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN to make namespaces";
  auto parsed = parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/selftest.toml");
  ASSERT_TRUE(parsed.topology) << parsed.errors.front();
  LiveTopology live(*parsed.topology);
  // The client asks for the router's address on their link; the router's kernel answers.
  auto mac = ndp_probe(live.netns("client"), "eth0", "fd00:1::1", std::chrono::seconds(3));
  ASSERT_TRUE(mac) << "no advertisement from the router's kernel";
  EXPECT_EQ(*mac, live.mac("router", "eth0"));
  EXPECT_FALSE(
      ndp_probe(live.netns("client"), "eth0", "fd00:1::99", std::chrono::milliseconds(600)))
      << "an address nobody holds was answered";
}

}  // namespace
}  // namespace vslab::topo
