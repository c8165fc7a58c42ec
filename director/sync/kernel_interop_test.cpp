// Connection synchronization between vsd and the kernel's IPVS, both ways, in the qemu
// reference (topologies/sync.toml: vsd on director, Debian's 6.1 kernel under qemu on
// director2, the same rules on both, the sync group on their eth1): TCP connections and UDP
// flows go through the master, and the backup's `-L -n -c` must list every one of the master's
// entries with the same addresses, ports and state, and a timeout that the backup started
// when the entry came (the kernel's rules: docs/ipvs.md, "Connection synchronization").
#include <fmt/core.h>
#include <gtest/gtest.h>

#include "frames/frame_builder.h"
#include "port/port.h"
#include "sync/sync_bed.h"
#include "topology/netns.h"

namespace vsd::sync::interop {
namespace {

using namespace vslab::sync;

using namespace std::chrono_literals;

// The whole timeout of an entry in each state, as the kernel gives it (and sends it): the
// most a backup may list for it.
int full_timeout(const ListedConn& c) {
  if (c.state == "ESTABLISHED") return 900;
  if (c.state == "CLOSE_WAIT") return 60;
  if (c.state == "TIME_WAIT") return 120;
  if (c.state == "UDP") return 300;
  if (c.state == "NONE" || c.state == "ASSURED") return 60;  // -p 60
  return -1;
}

std::string text_of(const std::vector<ListedConn>& listing) {
  std::string out;
  for (const auto& c : listing) out += "  " + c.str() + "\n";
  return out;
}

const ListedConn* same_connection(const std::vector<ListedConn>& listing, const ListedConn& c) {
  for (const auto& other : listing)
    if (other.protocol == c.protocol && other.source == c.source &&
        other.virtual_address == c.virtual_address)
      return &other;
  return nullptr;
}

// Every entry of the master is on the backup, field by field, within the kernel's timeouts.
// `gap_s`: seconds between the two listings.
void expect_backup_matches(const std::vector<ListedConn>& master,
                           const std::vector<ListedConn>& backup, int gap_s) {
  const std::string both = "master:\n" + text_of(master) + "backup:\n" + text_of(backup);
  EXPECT_EQ(backup.size(), master.size()) << both;
  for (const auto& m : master) {
    const ListedConn* b = same_connection(backup, m);
    ASSERT_NE(b, nullptr) << m.str() << " is not on the backup\n" << both;
    EXPECT_EQ(b->destination, m.destination) << both;
    EXPECT_EQ(b->state, m.state) << both;
    ASSERT_GT(full_timeout(m), 0) << "a state no flow of this test leaves an entry in: " << m.str();
    EXPECT_LE(b->expire_s, full_timeout(m)) << both;
    // The backup's timer started when the entry came, after the master's last packet of it.
    EXPECT_GE(b->expire_s, m.expire_s - gap_s - 3) << both;
  }
}

struct Flows {
  std::vector<TcpFlow> tcp;
  std::vector<UdpFlow> udp;
};

// Flows that the kernel's master rules sync (docs/ipvs.md): each has 3 packets or more from
// the client. TCP: ESTABLISHED (3 and 10 packets), CLOSE_WAIT (the client's FIN), and one to
// the persistent service (its template too); UDP: 3 and 5 datagrams.
Flows drive(SyncBed& bed) {
  Flows flows;
  flows.tcp.push_back(bed.connect(42001, 80));
  bed.send(flows.tcp.back());
  flows.tcp.push_back(bed.connect(42002, 80));
  for (int i = 0; i < 8; ++i) bed.send(flows.tcp.back());
  flows.tcp.push_back(bed.connect(42003, 80));
  bed.send(flows.tcp.back());
  bed.close_client(flows.tcp.back());
  flows.tcp.push_back(bed.connect(42005, 81));
  bed.send(flows.tcp.back());
  for (auto [port, datagrams] : {std::pair{6001, 3}, std::pair{6002, 5}}) {
    flows.udp.push_back(bed.udp(static_cast<uint16_t>(port), 53));
    for (int i = 0; i < datagrams; ++i) bed.send(flows.udp.back());
  }
  return flows;
}

// 4 TCP connections, their template, 2 UDP flows.
constexpr std::size_t kEntries = 7;

class SyncInterop : public testing::Test {
 protected:
  void SetUp() override {
    if (!vslab::topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                      "namespaces";
    // Asked before a guest boots for nothing: vsadm refuses an unknown option before it
    // looks for vsd.
    auto probe =
        vslab::topo::run_command({VSLAB_VSADM_BINARY, "--socket", "/nonexistent", "--start-daemon",
                                  "master", "--mcast-interface", kSyncInterface});
    if (probe.output.find("unknown option") != std::string::npos)
      GTEST_SKIP() << "vsd has no sync daemon (vsadm --start-daemon: " << probe.output << ")";
    try {
      bed_ = std::make_unique<SyncBed>(true, VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY);
    } catch (const vslab::dut::DutUnavailable& e) {
      GTEST_SKIP() << e.what();
    }
    bed_->restore(kSyncRules);
    bed_->listen({80, 81}, {53});
  }
  void TearDown() override {
    if (HasFailure() && bed_) {
      std::cerr << "vsd log:\n"
                << bed_->vsd().log() << "guest console:\n"
                << bed_->kernel().console();
    }
    bed_.reset();
  }

  // vsd's daemon, or why the test cannot go on: a vsadm without --start-daemon is a skip
  // naming it, any other refusal a failure.
  std::optional<std::string> start_vsd_daemon(const std::string& state) {
    auto r = bed_->vsd().admin(
        {"--start-daemon", state, "--mcast-interface", kSyncInterface, "--syncid", "7"});
    if (r.ok()) return std::nullopt;
    if (r.output.find("unknown option") != std::string::npos)
      return "vsd has no sync daemon (vsadm --start-daemon: " + r.output + ")";
    ADD_FAILURE() << "vsadm --start-daemon " << state << " failed: " << r.output;
    return r.output;
  }

  std::vector<ListedConn> kernel_listing() {
    return parse_connection_listing(bed_->kernel_shell("ipvsadm -L -n -c"));
  }
  std::vector<ListedConn> vsd_listing() {
    return parse_connection_listing(bed_->vsd_admin({"-L", "-n", "-c"}));
  }

  // Once the flows are through the master: the backup comes to list what the master lists,
  // entry by entry; its timeouts may have run down by the time the backup was read.
  void expect_backup_follows(bool vsd_is_master) {
    auto master_listing = [&] { return vsd_is_master ? vsd_listing() : kernel_listing(); };
    auto backup_listing = [&] { return vsd_is_master ? kernel_listing() : vsd_listing(); };
    const auto master = master_listing();
    ASSERT_EQ(master.size(), kEntries) << text_of(master);
    const auto listed_at = std::chrono::steady_clock::now();
    std::vector<ListedConn> backup;
    wait_for(
        [&] {
          backup = backup_listing();
          return backup.size() >= master.size();
        },
        30s);
    const int gap = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::steady_clock::now() - listed_at)
                                         .count());
    expect_backup_matches(master, backup, gap);
  }

