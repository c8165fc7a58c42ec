// vsd's IPv6 FULLNAT end to end, as a program in topologies/nat.toml with an IPv6 local address
// on the real servers' subnet: a client's SYN reaches rs1 from LIP:lport, rs1's own kernel
// answers it (a RST: nothing listens there), vsd answers rs1's neighbour solicitation for the
// local address, and the answer reaches the client from [VIP]:80. The connection is listed by
// -L -n -c and counted on its destination (InActConn) as IPv4 connections are.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "frames/frame_builder.h"
#include "nat_bed.h"
#include "port/port.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace vslab;
using namespace std::chrono_literals;

constexpr const char* kClient = "fd00:10::2";
constexpr const char* kVip = "fd00:20::100";
constexpr const char* kLocal = "fd00:168:10::200";
constexpr const char* kRip = "fd00:168:10::11";

TEST(Ipv6FullNat, BothEndsRewrittenAndTheReplyComesBack) {
  if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t [fd00:20::100]:80 -s rr\n"
                          "-a -t [fd00:20::100]:80 -r [fd00:168:10::11]:8080 -b -w 1\n"
                          "--add-laddr -z fd00:168:10::200 -t [fd00:20::100]:80\n")
                  .ok())
      << dut.log();
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  port::Port rs1(live.netns("rs1"), "eth0", "rs1");
  wire.send(frames::frame()
                .eth(wire.mac(), live.mac("director", "eth0"))
                .ipv6(kClient, kVip)
                .tcp(41000, 80)
                .flags(frames::SYN)
                .bytes());

  // At rs1: LIP:lport -> RIP:8080, hop limit one less.
  uint16_t lport = 0;
  auto forwarded = [&](auto&) {
    for (const auto& f : rs1.captured()) {
      Tins::EthernetII e(f.bytes.data(), f.bytes.size());
      const auto* ip6 = e.find_pdu<Tins::IPv6>();
      const auto* tcp = e.find_pdu<Tins::TCP>();
      if (ip6 == nullptr || tcp == nullptr || ip6->dst_addr().to_string() != kRip) continue;
      EXPECT_EQ(ip6->src_addr().to_string(), kLocal);
      EXPECT_EQ(ip6->hop_limit(), 63);
      EXPECT_EQ(tcp->dport(), 8080);
      EXPECT_GE(tcp->sport(), 1024);
      lport = tcp->sport();
      return true;
    }
    return false;
  };
  ASSERT_TRUE(rs1.wait_until(forwarded, 3s)) << dut.log();

  // rs1's RST to LIP:lport, back at the client from [VIP]:80 with its checksum right.
  auto answered = [&](auto&) {
    for (const auto& f : wire.captured()) {
      Tins::EthernetII e(f.bytes.data(), f.bytes.size());
      const auto* ip6 = e.find_pdu<Tins::IPv6>();
      const auto* tcp = e.find_pdu<Tins::TCP>();
      if (ip6 == nullptr || tcp == nullptr || ip6->dst_addr().to_string() != kClient) continue;
      EXPECT_EQ(ip6->src_addr().to_string(), kVip);
      EXPECT_EQ(tcp->sport(), 80);
      EXPECT_EQ(tcp->dport(), 41000);
      EXPECT_TRUE(tcp->get_flag(Tins::TCP::RST));
      // libtins writes the checksum afresh: the same bytes mean the one on the wire was right.
      Tins::EthernetII again(f.bytes.data(), f.bytes.size());
      EXPECT_EQ(again.serialize(), f.bytes);
      return true;
    }
    return false;
  };
  ASSERT_TRUE(wire.wait_until(answered, 3s)) << dut.log();

  // -L -n -c lists the IPv6 connection; -L -n counts it on rs1 (a RST leaves it inactive).
  auto listing = dut.admin({"-L", "-n", "-c"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("[fd00:10::2]:41000 [fd00:20::100]:80  [fd00:168:10::11]:8080"),
            std::string::npos)
      << listing.output;
  auto services = dut.admin({"-L", "-n"});
  ASSERT_TRUE(services.ok()) << services.output;
  EXPECT_NE(services.output.find("  -> [fd00:168:10::11]:8080       FullNat 1      0          1"),
            std::string::npos)
      << services.output;
  EXPECT_NE(lport, 0);
}

}  // namespace
}  // namespace vsd
