// vsd under a spoofed SYN flood (issue 22, finding 2), as a program in topologies/nat.toml with
// --conn-table-size 65536: 2,000,000 SYNs from as many sources of 100.64.0.0/10, sent from the
// router's side of the director's link through an AF_PACKET TX ring, while a UDP flow and an
// established TCP connection run through the same VIP. What must hold: the established flows
// lose nothing (the UDP loss is quoted and bounded), vsd reflects nothing at the spoofed
// sources (counted by nftables where they are routed, the client's namespace), and a new
// client is served within a second of the flood's end. The figures are printed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "flood_traffic.h"
#include "nat_bed.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace vslab;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kSpoofedSources = 2'000'000;
constexpr double kFloodPps = 400'000;
// The flood stays at most this many frames ahead of what vsd has taken from its port: well
// within its RX ring (32 blocks of 256 KiB, some 65,000 SYNs), so that the ring never overflows
// on a shared machine and what is lost is the table's doing. At the flood's end, this is the
// most vsd may still have to read before a new client's SYN.
constexpr uint64_t kWindow = 10'000;
const char* kTableSize = "65536";

const char* kRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n"
    "-A -u 10.20.0.100:53 -s rr\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.11:5353 -m\n";

void must(const std::vector<std::string>& argv) {
  auto r = topo::run_command(argv);
  if (!r.ok()) throw std::runtime_error(topo::shell_quote(argv) + ": " + r.output);
}

// What reached the spoofed sources from the director: ICMP and TCP RSTs, counted by nftables
// in the namespace the router sends 100.64.0.0/10 to.
class ReflectionCounter {
 public:
  explicit ReflectionCounter(std::string netns) : netns_(std::move(netns)) {
    const std::string script =
        "table ip vsd_flood {\n"
        " chain pre {\n"
        "  type filter hook prerouting priority -300;\n"
        "  ip daddr 100.64.0.0/10 ip protocol icmp counter\n"
        "  ip daddr 100.64.0.0/10 tcp flags & rst == rst counter\n"
        "  ip daddr 100.64.0.0/10 counter\n"
        " }\n"
        "}\n";
    run_nft_script(script);
  }
  // icmp, rst, everything
  std::array<uint64_t, 3> read() const {
    auto r = topo::run_command(
        {"ip", "netns", "exec", netns_, "nft", "list", "table", "ip", "vsd_flood"});
    std::array<uint64_t, 3> out{};
    std::regex packets(R"(counter packets (\d+))");
    std::size_t i = 0;
    for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), packets);
         it != std::sregex_iterator() && i < out.size(); ++it)
      out[i++] = std::stoull((*it)[1]);
    return out;
  }

 private:
  void run_nft_script(const std::string& script) const {
    auto path = testing::TempDir() + "vsd-flood-" + std::to_string(getpid()) + ".nft";
    {
      std::FILE* f = std::fopen(path.c_str(), "w");
      if (!f) throw std::runtime_error("cannot write " + path);
      std::fputs(script.c_str(), f);
      std::fclose(f);
    }
    auto r = topo::run_command({"ip", "netns", "exec", netns_, "nft", "-f", path});
    std::remove(path.c_str());
    if (!r.ok()) throw std::runtime_error("nft: " + r.output);
  }
  std::string netns_;
};