  // One daemon on each side, sync_ports threads each, the flows through the master.
  void run_in_step(bool vsd_is_master, int sync_ports = 1) {
    if (sync_ports != 1) {
      const std::string value = "sync_ports=" + std::to_string(sync_ports);
      ASSERT_TRUE(bed_->vsd().admin({"--sysctl", value}).ok());
      bed_->kernel_shell("sysctl -qw net.ipv4.vs." + value);
    }
    if (auto why = start_vsd_daemon(vsd_is_master ? "master" : "backup")) {
      if (HasFailure()) return;
      GTEST_SKIP() << *why;
    }
    bed_->kernel_shell(fmt::format("ipvsadm --start-daemon {} --mcast-interface {} --syncid 7",
                                   vsd_is_master ? "backup" : "master", kSyncInterface));
    bed_->route_through(vsd_is_master ? kVsdNode : kKernelNode);
    auto flows = drive(*bed_);
    expect_backup_follows(vsd_is_master);
  }

  std::unique_ptr<SyncBed> bed_;
};

TEST_F(SyncInterop, VsdMasterKeepsAKernelBackupInStep) {
  run_in_step(/*vsd_is_master=*/true);
}

TEST_F(SyncInterop, KernelMasterKeepsAVsdBackupInStep) {
  run_in_step(/*vsd_is_master=*/false);
}

// net.ipv4.vs.sync_ports=2 on both sides: two sockets each, on ports 8848 and 8849, each
// connection on the one its hash picks (vsd's hash and the kernel's differ, which the
// receiving side does not care about).
TEST_F(SyncInterop, TwoSyncPortsVsdMasterKeepsAKernelBackupInStep) {
  run_in_step(/*vsd_is_master=*/true, 2);
}

TEST_F(SyncInterop, TwoSyncPortsKernelMasterKeepsAVsdBackupInStep) {
  run_in_step(/*vsd_is_master=*/false, 2);
}

// --- IPv6 connections ---------------------------------------------------------------------

// An IPv6 NAT service on both directors. No IPv6 address is needed on the segments: the
// client's segments are sent from the router's port to the master's MAC, and the master syncs a
// connection before it forwards (a forwarding that finds no IPv6 route changes nothing of it).
constexpr const char* kRules6 =
    "-A -t [fd00:20::100]:80 -s rr\n"
    "-a -t [fd00:20::100]:80 -r [fd00:168:10::11]:8080 -m -w 1\n";
constexpr const char* kWant6Source = "[fd00:10::2]:41000";

// The client's handshake and one data segment: the master's 3rd client packet is sent.
void drive6(SyncBed& bed, const std::string& master_mac) {
  vslab::port::Port wire(bed.live().netns("router"), "eth1", "router-eth1-6");
  for (uint16_t flags : {vslab::frames::SYN, vslab::frames::ACK, vslab::frames::ACK})
    wire.send(vslab::frames::frame()
                  .eth(wire.mac(), master_mac)
                  .ipv6("fd00:10::2", "fd00:20::100")
                  .tcp(41000, 80)
                  .flags(flags)
                  .bytes());
}

void expect_ipv6_entry(const std::vector<ListedConn>& listing) {
  ASSERT_EQ(listing.size(), 1u) << text_of(listing);
  EXPECT_EQ(listing[0].protocol, "TCP");
  EXPECT_EQ(listing[0].state, "ESTABLISHED");
  EXPECT_EQ(listing[0].source, kWant6Source);
  EXPECT_EQ(listing[0].virtual_address, "[fd00:20::100]:80");
  EXPECT_EQ(listing[0].destination, "[fd00:168:10::11]:8080");
  EXPECT_LE(listing[0].expire_s, 900);
  EXPECT_GT(listing[0].expire_s, 900 - 30);
}

TEST_F(SyncInterop, VsdMasterSendsIpv6ConnectionsAKernelBackupTakes) {
  bed_->restore(kRules6);
  if (auto why = start_vsd_daemon("master")) {
    if (HasFailure()) return;
    GTEST_SKIP() << *why;
  }
  bed_->kernel_shell(
      fmt::format("ipvsadm --start-daemon backup --mcast-interface {} --syncid 7", kSyncInterface));
  drive6(*bed_, bed_->live().mac(kVsdNode, "eth0"));
  std::vector<ListedConn> backup;
  wait_for(
      [&] {
        backup = kernel_listing();
        return !backup.empty();
      },
      30s);
  expect_ipv6_entry(backup);
}

TEST_F(SyncInterop, KernelMasterSendsIpv6ConnectionsAVsdBackupTakes) {
  bed_->restore(kRules6);
  if (auto why = start_vsd_daemon("backup")) {
    if (HasFailure()) return;
    GTEST_SKIP() << *why;
  }
  // The guest holds the IPv6 VIP (IPVS takes a packet at LOCAL_IN); the guest's ports start
  // with IPv6 off where the topology gives them no IPv6 address.
  bed_->kernel_shell(
      fmt::format("sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0 && "
                  "ip -6 addr add fd00:20::100/128 dev eth0 nodad && "
                  "ipvsadm --start-daemon master --mcast-interface {} --syncid 7",
                  kSyncInterface));
  auto mac = bed_->live().exec(kKernelNode, {"cat", "/sys/class/net/eth0/address"});
  ASSERT_TRUE(mac.ok()) << mac.output;
  drive6(*bed_, mac.output.substr(0, mac.output.find_first_of(" \n")));
  std::vector<ListedConn> backup;
  wait_for(
      [&] {
        backup = vsd_listing();
        return !backup.empty();
      },
      30s);
  expect_ipv6_entry(backup);
  // What the kernel master had.
  expect_ipv6_entry(kernel_listing());
}

}  // namespace
}  // namespace vsd::sync::interop
