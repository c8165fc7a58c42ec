// vsd with IPv6 services, as a program in topologies/nat.toml: it takes them (-R and one by
// one), keeps them beside the IPv4 ones, lists and saves them as ipvsadm does, and refuses
// what the kernel or vsd cannot do with nothing lost. Its data plane forwards IPv6 in NAT and DR:
// an IPv6 SYN to an IPv6 VIP reaches the real server rewritten, IPv6 of no service is left to the
// host, and adding a service it does not forward over IPv6 yet (--pe sip) logs one warning that
// says so.
#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "director/ctl/test_ipv6_oracle.h"
#include "frames/frame_builder.h"
#include "nat_bed.h"
#include "port/port.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace vslab;
using namespace std::chrono_literals;

// ipvsadm -S -n of a rule set of both families, as ipvsadm 1.31 printed it.
constexpr const char* kSaved = ctl::test_oracle::kIpv6SaveNumeric;

constexpr const char* kWarning = "that vsd does not forward over IPv6 yet";

int occurrences(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class Ipv6Rules : public testing::Test {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (root)";
  }
};

TEST_F(Ipv6Rules, RestoreThenSaveGivesBackWhatIpvsadmSaved) {
  NatBed bed;
  auto& dut = bed.dut();
  auto restored = dut.restore(kSaved);
  ASSERT_TRUE(restored.ok()) << restored.output << dut.log();
  auto saved = dut.admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output, kSaved);
  // No warning: vsd forwards all of these over IPv6 (fwmark and persistent services too).
  EXPECT_EQ(occurrences(dut.log(), kWarning), 0) << dut.log();
  // A listing of one IPv6 service, as ipvsadm -L -n -t [2001:db8::80]:80 printed it.
  auto one = dut.admin({"-L", "-n", "-t", "[2001:db8::80]:80"});
  ASSERT_TRUE(one.ok()) << one.output;
  EXPECT_EQ(one.output,
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  [2001:db8::80]:80 rr\n"
            "  -> [2001:db8:1::11]:8080        Masq    3      0          0         \n"
            "  -> [2001:db8:1::12]:80          Route   1      0          0         \n");
}

// What the kernel refuses, vsd refuses in its words; what vsd cannot do (a tunnel across
// families, which Linux takes) it refuses in its own. A -R holding one such line loses nothing.
TEST_F(Ipv6Rules, RefusalsChangeNothing) {
  NatBed bed;
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore(kSaved).ok()) << dut.log();
  auto link_local = dut.admin({"-a", "-t", "[2001:db8::80]:80", "-r", "[fe80::1]:80", "-m"});
  EXPECT_EQ(link_local.exit_code, 255);
  EXPECT_EQ(link_local.output,
            "Invalid operation.  Possibly wrong module version, address not unicast, ...\n");
  auto mixed = dut.admin({"-a", "-t", "10.0.0.1:80", "-r", "[2001:db8::2]:80", "-m"});
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_EQ(mixed.output, "Different address family is allowed only for tunneling servers\n");
  auto tunnel = dut.admin({"-a", "-t", "10.0.0.1:80", "-r", "[2001:db8::2]:80", "-i"});
  EXPECT_EQ(tunnel.exit_code, 255);
  EXPECT_NE(tunnel.output.find("vsd: a tunnel to a real server of another address family"),
            std::string::npos)
      << tunnel.output;
  auto restore = dut.restore(
      "-C\n-A -t [2001:db8::90]:80 -s rr\n"
      "-a -t [2001:db8::90]:80 -r 10.0.1.9:80 -i\n");
  EXPECT_FALSE(restore.ok());
  auto saved = dut.admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output, kSaved);
}

