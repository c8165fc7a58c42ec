// What Linux 6.1's own sync daemon does, found out in the qemu reference (Debian's kernel under
// qemu on topologies/sync.toml's director2), with nothing of vsd's but the codec that reads and
// writes the datagrams:
// - as master, which connections it sends, after how many of their packets, with which fields,
//   and in what datagrams (captured on the host's side of the guest's link);
// - as backup, what `ipvsadm -L -n -c` lists for entries it is sent.
// docs/ipvs.md ("Connection synchronization") says the same in words.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "interop_bed.h"
#include "port/port.h"
#include "sync/message.h"
#include "sync_capture.h"
#include "topology/netns.h"

namespace vsd::sync::interop {
namespace {

using namespace std::chrono_literals;

constexpr uint8_t kSyncId = 7;
// NAT, rr, both real servers: TCP :80, UDP :53, and TCP :81 persistent for 60 s (templates).
constexpr const char* kRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m -w 1\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.12:80 -m -w 1\n"
    "-A -u 10.20.0.100:53 -s rr\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.11:53 -m -w 1\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.12:53 -m -w 1\n"
    "-A -t 10.20.0.100:81 -s rr -p 60\n"
    "-a -t 10.20.0.100:81 -r 192.168.10.11:81 -m -w 1\n"
    "-a -t 10.20.0.100:81 -r 192.168.10.12:81 -m -w 1\n";

std::optional<std::string> missing_feature() {
  if (!vslab::topo::have_net_admin())
    return "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network namespaces";
  return std::nullopt;
}

// The bed, or a skip naming what is missing (qemu, the kernel package).
std::unique_ptr<SyncBed> make_bed(bool with_vsd, std::string& skip) {
  try {
    return std::make_unique<SyncBed>(with_vsd);
  } catch (const vslab::dut::DutUnavailable& e) {
    skip = e.what();
    return nullptr;
  }
}

std::string dotted(const Address& a) {
  return a.as_v4().str();
}

// Every entry of every datagram, in the order the master sent them.
struct SentEntry {
  std::size_t datagram = 0;
  SyncConn conn;
};

class KernelSync : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = missing_feature()) GTEST_SKIP() << *why;
    std::string skip;
    bed_ = make_bed(false, skip);
    if (!bed_) GTEST_SKIP() << skip;
    bed_->restore(kRules);
    bed_->listen({80, 81}, {53});
    bed_->route_through(kKernelNode);
  }
  void TearDown() override {
    if (HasFailure() && bed_) std::cerr << "guest console:\n" << bed_->kernel().console();
    bed_.reset();
  }

  std::unique_ptr<SyncBed> bed_;
};

TEST_F(KernelSync, MasterSendsEstablishedConnectionsAndTemplatesAfterTheirThirdPacket) {
  // The tap behind the guest's eth1: what it receives is what the guest sent on that port.
  vslab::port::Port wire(bed_->live().netns(kKernelNode), "vslabq1", "director2-eth1-tap");
  bed_->kernel_shell(fmt::format("ipvsadm --start-daemon master --mcast-interface {} --syncid {}",
                                 kSyncInterface, kSyncId));
  std::cerr << bed_->kernel_shell(
      "ipvsadm -L --daemon; sysctl net.ipv4.vs.sync_threshold net.ipv4.vs.sync_refresh_period "
      "net.ipv4.vs.sync_retries net.ipv4.vs.sync_version net.ipv4.vs.sync_ports "
      "net.ipv4.vs.sync_persist_mode net.ipv4.vs.sync_qlen_max; ip route; ip maddr show dev "
      "eth1");

  std::cerr << bed_->kernel_shell("grep Udp: /proc/net/snmp");
  // A: 53 packets from the client (SYN, ACK, 51 data segments). B: the handshake only.
  auto a = bed_->connect(40001, 80);
  auto b = bed_->connect(40002, 80);
  for (int i = 0; i < 51; ++i) bed_->send(a);
  // C: one segment, then closed by the client first.
  auto c = bed_->connect(40003, 80);
  bed_->send(c);
  bed_->close_both(c);
  // D: 53 datagrams; E: a persistent service's connection, three packets.
  auto d = bed_->udp(5001, 53);
  for (int i = 0; i < 53; ++i) bed_->send(d);
  auto e = bed_->connect(40005, 81);
  bed_->send(e);
  // F, last: three datagrams; its entry in a capture means the entries before it were sent.
  auto f = bed_->udp(5009, 53);
  for (int i = 0; i < 3; ++i) bed_->send(f);

  std::vector<SyncDatagram> datagrams;
  auto f_seen = [&] {
    wire.poll_now();
    std::vector<vslab::port::Frame> frames(wire.captured().begin(), wire.captured().end());
    datagrams = sync_datagrams(frames);
    for (const auto& d : datagrams)
      for (const auto& conn : decode_message(d.payload).conns)
        if (conn.cport == 5009) return true;
    return false;
  };
  bool seen = wait_for(f_seen, 30s);
  std::cerr << bed_->kernel_shell("grep Udp: /proc/net/snmp; ipvsadm -L -n -c");
  ASSERT_TRUE(seen) << datagrams.size() << " sync datagrams captured";

  std::vector<SentEntry> entries;
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    const auto& d = datagrams[i];
    auto message = decode_message(d.payload);
    fmt::print(stderr, "datagram {}: {}:{} -> {}:{} ttl {} size {} syncid {} verdict {} n {}\n", i,
               d.source, d.source_port, d.destination, d.destination_port, d.ttl, d.payload.size(),
               message.syncid, verdict_name(message.verdict), message.nr_conns);
    for (const auto& conn : message.conns) {
      fmt::print(
          stderr, "  proto {} flags {:#x} state {} {}:{} -> {}:{} -> {}:{} fwmark {} timeout {}\n",
          conn.protocol, conn.flags, conn.state, dotted(conn.caddr), conn.cport, dotted(conn.vaddr),
          conn.vport, dotted(conn.daddr), conn.dport, conn.fwmark, conn.timeout_s);
      entries.push_back({i, conn});
    }
  }
  if (const char* out = std::getenv("VSLAB_SYNC_FIXTURE_DIR")) {
    std::vector<vslab::port::Frame> frames;
    for (const auto& frame : wire.captured())
      if (vslab::port::Frame plain = frame; !sync_datagrams(std::span(&plain, 1)).empty())
        frames.push_back(plain);
    vslab::port::write_pcap((std::filesystem::path(out) / "kernel-master.pcap").string(), frames);
  }
}

}  // namespace
}  // namespace vsd::sync::interop
