// Re-addressing a capture from another network: every address that names a mapped role is
// replaced, and every checksum is checked again here from scratch (RFC 1071), not by the code
// under test.
#include "replay/readdress.h"

#include <gtest/gtest.h>
#include <tins/tins.h>

#include <random>

namespace vslab::replay {
namespace {

// The capture's network (documentation prefixes) and the topology's (topologies/nat.toml).
const char* kCapClient = "203.0.113.7";
const char* kCapVip = "198.51.100.10";
const char* kCapRs = "172.16.5.11";
const char* kCapClientMac = "aa:bb:cc:00:00:07";
const char* kCapGatewayMac = "aa:bb:cc:00:00:01";
const char* kClient = "10.10.0.2";
const char* kVip = "10.20.0.100";
const char* kRs = "192.168.10.11";
const char* kClientMac = "02:76:73:01:01:00";
const char* kGatewayMac = "02:76:73:02:01:00";

AddressMap capture_to_topology() {
  AddressMap m;
  EXPECT_TRUE(m.add_ip(kCapClient, kClient));
  EXPECT_TRUE(m.add_ip(kCapVip, kVip));
  EXPECT_TRUE(m.add_ip(kCapRs, kRs));
  EXPECT_TRUE(m.add_mac(kCapClientMac, kClientMac));
  EXPECT_TRUE(m.add_mac(kCapGatewayMac, kGatewayMac));
  return m;
}

// RFC 1071 sum of 16-bit words, folded, not complemented.
uint32_t sum16(const uint8_t* p, std::size_t n, uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (n % 2) sum += uint32_t(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}
bool ip_header_ok(const std::vector<uint8_t>& f, std::size_t ip) {
  return sum16(&f[ip], (f[ip] & 0x0f) * 4u) == 0xffff;
}
// TCP/UDP: the sum over the pseudo-header and the whole segment, 0xffff when the checksum is
// right (unfragmented packets).
uint32_t l4_sum(const std::vector<uint8_t>& f, std::size_t ip) {
  std::size_t ihl = (f[ip] & 0x0f) * 4u, total = f[ip + 2] << 8 | f[ip + 3];
  std::size_t len = total - ihl;
  uint32_t pseudo = sum16(&f[ip + 12], 8) + f[ip + 9] + uint32_t(len);
  return sum16(&f[ip + ihl], len, pseudo);
}
bool l4_ok(const std::vector<uint8_t>& f, std::size_t ip) {
  return l4_sum(f, ip) == 0xffff;
}
bool icmp_ok(const std::vector<uint8_t>& f, std::size_t ip) {
  std::size_t ihl = (f[ip] & 0x0f) * 4u, total = f[ip + 2] << 8 | f[ip + 3];
  return sum16(&f[ip + ihl], total - ihl) == 0xffff;
}
std::string ip_at(const std::vector<uint8_t>& f, std::size_t at) {
  return std::to_string(f[at]) + "." + std::to_string(f[at + 1]) + "." + std::to_string(f[at + 2]) +
         "." + std::to_string(f[at + 3]);
}
std::string mac_at(const std::vector<uint8_t>& f, std::size_t at) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", f[at], f[at + 1], f[at + 2],
                f[at + 3], f[at + 4], f[at + 5]);
  return text;
}

Tins::EthernetII eth(const char* dst, const char* src) {
  return Tins::EthernetII(Tins::EthernetII::address_type(dst), Tins::EthernetII::address_type(src));
}

std::vector<uint8_t> from_capture_client(const Tins::PDU& l4, const char* dst = kCapVip) {
  Tins::IP ip(dst, kCapClient);
  ip.ttl(57);
  ip.id(0x1234);
  ip.inner_pdu(l4.clone());
  return (eth(kCapGatewayMac, kCapClientMac) / ip).serialize();
}

constexpr std::size_t kIp = 14;

TEST(Readdress, TcpSynGetsTheTopologysAddressesAndValidChecksums) {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  auto f = from_capture_client(syn / Tins::RawPDU("odd length!"));
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(mac_at(f, 0), kGatewayMac);
  EXPECT_EQ(mac_at(f, 6), kClientMac);
  EXPECT_EQ(ip_at(f, kIp + 12), kClient);
  EXPECT_EQ(ip_at(f, kIp + 16), kVip);
  EXPECT_TRUE(ip_header_ok(f, kIp));
  EXPECT_TRUE(l4_ok(f, kIp));
}

TEST(Readdress, UdpChecksumIsFixedAndAZeroChecksumStaysZero) {
  auto f = from_capture_client(Tins::UDP(53, 4000) / Tins::RawPDU("query"));
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(ip_at(f, kIp + 12), kClient);
  EXPECT_TRUE(ip_header_ok(f, kIp));
  EXPECT_TRUE(l4_ok(f, kIp));

  auto z = from_capture_client(Tins::UDP(53, 4000) / Tins::RawPDU("query"));
  z[kIp + 20 + 6] = z[kIp + 20 + 7] = 0;  // "no checksum" (RFC 768)
  readdress_frame(z, capture_to_topology());
  EXPECT_EQ(z[kIp + 20 + 6], 0);
  EXPECT_EQ(z[kIp + 20 + 7], 0);
  EXPECT_TRUE(ip_header_ok(z, kIp));
}

TEST(Readdress, AWrongChecksumStaysWrong) {
  Tins::TCP ack(80, 40001);
  ack.flags(Tins::TCP::ACK);
  auto f = from_capture_client(ack);
  f[kIp + 20 + 16] ^= 0x5a;  // the capture's checksum was wrong: replay it wrong
  uint32_t wrong_by = l4_sum(f, kIp);
  ASSERT_NE(wrong_by, 0xffffu);
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(ip_at(f, kIp + 12), kClient);
  EXPECT_EQ(l4_sum(f, kIp), wrong_by);  // exactly as wrong as it was
}

TEST(Readdress, IcmpErrorQuotedHeaderIsRewrittenAndEveryChecksumHolds) {
  // The capture's real server says "port unreachable" about CIP:4000 -> RIP:5353.
  Tins::IP quoted(kCapRs, kCapClient);
  quoted.ttl(62);
  auto quoted_bytes = (quoted / Tins::UDP(5353, 4000) / Tins::RawPDU("query")).serialize();
  Tins::ICMP unreachable(Tins::ICMP::DEST_UNREACHABLE);
  unreachable.code(3);
  Tins::IP ip(kCapClient, kCapRs);
  ip.ttl(64);
  auto f = (eth(kCapGatewayMac, "aa:bb:cc:00:00:11") / ip / unreachable /
            Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())))
               .serialize();
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(ip_at(f, kIp + 12), kRs);
  EXPECT_EQ(ip_at(f, kIp + 16), kClient);
  const std::size_t q = kIp + 20 + 8;
  EXPECT_EQ(ip_at(f, q + 12), kClient);
  EXPECT_EQ(ip_at(f, q + 16), kRs);
  EXPECT_TRUE(ip_header_ok(f, kIp));
  EXPECT_TRUE(ip_header_ok(f, q));
  EXPECT_TRUE(l4_ok(f, q));  // the quoted datagram is whole here
  EXPECT_TRUE(icmp_ok(f, kIp));
}

