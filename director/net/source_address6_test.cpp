#include "net/source_address6.h"

#include <arpa/inet.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vsd {
namespace {

// The candidates as a port lists them, each with its label.
struct Candidates : std::vector<SourceCandidate6> {
  Candidates(std::initializer_list<Ip6Prefix> list) {
    for (const auto& a : list) emplace_back(a);
  }
};

Ip6 ip6(const std::string& text) {
  Ip6 a{};
  EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), a.data()), 1) << text;
  return a;
}

// topologies/tun.toml's director as kernel IPVS holds it: fd00:40::2/64 on the port, the VIP
// fd00:40::100/128 added after it on the same port. Real IPVS's ip6ip6 packets to fd00:40::13
// left from the VIP (seen in the qemu guest, Linux 6.1): the VIP shares 119 bits with the real
// server and may count all of them, the port's address shares 123 but counts 64.
TEST(SourceAddress6, AVipOnThePortBeatsItsSlash64ForARealServerInTheVipsPrefix) {
  const Candidates port{{ip6("fd00:40::100"), 128}, {ip6("fd00:40::2"), 64}};
  EXPECT_EQ(source_address6(port, ip6("fd00:40::13")), ip6("fd00:40::100"));
  // Listed the other way round (the VIP older), the same: rule 8, not the order, decides.
  const Candidates older_vip{{ip6("fd00:40::2"), 64}, {ip6("fd00:40::100"), 128}};
  EXPECT_EQ(source_address6(older_vip, ip6("fd00:40::13")), ip6("fd00:40::100"));
}

// topologies/tun.toml's real servers are in fd00:50::/64: the VIP and the port's address both
// share 27 bits with them, a tie the newer address wins; the kernel's packets left from the VIP.
TEST(SourceAddress6, ATieGoesToTheNewerAddressListedFirst) {
  const Candidates port{{ip6("fd00:40::100"), 128}, {ip6("fd00:40::2"), 64}};
  EXPECT_EQ(source_address6(port, ip6("fd00:50::13")), ip6("fd00:40::100"));
}

TEST(SourceAddress6, ARealServerOutsideTheVipsPrefixGetsThePortsAddress) {
  const Candidates port{{ip6("2001:db8:1::100"), 128}, {ip6("fd00:40::2"), 64}};
  // Both fd00::/7 (label 5) against 2001:db8:1::100 (::/0's label 1): rule 6.
  EXPECT_EQ(source_address6(port, ip6("fd00:40::13")), ip6("fd00:40::2"));
  // Same label, rule 8: fd00:40::/64 counts 64 bits, the VIP's /128 only the 32 it shares.
  const Candidates ula{{ip6("fd00:99::100"), 128}, {ip6("fd00:40::2"), 64}};
  EXPECT_EQ(source_address6(ula, ip6("fd00:40::13")), ip6("fd00:40::2"));
}

TEST(SourceAddress6, TiesKeepTheCandidateListedFirst) {
  const Candidates port{{ip6("fd00:40::2"), 64}, {ip6("fd00:40::3"), 64}};
  EXPECT_EQ(source_address6(port, ip6("fd00:40::13")), ip6("fd00:40::2"));
}

TEST(SourceAddress6, ALinkLocalAddressOnlyForALinkLocalDestination) {
  const Candidates port{{ip6("fe80::1"), 64}, {ip6("fd00:40::2"), 64}};
  EXPECT_EQ(source_address6(port, ip6("fd00:40::13")), ip6("fd00:40::2"));
  EXPECT_EQ(source_address6(port, ip6("fe80::9")), ip6("fe80::1"));
  EXPECT_EQ(source_address6(Candidates{{ip6("fe80::1"), 64}}, ip6("fd00:40::13")), std::nullopt);
  EXPECT_EQ(source_address6(Candidates{}, ip6("fd00:40::13")), std::nullopt);
}

TEST(SourceAddress6, LabelsOfLinuxsDefaultPolicyTable) {
  EXPECT_EQ(policy_label6(ip6("::1")), 0);
  EXPECT_EQ(policy_label6(ip6("2001::1")), 6);  // Teredo's 2001::/32
  EXPECT_EQ(policy_label6(ip6("2001:db8::1")), 1);
  EXPECT_EQ(policy_label6(ip6("2001:10::1")), 7);
  EXPECT_EQ(policy_label6(ip6("2002::1")), 2);
  EXPECT_EQ(policy_label6(ip6("fd00::1")), 5);
  EXPECT_EQ(policy_label6(ip6("::ffff:10.0.0.1")), 4);
  EXPECT_EQ(policy_label6(ip6("2a00::1")), 1);
}

}  // namespace
}  // namespace vsd