// IPv6 to an IPv6 NAT service's VIP is forwarded, rewritten, to its real server; IPv6 to an
// address of the director's own is the host's (counted as ipv6_host); a persistent IPv6 service is
// forwarded with no warning, as is an IPv6 fwmark service; an IPv6 --pe sip service, which the
// IPv6 stages do not serve yet, is warned about once; IPv4 to the same rule set is forwarded as
// before.
TEST_F(Ipv6Rules, Ipv6FramesToAnIpv6VipAreForwardedInNat) {
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.admin({"-A", "-t", "[fd00:20::100]:80", "-s", "rr"}).ok());
  ASSERT_TRUE(
      dut.admin({"-a", "-t", "[fd00:20::100]:80", "-r", "[fd00:168:10::11]:8080", "-m"}).ok());
  ASSERT_TRUE(dut.admin({"-A", "-t", "10.20.0.100:80", "-s", "rr"}).ok());
  ASSERT_TRUE(dut.admin({"-a", "-t", "10.20.0.100:80", "-r", "192.168.10.11:8080", "-m"}).ok());
  EXPECT_EQ(occurrences(dut.log(), kWarning), 0) << dut.log();
  ASSERT_TRUE(dut.admin({"-A", "-t", "[fd00:20::100]:81", "-s", "rr", "-p", "60"}).ok());
  ASSERT_TRUE(
      dut.admin({"-a", "-t", "[fd00:20::100]:81", "-r", "[fd00:168:10::11]:8081", "-m"}).ok());
  EXPECT_EQ(occurrences(dut.log(), kWarning), 0) << dut.log();
  ASSERT_TRUE(dut.admin({"-A", "-f", "9", "-6", "-s", "rr"}).ok());
  EXPECT_EQ(occurrences(dut.log(), kWarning), 0) << dut.log();
  ASSERT_TRUE(
      dut.admin({"-A", "-u", "[fd00:20::100]:5060", "-s", "rr", "-p", "60", "--pe", "sip"}).ok());
  EXPECT_EQ(occurrences(dut.log(), kWarning), 1) << dut.log();
  EXPECT_NE(dut.log().find("IPv6 service UDP [fd00:20::100]:5060 added"), std::string::npos)
      << dut.log();

  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  port::Port rs1(live.netns("rs1"), "eth0", "rs1");
  const auto director = live.mac("director", "eth0");
  auto counters = [&] { return parse_counters(dut.admin({"--counters"}).output); };
  const auto before = counters();
  auto syn6 = [&](const char* dst, uint16_t sport, uint16_t dport) {
    return frames::frame()
        .eth(wire.mac(), director)
        .ipv6("fd00:10::2", dst)
        .tcp(sport, dport)
        .flags(frames::SYN)
        .bytes();
  };
  for (uint16_t sport = 41000; sport < 41003; ++sport) wire.send(syn6("fd00:20::100", sport, 80));
  wire.send(syn6("fd00:20::2", 41010, 80));    // the director's own address: its kernel's
  wire.send(syn6("fd00:20::100", 41020, 81));  // persistent: rs1's port 8081
  wire.send(frames::frame()
                .eth(wire.mac(), director)
                .ipv4("10.10.0.2", "10.20.0.100")
                .tcp(42000, 80)
                .flags(frames::SYN)
                .bytes());
  auto arrived = [&](uint16_t sport) {
    return [&rs1, sport](auto&) {
      for (const auto& f : rs1.captured()) {
        Tins::EthernetII e(f.bytes.data(), f.bytes.size());
        if (auto* tcp = e.find_pdu<Tins::TCP>(); tcp && tcp->sport() == sport) return true;
      }
      return false;
    };
  };
  ASSERT_TRUE(rs1.wait_until(arrived(42000), 2s)) << dut.log();
  ASSERT_TRUE(rs1.wait_until(arrived(41002), 3s)) << dut.log();
  ASSERT_TRUE(rs1.wait_until(arrived(41020), 3s)) << dut.log();
  int forwarded6 = 0;
  for (const auto& f : rs1.captured()) {
    Tins::EthernetII e(f.bytes.data(), f.bytes.size());
    const auto* ip6 = e.find_pdu<Tins::IPv6>();
    const auto* tcp = e.find_pdu<Tins::TCP>();
    // What the client sent, as rs1 received it (rs1's own answers are captured too).
    if (ip6 == nullptr || tcp == nullptr || ip6->src_addr().to_string() != "fd00:10::2") continue;
    EXPECT_NE(tcp->sport(), 41010) << "IPv6 to the director's own address was forwarded";
    EXPECT_EQ(ip6->dst_addr().to_string(), "fd00:168:10::11");
    EXPECT_EQ(tcp->dport(), tcp->sport() == 41020 ? 8081 : 8080);
    ++forwarded6;
  }
  EXPECT_EQ(forwarded6, 4);
  std::map<std::string, uint64_t> after;
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  do {
    after = counters();
  } while (after["ipv6_to_real_server"] < before.at("ipv6_to_real_server") + 4 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(after["discard_ipv6_unsupported"], before.at("discard_ipv6_unsupported"));
  EXPECT_EQ(after["ipv6_to_real_server"], before.at("ipv6_to_real_server") + 4);
  EXPECT_GE(after["ipv6_host"], before.at("ipv6_host") + 1);
  // Four connections and the persistent service's template.
  EXPECT_EQ(after["conn6_entries"], 5u);
}

}  // namespace
}  // namespace vsd