TEST(Readdress, IpipInnerHeaderIsRewritten) {
  Tins::IP inner(kCapVip, kCapClient);
  inner.ttl(62);
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  Tins::IP outer(kCapRs, "172.16.0.2");
  outer.protocol(4);
  auto f = (eth("aa:bb:cc:00:00:11", kCapGatewayMac) / outer / inner / syn).serialize();
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(ip_at(f, kIp + 16), kRs);
  EXPECT_EQ(ip_at(f, kIp + 12), "172.16.0.2");  // not mapped: left alone
  EXPECT_EQ(ip_at(f, kIp + 20 + 12), kClient);
  EXPECT_EQ(ip_at(f, kIp + 20 + 16), kVip);
  EXPECT_TRUE(ip_header_ok(f, kIp));
  EXPECT_TRUE(ip_header_ok(f, kIp + 20));
  EXPECT_TRUE(l4_ok(f, kIp + 20));
}

TEST(Readdress, FirstFragmentKeepsTheWholeDatagramsChecksumValid) {
  // A 2000-byte UDP datagram cut in two; the checksum in the first fragment covers both.
  auto whole = from_capture_client(Tins::UDP(53, 41001) / Tins::RawPDU(std::string(2000, 'f')));
  auto rewritten_whole = whole;
  readdress_frame(rewritten_whole, capture_to_topology());
  ASSERT_TRUE(l4_ok(rewritten_whole, kIp));
  std::vector<uint8_t> first(whole.begin(), whole.begin() + kIp + 20 + 1480);
  first[kIp + 2] = (20 + 1480) >> 8;
  first[kIp + 3] = (20 + 1480) & 0xff;
  first[kIp + 6] = 0x20;  // MF
  first[kIp + 10] = first[kIp + 11] = 0;
  uint16_t c = static_cast<uint16_t>(~sum16(&first[kIp], 20));
  first[kIp + 10] = c >> 8;
  first[kIp + 11] = c & 0xff;
  readdress_frame(first, capture_to_topology());
  EXPECT_EQ(ip_at(first, kIp + 12), kClient);
  EXPECT_TRUE(ip_header_ok(first, kIp));
  // The UDP checksum equals the one of the whole datagram re-addressed.
  EXPECT_EQ(first[kIp + 26], rewritten_whole[kIp + 26]);
  EXPECT_EQ(first[kIp + 27], rewritten_whole[kIp + 27]);
}

