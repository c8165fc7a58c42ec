// vsd's IPv6 persistence end to end, as a program in topologies/nat.toml: a persistent IPv6
// service with -M 64 keeps every client of a /64 on the server its first connection went to,
// whatever rr would pick; -L -n -c lists the template with the client's prefix and port 0, and
// the destination counts it in PersistConn; a port-0 IPv6 service sends each connection to
// the packet's port and names RIP:0 in its template (ip_vs_sched_persist).
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

class Ipv6Persistence : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
  }

  // Sends SYNs from each client to [fd00:20::100]:dport and returns, per client in order, the
  // real server (1..3) and the destination port each reached (0: none in 3 s).
  std::vector<std::pair<int, uint16_t>> send_syns(NatBed& bed,
                                                  const std::vector<std::string>& clients,
                                                  uint16_t dport) {
    auto& live = bed.live();
    port::Port wire(live.netns("router"), "eth1", "router-eth1");
    std::vector<std::unique_ptr<port::Port>> rs;
    for (int i = 1; i <= 3; ++i)
      rs.push_back(std::make_unique<port::Port>(live.netns("rs" + std::to_string(i)), "eth0",
                                                "rs" + std::to_string(i)));
    uint16_t sport = 41000;
    for (const auto& client : clients)
      wire.send(frames::frame()
                    .eth(wire.mac(), live.mac("director", "eth0"))
                    .ipv6(client, "fd00:20::100")
                    .tcp(sport++, dport)
                    .flags(frames::SYN)
                    .bytes());
    std::vector<std::pair<int, uint16_t>> reached(clients.size(), {0, 0});
    auto find = [&]() {
      for (int i = 0; i < 3; ++i)
        for (const auto& f : rs[std::size_t(i)]->captured()) {
          Tins::EthernetII e(f.bytes.data(), f.bytes.size());
          const auto* ip6 = e.find_pdu<Tins::IPv6>();
          const auto* tcp = e.find_pdu<Tins::TCP>();
          if (ip6 == nullptr || tcp == nullptr || tcp->sport() < 41000 ||
              tcp->sport() >= 41000 + clients.size() || !tcp->get_flag(Tins::TCP::SYN) ||
              tcp->get_flag(Tins::TCP::ACK))
            continue;
          reached[tcp->sport() - 41000u] = {i + 1, tcp->dport()};
        }
      for (const auto& r : reached)
        if (r.first == 0) return false;
      return true;
    };
    std::vector<port::Port*> ports;
    for (auto& p : rs) ports.push_back(p.get());
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!find() && std::chrono::steady_clock::now() < deadline)
      port::Port::wait_any(ports, 100ms);
    return reached;
  }
};

// Whether -L -n -c lists an entry source -> virtual_addr -> destination.
bool listed(const std::string& listing, const std::string& source, const std::string& virtual_addr,
            const std::string& destination) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string proto, expire, state, from, to, dest;
    if (in >> proto >> expire >> state >> from >> to >> dest && from == source &&
        to == virtual_addr && dest == destination)
      return true;
  }
  return false;
}

TEST_F(Ipv6Persistence, AClientsPrefixStaysOnOneServerAndItsTemplateIsListed) {
  NatBed bed;
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t [fd00:20::100]:80 -s rr -p 60 -M 64\n"
                          "-a -t [fd00:20::100]:80 -r [fd00:168:10::11]:8080 -m -w 1\n"
                          "-a -t [fd00:20::100]:80 -r [fd00:168:10::12]:8080 -m -w 1\n"
                          "-a -t [fd00:20::100]:80 -r [fd00:168:10::13]:8080 -m -w 1\n")
                  .ok())
      << dut.log();
  // rr alone would send these three to three servers.
  const auto reached = send_syns(bed, {"fd00:10::2", "fd00:10::1:0:0:7", "fd00:10::2"}, 80);
  ASSERT_NE(reached[0].first, 0) << dut.log();
  EXPECT_EQ(reached[1].first, reached[0].first);
  EXPECT_EQ(reached[2].first, reached[0].first);
  EXPECT_EQ(reached[0].second, 8080);
  const std::string rip = "fd00:168:10::1" + std::to_string(reached[0].first);

  const auto listing = dut.admin({"-L", "-n", "-c"}).output;
  // One template for the /64, [RIP]:8080 (the packet's port is the service's).
  EXPECT_TRUE(listed(listing, "[fd00:10::]:0", "[fd00:20::100]:80", "[" + rip + "]:8080"))
      << listing;
  EXPECT_EQ(listing.find("[fd00:10::2]:0"), std::string::npos) << listing;
  const auto counters = parse_counters(dut.admin({"--counters"}).output);
  EXPECT_EQ(counters.at("conn6_entries"), 4u);
  EXPECT_EQ(counters.at("discard_ipv6_unsupported"), 0u);
  // PersistConn, after Weight on -L -n --persistent-conn's destination line: the template.
  const auto persist = dut.admin({"-L", "-n", "--persistent-conn"}).output;
  std::istringstream lines(persist);
  std::string persist_conn;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string arrow, address, weight;
    if (in >> arrow >> address >> weight && arrow == "->" && address == "[" + rip + "]:8080")
      in >> persist_conn;
  }
  EXPECT_EQ(persist_conn, "1") << persist;
}

TEST_F(Ipv6Persistence, APortZeroServiceTakesThePacketsPort) {
  NatBed bed;
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t [fd00:20::100]:0 -s rr -p 60\n"
                          "-a -t [fd00:20::100]:0 -r [fd00:168:10::11]:8080 -m -w 1\n"
                          "-a -t [fd00:20::100]:0 -r [fd00:168:10::12]:8080 -m -w 1\n")
                  .ok())
      << dut.log();
  const auto reached = send_syns(bed, {"fd00:10::2", "fd00:10::2"}, 8443);
  ASSERT_NE(reached[0].first, 0) << dut.log();
  EXPECT_EQ(reached[1].first, reached[0].first);
  EXPECT_EQ(reached[0].second, 8443);
  const std::string rip = "fd00:168:10::1" + std::to_string(reached[0].first);
  const auto listing = dut.admin({"-L", "-n", "-c"}).output;
  EXPECT_TRUE(listed(listing, "[fd00:10::2]:0", "[fd00:20::100]:0", "[" + rip + "]:0")) << listing;
  EXPECT_TRUE(listed(listing, "[fd00:10::2]:41000", "[fd00:20::100]:8443", "[" + rip + "]:8443"))
      << listing;
}

}  // namespace
}  // namespace vsd
