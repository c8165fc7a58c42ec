// vsd under a storm of malformed frames (issue: robustness): 10,000 frames of every broken
// kind, interleaved with the SYNs of 200 valid connections, sent straight at the director's
// port. vsd must not crash, must forward every valid SYN, and its counters must account for
// every frame it dropped, reason by reason.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <tins/tins.h>

#include "frames/frame_builder.h"
#include "nat_bed.h"
#include "port/port.h"

namespace vsd {
namespace {

using namespace vslab;

const char* kRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.12:8080 -m\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.13:8080 -m\n";

// One broken kind: how to break a valid frame, and the counter that must count it.
struct Breakage {
  const char* counter;
  void (*apply)(std::vector<uint8_t>& frame);
};

void set_ip_checksum(std::vector<uint8_t>& f) {
  f[24] = f[25] = 0;
  uint32_t sum = 0;
  std::size_t ihl = (f[14] & 0x0f) * 4u;
  for (std::size_t i = 14; i + 1 < 14 + ihl && i + 1 < f.size(); i += 2)
    sum += f[i] << 8 | f[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = uint8_t(~sum >> 8);
  f[25] = uint8_t(~sum);
}

const Breakage kBreakages[] = {
    // A runt below 14 bytes cannot be sent on veth (AF_PACKET refuses frames shorter than
    // the link header), so the shortest runt is a bare Ethernet header.
    {"drop_ipv4_truncated", [](auto& f) { f.resize(14); }},
    {"drop_vlan_tagged",
     [](auto& f) {
       uint8_t tag[] = {0x81, 0x00, 0x00, 0x07};
       f.insert(f.begin() + 12, tag, tag + 4);
     }},
    {"discard_not_ipv4", [](auto& f) { f[12] = 0x88, f[13] = 0xb5; }},
    {"drop_bad_version", [](auto& f) { f[14] = 0x65, set_ip_checksum(f); }},
    {"drop_bad_header_length", [](auto& f) { f[14] = 0x44, set_ip_checksum(f); }},
    {"drop_ipv4_truncated", [](auto& f) { f[16] = 0x05, f[17] = 0xdc, set_ip_checksum(f); }},
    {"drop_bad_total_length", [](auto& f) { f[16] = 0, f[17] = 16, set_ip_checksum(f); }},
    {"drop_bad_ip_checksum", [](auto& f) { f[24] ^= 0x5a; }},
    {"drop_l4_truncated",
     [](auto& f) { f[16] = 0, f[17] = 30, f.resize(14 + 30), set_ip_checksum(f); }},
    {"drop_bad_tcp_data_offset", [](auto& f) { f[14 + 20 + 12] = 0x20; }},
    // A last fragment ending past 65535 bytes (offset 65520 + 20): reassembly refuses it.
    {"discard_fragment", [](auto& f) { f[20] = 0x1f, f[21] = 0xfe, set_ip_checksum(f); }},
};

TEST(VsdRobustness, MalformedStormIsCountedAndValidFlowsGetThrough) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore(kRules).ok());

  // Injected on the router's side of the router-director link, so no router filters it.
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  std::vector<std::unique_ptr<port::Port>> servers;
  for (const char* rs : {"rs1", "rs2", "rs3"})
    servers.push_back(std::make_unique<port::Port>(live.netns(rs), "eth0", std::string(rs)));

  const auto director_mac = live.mac("director", "eth0");
  auto syn = [&](uint16_t sport) {
    return frames::frame()
        .eth(wire.mac(), director_mac)
        .ipv4("10.10.0.2", "10.20.0.100")
        .ttl(64)
        .tcp(sport, 80)
        .flags(frames::SYN)
        .bytes();
  };

  constexpr int kValid = 200, kBrokenPerValid = 50;
  std::map<std::string, uint64_t> sent;
  int broken = 0;
  for (int v = 0; v < kValid; ++v) {
    wire.send(syn(uint16_t(20000 + v)));
    for (int b = 0; b < kBrokenPerValid; ++b, ++broken) {
      const auto& kind = kBreakages[broken % std::size(kBreakages)];
      auto frame = syn(uint16_t(30000 + broken % 30000));
      kind.apply(frame);
      wire.send(frame);
      sent[kind.counter]++;
    }
  }
  ASSERT_EQ(broken, 10000);

  // Every valid SYN reaches one of the real servers.
  auto syns_at = [](port::Port& p) {
    std::size_t n = 0;
    for (const auto& f : p.captured()) {
      Tins::EthernetII e(f.bytes.data(), f.bytes.size());
      if (auto* tcp = e.find_pdu<Tins::TCP>();
          tcp && tcp->dport() == 8080 && tcp->sport() >= 20000 && tcp->sport() < 20000 + kValid)
        ++n;
    }
    return n;
  };
  // Until all of them are in, or 5 s: each port is read in turn (a port reads its socket only
  // while waited on), since which server got how many is rr's business, not this test's.
  auto arrived_in_all = [&] {
    std::size_t n = 0;
    for (auto& s : servers) n += syns_at(*s);
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (arrived_in_all() < std::size_t(kValid) && std::chrono::steady_clock::now() < deadline)
    for (auto& s : servers)
      s->wait_until([&](auto&) { return arrived_in_all() >= std::size_t(kValid); },
                    std::chrono::milliseconds(100));
  EXPECT_EQ(arrived_in_all(), std::size_t(kValid));

  auto counters = dut.admin({"--counters"});
  ASSERT_TRUE(counters.ok()) << counters.output << dut.log();
  auto got = parse_counters(counters.output);
  for (const auto& [name, count] : sent) {
    if (name == "discard_not_ipv4") {
      // The topology is dual-stack: the namespaces' kernels also send IPv6 (router
      // solicitations, MLD reports) through the director's ports, which an IPv4 data plane
      // counts here too; a few dozen at most in a run this short.
      EXPECT_GE(got[name], count) << name << "\n" << counters.output;
      EXPECT_LE(got[name], count + 64) << name << "\n" << counters.output;
    } else {
      EXPECT_EQ(got[name], count) << name << "\n" << counters.output;
    }
  }
  // Still serving: the listing shows the service and 200 connections.
  auto listing = dut.admin({"-L", "-n"});
  EXPECT_TRUE(listing.ok()) << listing.output;
  EXPECT_EQ(got["conn_entries"], uint64_t(kValid)) << counters.output;
}

}  // namespace
}  // namespace vsd
