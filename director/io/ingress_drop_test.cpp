// The nft script of the exception path, as text: what each data port's chain drops, in which
// order, and the set updates the control side runs.
#include "io/ingress_drop.h"

#include <gtest/gtest.h>

namespace vsd {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

TEST(IngressDrop, EachPortPassesTheHostsAddressesButNotVsdsServices) {
  IngressServices services;
  services.ports = {{ip("10.0.0.100"), Proto::Tcp, 80}, {ip("10.0.0.100"), Proto::Udp, 53}};
  services.addresses = {{ip("192.168.60.200"), Proto::Tcp}};
  services.marked = {{ip("172.20.0.0"), 24, Proto::Udp, 443, 450}};
  HostAddresses host({ip("10.0.0.2"), ip("127.0.0.1")}, {ip("10.0.0.255")});
  std::string s = IngressDrop::ruleset({"eth0", "eth1"}, services, host, 4242);

  // A table per port, owned by the session's socket and saying whose it is.
  const std::string head1 =
      "table netdev vsd_eth1 {\n"
      "  flags owner\n"
      "  comment \"vsd pid 4242\"\n";
  EXPECT_EQ(s.rfind("table netdev vsd_eth0 {\n  flags owner\n", 0), 0u) << s;
  EXPECT_NE(s.find(head1), std::string::npos) << s;
  // Nothing deletes a table first: a table of that name must make the claim fail.
  EXPECT_EQ(s.find("delete"), std::string::npos) << s;
  const std::string to_host =
      "  chain to_host {\n"
      "    ip daddr . meta l4proto . th dport @services drop\n"
      "    ip daddr . meta l4proto @service_addresses drop\n"
      "    ip daddr . meta l4proto . th dport @marked drop\n"
      "    accept\n"
      "  }\n";
  EXPECT_NE(s.find(to_host), std::string::npos) << s;
  EXPECT_NE(s.find(to_host, s.find(head1)), std::string::npos) << "one in each table:\n" << s;
  const std::string chain1 =
      "  chain ingress {\n"
      "    type filter hook ingress device \"eth1\" priority 0; policy drop;\n"
      "    ether type arp accept\n"
      "    ether type ip6 accept\n"
      "    ip daddr @host goto to_host\n"
      "    meta pkttype != host accept\n"
      "  }\n";
  EXPECT_NE(s.find(chain1), std::string::npos) << s;
  EXPECT_NE(s.find("device \"eth0\" priority 0; policy drop;"), std::string::npos);
  EXPECT_NE(
      s.find(
          "add element netdev vsd_eth0 services { 10.0.0.100 . 6 . 80, 10.0.0.100 . 17 . 53 }\n"),
      std::string::npos)
      << s;
  EXPECT_NE(s.find("add element netdev vsd_eth0 service_addresses { 192.168.60.200 . 6 }\n"),
            std::string::npos);
  EXPECT_NE(
      s.find("  set marked { type ipv4_addr . inet_proto . inet_service; flags interval; }\n"),
      std::string::npos);
  EXPECT_NE(s.find("add element netdev vsd_eth0 marked { 172.20.0.0/24 . 17 . 443-450 }\n"),
            std::string::npos);
  EXPECT_NE(s.find("add element netdev vsd_eth1 host { 10.0.0.2, 127.0.0.1, 10.0.0.255 }\n"),
            std::string::npos);
}

TEST(IngressDrop, SetUpdateFlushesEverySetOfEachPortAndAddsNoEmptyElementList) {
  EXPECT_EQ(IngressDrop::set_update({"eth0", "veth_1"}, {}, {}),
            "flush set netdev vsd_eth0 services\n"
            "flush set netdev vsd_eth0 service_addresses\n"
            "flush set netdev vsd_eth0 marked\n"
            "flush set netdev vsd_eth0 host\n"
            "flush set netdev vsd_veth_5f1 services\n"
            "flush set netdev vsd_veth_5f1 service_addresses\n"
            "flush set netdev vsd_veth_5f1 marked\n"
            "flush set netdev vsd_veth_5f1 host\n");
}

TEST(HostAddresses, LooksUpLocalAddressesOnlySortedOnce) {
  HostAddresses host({ip("10.0.0.2"), ip("1.2.3.4"), ip("10.0.0.2")}, {ip("10.0.0.255")});
  EXPECT_EQ(host.local(), (std::vector<Ipv4>{ip("1.2.3.4"), ip("10.0.0.2")}));
  EXPECT_TRUE(host.contains(ip("10.0.0.2")));
  EXPECT_TRUE(host.contains(ip("1.2.3.4")));
  EXPECT_FALSE(host.contains(ip("10.0.0.255")));
  EXPECT_FALSE(host.contains(ip("10.0.0.3")));
}

}  // namespace
}  // namespace vsd
