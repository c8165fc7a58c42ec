// vsd's -6 fwmark services end to end, as a program in topologies/nat.toml: IPv6 mark rules
// (a host and a /64) give SYNs the mark, the -6 fwmark service of that mark schedules them
// (not the IPv4 service of the same mark: the family is part of the key), NAT takes each to its
// real server on the packet's port (the RS port is 0), persistence with -M 64 keeps a client
// prefix on one server through the fwmark template, and -L -n lists "FWM  1 IPv6".
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

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

struct Probe {
  std::string client;
  std::string dest;
  uint16_t dport;
};

struct Arrival {
  int server = 0;  // 1..2, 0: none within the deadline
  uint16_t dport = 0;
  std::string dest;
};

constexpr uint16_t kFirstSport = 42000;

// Sends one SYN per probe, from its client, into the director and returns where each arrived.
std::vector<Arrival> deliver(NatBed& bed, const std::vector<Probe>& probes) {
  auto& live = bed.live();
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  std::vector<std::unique_ptr<port::Port>> rs;
  for (int i = 1; i <= 2; ++i)
    rs.push_back(std::make_unique<port::Port>(live.netns("rs" + std::to_string(i)), "eth0",
                                              "rs" + std::to_string(i)));
  uint16_t sport = kFirstSport;
  for (const auto& probe : probes)
    wire.send(frames::frame()
                  .eth(wire.mac(), live.mac("director", "eth0"))
                  .ipv6(probe.client, probe.dest)
                  .tcp(sport++, probe.dport)
                  .flags(frames::SYN)
                  .bytes());
  std::vector<Arrival> arrived(probes.size());
  auto all_arrived = [&]() {
    for (std::size_t i = 0; i < rs.size(); ++i)
      for (const auto& f : rs[i]->captured()) {
        Tins::EthernetII e(f.bytes.data(), f.bytes.size());
        const auto* ip6 = e.find_pdu<Tins::IPv6>();
        const auto* tcp = e.find_pdu<Tins::TCP>();
        if (ip6 == nullptr || tcp == nullptr || tcp->sport() < kFirstSport ||
            tcp->sport() >= kFirstSport + probes.size())
          continue;
        arrived[tcp->sport() - kFirstSport] = {int(i) + 1, tcp->dport(),
                                               ip6->dst_addr().to_string()};
      }
    for (const auto& a : arrived)
      if (a.server == 0) return false;
    return true;
  };
  std::vector<port::Port*> ports;
  for (auto& p : rs) ports.push_back(p.get());
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (!all_arrived() && std::chrono::steady_clock::now() < deadline)
    port::Port::wait_any(ports, 100ms);
  return arrived;
}

class Ipv6Fwmark : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
    bed_ = std::make_unique<NatBed>();
  }
  std::unique_ptr<NatBed> bed_;
};

TEST_F(Ipv6Fwmark, MarkedPacketsReachTheIpv6ServiceOfTheirMark) {
  NatBed& bed = *bed_;
  auto& dut = bed.dut();
  // An IPv4 service of the same mark with no server: a packet it took would go nowhere.
  ASSERT_TRUE(dut.restore("-A -f 1 -s rr\n"
                          "-A -f 1 -6 -s rr -p 60 -M 64\n"
                          "-a -f 1 -6 -r [fd00:168:10::11]:0 -m -w 1\n"
                          "-a -f 1 -6 -r [fd00:168:10::12]:0 -m -w 1\n"
                          "--add-mark -f 1 --proto tcp --dest fd00:20::100/128 --dport 80:81\n"
                          "--add-mark -f 1 --proto tcp --dest fd00:30::/64\n")
                  .ok())
      << dut.log();
  // rr alone would alternate; the template for fd00:10::/64 keeps them on one server.
  const auto arrived = deliver(bed, {{"fd00:10::2", "fd00:20::100", 80},
                                     {"fd00:10::3", "fd00:20::100", 81},
                                     {"fd00:10::2", "fd00:30::7", 8443}});
  ASSERT_NE(arrived[0].server, 0) << dut.log();
  const std::string rip = "fd00:168:10::1" + std::to_string(arrived[0].server);
  for (std::size_t i = 0; i < arrived.size(); ++i) {
    EXPECT_EQ(arrived[i].server, arrived[0].server) << i;
    EXPECT_EQ(arrived[i].dest, rip) << i;  // NAT rewrote the destination
  }
  EXPECT_EQ(arrived[0].dport, 80);
  EXPECT_EQ(arrived[1].dport, 81);
  EXPECT_EQ(arrived[2].dport, 8443);

  const auto listing = dut.admin({"-L", "-n"}).output;
  EXPECT_NE(listing.find("FWM  1 IPv6 rr persistent 60 mask 64\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find("FWM  1 rr\n"), std::string::npos) << listing;
  const auto connections = dut.admin({"-L", "-n", "-c"}).output;
  // The fwmark template: the client's /64, the mark as the virtual address, RIP:0.
  EXPECT_NE(connections.find("[" + rip + "]:0"), std::string::npos) << connections;
  const auto counters = parse_counters(dut.admin({"--counters"}).output);
  EXPECT_EQ(counters.at("ipv6_to_real_server"), 3u);
  EXPECT_EQ(counters.at("ipv6_no_service"), 0u);
}

TEST_F(Ipv6Fwmark, UnmarkedPortsAreNotScheduled) {
  auto& dut = bed_->dut();
  const auto installed = dut.restore(
      "-A -f 2 -6 -s rr\n-a -f 2 -6 -r [fd00:168:10::11]:0 -m -w 1\n"
      "--add-mark -f 2 --proto udp --dest fd00:20::100/128\n");
  ASSERT_TRUE(installed.ok()) << dut.log();
  // TCP is not what the rule marks: nothing reaches the server.
  const auto arrived = deliver(*bed_, {{"fd00:10::2", "fd00:20::100", 80}});
  EXPECT_EQ(arrived[0].server, 0);
  EXPECT_EQ(parse_counters(dut.admin({"--counters"}).output).at("ipv6_to_real_server"), 0u);
}

}  // namespace
}  // namespace vsd