TEST(Readdress, ArpAddressesAreMapped) {
  Tins::ARP arp{Tins::IPv4Address(kCapVip), Tins::IPv4Address(kCapClient),
                Tins::ARP::hwaddress_type(), Tins::ARP::hwaddress_type(kCapClientMac)};
  auto f = (eth("ff:ff:ff:ff:ff:ff", kCapClientMac) / arp).serialize();
  readdress_frame(f, capture_to_topology());
  EXPECT_EQ(mac_at(f, 6), kClientMac);
  EXPECT_EQ(mac_at(f, 14 + 8), kClientMac);
  EXPECT_EQ(ip_at(f, 14 + 14), kClient);
  EXPECT_EQ(ip_at(f, 14 + 24), kVip);
}

TEST(Readdress, TruncatedFramesDoNotCrash) {
  Tins::TCP syn(80, 40000);
  auto f = from_capture_client(syn);
  for (std::size_t n = 0; n <= f.size(); ++n) {
    std::vector<uint8_t> cut(f.begin(), f.begin() + n);
    readdress_frame(cut, capture_to_topology());
    EXPECT_EQ(cut.size(), n);
  }
}

TEST(Readdress, ArbitraryBytesBehindAnIpv4HeaderDoNotCrash) {
  // IPv4 frames with random headers (lengths, IHL, protocol, ICMP types) and random sizes,
  // some carrying the capture's addresses: the rewrite must stay inside the frame. Run under
  // the sanitizer preset, an access outside it fails the test.
  std::mt19937 random(8);
  auto base = from_capture_client(Tins::UDP(53, 4000) / Tins::RawPDU(std::string(64, 'q')));
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> f = base;
    f.resize(14 + random() % (f.size() - 14 + 1));
    for (std::size_t k = 14; k < f.size(); ++k)
      if (random() % 3 == 0) f[k] = static_cast<uint8_t>(random());
    if (f.size() > 14) f[14] = static_cast<uint8_t>(0x40 | (random() % 16));
    auto size = f.size();
    readdress_frame(f, capture_to_topology());
    EXPECT_EQ(f.size(), size);
  }
}

TEST(Readdress, AddressTextsAreChecked) {
  AddressMap m;
  EXPECT_FALSE(m.add_ip("10.0.0", "10.0.0.1"));
  EXPECT_FALSE(m.add_mac("aa:bb:cc:00:00", "02:00:00:00:00:01"));
  EXPECT_TRUE(m.empty());
}

}  // namespace
}  // namespace vslab::replay