TEST(VsdSynFlood, EstablishedFlowsKeepGoingNothingIsReflectedAndNewClientsAreServed) {
#ifdef __SANITIZE_ADDRESS__
  // A load test: under ASan vsd runs many times slower than the flow and the flood it is
  // judged by, so what it misses is lost at its RX ring for want of CPU, no verdict on it.
  // Its figures are the Release build's; the ASan build checks the same code through the
  // unit tests and the fuzzers.
  GTEST_SKIP() << "a load test: its figures come from the Release build, not under ASan";
#endif
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  if (!topo::run_command({"nft", "--version"}).ok())
    GTEST_SKIP() << "needs nft (nftables) to count what reaches the spoofed sources";
  NatBed bed({"--conn-table-size", kTableSize});
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore(kRules).ok());
  // The listing's header names the table's size, as ipvsadm's does.
  auto listing = dut.admin({"-L", "-n"});
  EXPECT_NE(listing.output.find("IP Virtual Server version 1.2.1 (size=65536)"), std::string::npos)
      << listing.output;
  const std::string client_ns = live.netns("client"), router_ns = live.netns("router"),
                    rs1_ns = live.netns("rs1");

  // The spoofed sources live behind the client, as far as the router knows; rs1 drops their
  // SYNs, as a real server's firewall would, so that the flood measures the director alone.
  must({"ip", "-n", router_ns, "route", "add", "100.64.0.0/10", "via", "10.10.0.2"});
  must({"ip", "netns", "exec", rs1_ns, "nft",
        "add table ip vsd_flood; add chain ip vsd_flood in { type filter hook input priority 0; "
        "}; add rule ip vsd_flood in ip saddr 100.64.0.0/10 drop"});
  ReflectionCounter reflected(client_ns);

  flood::EchoServers servers(rs1_ns, flood::Endpoint4{"192.168.10.11", 8080},
                             flood::Endpoint4{"192.168.10.11", 5353});
  flood::UdpFlow udp(client_ns, {"10.20.0.100", 53});
  flood::TcpFlow tcp(client_ns, {"10.20.0.100", 80});
  ASSERT_TRUE(tcp.connected()) << dut.log();
  udp.start();
  tcp.start();

  flood::FrameFlood syns(router_ns, "eth1");
  const Mac from = syns.mac(), to = *Mac::parse(live.mac("director", "eth0"));
  const Ipv4 base = *Ipv4::parse("100.64.0.0"), vip = *Ipv4::parse("10.20.0.100");
  // vsd's own count of what it took from eth0, asked over its control socket.
  auto rx_frames = [&] {
    return parse_counters(dut.admin({"--counters"}).output)["eth0_rx_frames"];
  };
  const uint64_t rx_before = rx_frames();
  uint64_t paced = 0;
  const auto flood_start = Clock::now();
  const uint64_t sent = syns.send(
      kSpoofedSources, kFloodPps, kWindow,
      [&](uint32_t i, std::array<uint8_t, 60>& f) {
        flood::build_syn(f, i, from, to, base, vip, 80);
      },
      [&] {
        ++paced;
        return rx_frames() - rx_before;
      });
  const auto flood_end = Clock::now();
  const double flood_s = std::chrono::duration<double>(flood_end - flood_start).count();

  // A new client at the flood's end: from then until its first echo.
  const auto served_after = flood::time_to_serve(client_ns, {"10.20.0.100", 80});
  const auto counters_text = dut.admin({"--counters"});

  udp.stop();
  tcp.stop();
  const auto refl = reflected.read();
  auto c = parse_counters(counters_text.output);
  const uint64_t ring_drops = c["eth0_rx_ring_drops"] + c["eth1_rx_ring_drops"];
  const uint64_t tx_full = c["eth0_tx_ring_full"] + c["eth1_tx_ring_full"];

  std::printf(
      "flood: %llu SYNs from %u spoofed sources in %.2f s (%.0f pps asked, %.0f pps sent; "
      "held back for vsd %llu times)\n"
      "table: %s entries, pressure from %llu; in use after the flood %llu; inserted %llu, early "
      "drops %llu (misses %llu), refused full %llu, SYN_RECV shortened %llu\n"
      "reflected at the spoofed sources: %llu ICMP, %llu RST (%llu frames in all)\n"
      "established UDP: %llu sent, %llu echoed, %llu lost (%.4f %%)\n"
      "established TCP: %llu messages echoed, %s, longest wait %.1f ms\n"
      "new client served %.1f ms after the flood's end\n"
      "vsd: eth0 rx %llu frames; lost for want of CPU: %llu at the RX rings, %llu at the TX "
      "rings\n",
      (unsigned long long)sent, kSpoofedSources, flood_s, kFloodPps, double(sent) / flood_s,
      (unsigned long long)paced, kTableSize, (unsigned long long)c["conn_pressure_at"],
      (unsigned long long)c["conn_entries"], (unsigned long long)c["conn_inserted"],
      (unsigned long long)c["conn_early_dropped"], (unsigned long long)c["conn_early_drop_misses"],
      (unsigned long long)c["conn_refused_full"], (unsigned long long)c["conn_short_syn_recv"],
      (unsigned long long)refl[0], (unsigned long long)refl[1], (unsigned long long)refl[2],
      (unsigned long long)udp.sent(), (unsigned long long)udp.echoed(),
      (unsigned long long)(udp.sent() - udp.echoed()),
      udp.sent() ? 100.0 * double(udp.sent() - udp.echoed()) / double(udp.sent()) : 0.0,
      (unsigned long long)tcp.echoed(), tcp.failed() ? "FAILED" : "never reset",
      tcp.longest_wait_ms(),
      served_after ? std::chrono::duration<double, std::milli>(*served_after).count() : -1.0,
      (unsigned long long)c["eth0_rx_frames"], (unsigned long long)ring_drops,
      (unsigned long long)tx_full);

  ASSERT_TRUE(counters_text.ok()) << counters_text.output << dut.log();
  EXPECT_EQ(sent, uint64_t{kSpoofedSources});
  EXPECT_EQ(refl[0], 0u) << "ICMP reflected at spoofed sources";
  EXPECT_EQ(refl[1], 0u) << "RSTs reflected at spoofed sources";
  EXPECT_GT(c["conn_early_dropped"], 0u);
  EXPECT_FALSE(tcp.failed()) << tcp.error();
  EXPECT_GT(tcp.echoed(), 0u);
  // The established UDP flow loses nothing to the table: every datagram lost is at most one of
  // the frames the kernel dropped at vsd's rings when vsd was not scheduled in time (a shared
  // 2-core machine; 0 on a quiet one).
  EXPECT_LE(udp.sent() - udp.echoed(), ring_drops + tx_full) << "established UDP flow lost";
  // And whatever the rings dropped, the flow kept flowing: 2-4 % lost on a machine loaded by
  // other builds, so a tenth is a bound that only a stalled flow breaks.
  EXPECT_LE(10 * (udp.sent() - udp.echoed()), udp.sent()) << "established UDP flow stalled";
  ASSERT_TRUE(served_after.has_value()) << "no new client served within 3 s";
  EXPECT_LT(*served_after, std::chrono::seconds(1));
}

}  // namespace
}  // namespace vsd
