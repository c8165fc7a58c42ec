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

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "port/port.h"
#include "sync/message.h"
#include "sync/sync_bed.h"
#include "sync/sync_capture.h"
#include "topology/netns.h"

namespace vsd::sync::interop {
namespace {

using namespace vslab::sync;

using namespace std::chrono_literals;

constexpr uint8_t kSyncId = 7;

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

class KernelSync : public testing::Test {
 protected:
  void SetUp() override {
    if (auto why = missing_feature()) GTEST_SKIP() << *why;
    std::string skip;
    bed_ = make_bed(false, skip);
    if (!bed_) GTEST_SKIP() << skip;
    bed_->restore(kSyncRules);
    bed_->listen({80, 81}, {53});
    bed_->route_through(kKernelNode);
  }
  void TearDown() override {
    if (HasFailure() && bed_) std::cerr << "guest console:\n" << bed_->kernel().console();
    bed_.reset();
  }

  std::unique_ptr<SyncBed> bed_;
};

// IP_VS_CONN_F_NFCT: the master's connection is tracked by conntrack (net.ipv4.vs.conntrack=1,
// as the guest is set up); a backup does not keep it.
constexpr uint32_t kNfct = 0x10000;

std::string address_of(const std::string& rs) {
  return rs == "rs1" ? "192.168.10.11" : "192.168.10.12";
}

std::vector<SyncConn> of_client_port(const std::vector<SyncConn>& all, uint16_t cport,
                                     uint16_t vport) {
  std::vector<SyncConn> out;
  for (const auto& c : all)
    if (c.cport == cport && c.vport == vport) out.push_back(c);
  return out;
}

std::string describe(const std::vector<SyncConn>& entries) {
  std::string out;
  for (const auto& c : entries)
    out += fmt::format("  proto {} flags {:#x} state {} {}:{} -> {}:{} -> {}:{} timeout {}\n",
                       c.protocol, c.flags, c.state, dotted(c.caddr), c.cport, dotted(c.vaddr),
                       c.vport, dotted(c.daddr), c.dport, c.timeout_s);
  return out;
}

TEST_F(KernelSync, MasterSendsConnectionsOnTheirThirdPacketStateChangesAndTemplates) {
  // The tap behind the guest's eth1: what it receives is what the guest sent on that port.
  vslab::port::Port wire(bed_->live().netns(kKernelNode), "vslabq1", "director2-eth1-tap");
  bed_->kernel_shell(fmt::format("ipvsadm --start-daemon master --mcast-interface {} --syncid {}",
                                 kSyncInterface, kSyncId));
  // Nothing more than the daemon: no multicast route, no group joined, defaults untouched.
  const std::string daemon = bed_->kernel_shell(
      "ipvsadm -L --daemon; sysctl -n net.ipv4.vs.sync_threshold net.ipv4.vs.sync_version "
      "net.ipv4.vs.sync_refresh_period");
  EXPECT_NE(daemon.find("master sync daemon (mcast=eth1, syncid=7, maxlen=1472, "
                        "group=224.0.0.81, port=8848, ttl=1)"),
            std::string::npos)
      << daemon;
  EXPECT_NE(daemon.find("3\t50\n1\n0\n"), std::string::npos) << daemon;

  std::vector<SyncDatagram> datagrams;
  // Whether `count` entries of the client port have been captured.
  auto seen = [&](uint16_t cport, std::size_t count) {
    wire.poll_now();
    std::vector<vslab::port::Frame> frames(wire.captured().begin(), wire.captured().end());
    datagrams = sync_datagrams(frames);
    std::size_t found = 0;
    for (const auto& d : datagrams)
      for (const auto& conn : decode_message(d.payload).conns) found += conn.cport == cport;
    return found >= count;
  };

  // A: 53 packets from the client (SYN, ACK, 51 data segments). B: the handshake only.
  auto a = bed_->connect(40001, 80);
  auto b = bed_->connect(40002, 80);
  for (int i = 0; i < 51; ++i) bed_->send(a);
  // Sent within 2 s of the first entry a message holds (the master's flush time) or when full.
  ASSERT_TRUE(wait_for([&] { return seen(40001, 2); }, 30s));
  // C: one segment, then closed by the client first.
  auto c = bed_->connect(40003, 80);
  bed_->send(c);
  bed_->close_both(c);
  // D: 53 datagrams. E: a persistent service's connection, six packets.
  auto d = bed_->udp(5001, 53);
  for (int i = 0; i < 53; ++i) bed_->send(d);
  auto e = bed_->connect(40005, 81);
  for (int i = 0; i < 4; ++i) bed_->send(e);
  // F, last: three datagrams; its entry in a capture means the entries before it were sent.
  auto f = bed_->udp(5009, 53);
  for (int i = 0; i < 3; ++i) bed_->send(f);

  ASSERT_TRUE(wait_for([&] { return seen(5009, 1); }, 30s))
      << datagrams.size() << " sync datagrams captured";

  std::vector<SyncConn> sent;
  for (const auto& d : datagrams) {
    EXPECT_EQ(d.source, "192.168.10.3");  // the sync interface's own address
    EXPECT_EQ(d.destination, "224.0.0.81");
    EXPECT_EQ(d.destination_port, 8848);
    EXPECT_EQ(d.ttl, 1);
    auto message = decode_message(d.payload);
    EXPECT_EQ(message.verdict, MessageVerdict::Accepted);
    EXPECT_EQ(message.syncid, kSyncId);
    EXPECT_TRUE(message.skipped.empty());
    EXPECT_TRUE(message.dropped_rest.empty()) << message.dropped_rest;
    sent.insert(sent.end(), message.conns.begin(), message.conns.end());
  }
  for (const auto& conn : sent) {
    EXPECT_EQ(dotted(conn.caddr), kClient);
    EXPECT_EQ(dotted(conn.vaddr), kVip);
    EXPECT_EQ(conn.dport, conn.vport);
    EXPECT_EQ(conn.flags & conn_flag::kFwdMask, conn_flag::kMasq);
    EXPECT_EQ(conn.flags & kNfct, kNfct);
    EXPECT_EQ(conn.fwmark, 0u);
    EXPECT_FALSE(conn.seq.has_value());
    EXPECT_TRUE(conn.pe_name.empty());
  }

  // A: on its 3rd packet and its 53rd (sync_threshold 3, period 50), ESTABLISHED, 900 s.
  auto sent_a = of_client_port(sent, 40001, 80);
  ASSERT_EQ(sent_a.size(), 2u) << describe(sent);
  for (const auto& conn : sent_a) {
    EXPECT_EQ(conn.protocol, 6);
    EXPECT_EQ(conn.state, 1) << "ESTABLISHED";
    EXPECT_EQ(conn.timeout_s, 900u);
    EXPECT_EQ(conn.flags & conn_flag::kInactive, 0u);
    EXPECT_EQ(dotted(conn.daddr), address_of(a.server_node));
  }
  // B: two packets are not enough.
  EXPECT_TRUE(of_client_port(sent, 40002, 80).empty()) << describe(sent);
  // C: its 3rd packet, then each state the client's packets moved it to, at once: CLOSE_WAIT
  // on its FIN, TIME_WAIT on its last ACK (the server's FIN, LAST_ACK, comes from the real
  // server's side, which sends nothing). Inactive once closing, with the state's timeout.
  auto sent_c = of_client_port(sent, 40003, 80);
  ASSERT_EQ(sent_c.size(), 3u) << describe(sent);
  EXPECT_EQ(sent_c[0].state, 1);
  EXPECT_EQ(sent_c[0].timeout_s, 900u);
  EXPECT_EQ(sent_c[1].state, 7) << "CLOSE_WAIT";
  EXPECT_EQ(sent_c[1].timeout_s, 60u);
  EXPECT_EQ(sent_c[2].state, 5) << "TIME_WAIT";
  EXPECT_EQ(sent_c[2].timeout_s, 120u);
  EXPECT_EQ(sent_c[0].flags & conn_flag::kInactive, 0u);
  EXPECT_EQ(sent_c[1].flags & conn_flag::kInactive, conn_flag::kInactive);
  EXPECT_EQ(sent_c[2].flags & conn_flag::kInactive, conn_flag::kInactive);
  // D: UDP likewise on its 3rd and 53rd datagram; state 0, 300 s, inactive.
  auto sent_d = of_client_port(sent, 5001, 53);
  ASSERT_EQ(sent_d.size(), 2u) << describe(sent);
  for (const auto& conn : sent_d) {
    EXPECT_EQ(conn.protocol, 17);
    EXPECT_EQ(conn.state, 0);
    EXPECT_EQ(conn.timeout_s, 300u);
    EXPECT_EQ(conn.flags & conn_flag::kInactive, conn_flag::kInactive);
    EXPECT_EQ(dotted(conn.daddr), address_of(d.server_node));
  }
  // E: the connection on its 3rd packet; its template (client port 0, the persistence timeout)
  // with every one of the connection's six packets: state NONE on the SYN, ASSURED after.
  auto sent_e = of_client_port(sent, 40005, 81);
  ASSERT_EQ(sent_e.size(), 1u) << describe(sent);
  EXPECT_EQ(sent_e[0].state, 1);
  auto templates = of_client_port(sent, 0, 81);
  ASSERT_EQ(templates.size(), 6u) << describe(sent);
  for (std::size_t i = 0; i < templates.size(); ++i) {
    EXPECT_EQ(templates[i].flags & conn_flag::kTemplate, conn_flag::kTemplate);
    EXPECT_EQ(templates[i].protocol, 6);
    EXPECT_EQ(templates[i].timeout_s, 60u);
    EXPECT_EQ(templates[i].state, i == 0 ? kTemplateNone : kTemplateAssured) << i;
    EXPECT_EQ(dotted(templates[i].daddr), address_of(e.server_node));
  }

  if (const char* out = std::getenv("VSLAB_SYNC_FIXTURE_DIR")) {
    std::vector<vslab::port::Frame> frames;
    for (const auto& frame : wire.captured())
      if (vslab::port::Frame plain = frame; !sync_datagrams(std::span(&plain, 1)).empty())
        frames.push_back(plain);
    vslab::port::write_pcap((std::filesystem::path(out) / "kernel-master.pcap").string(), frames);
    fmt::print(stderr, "servers: A {} C {} D {} E {} F {}\n", a.server_node, c.server_node,
               d.server_node, e.server_node, f.server_node);
  }
}

// Sends datagrams to the sync group from the director node (nothing runs there), as a master
// on the segment would.
void send_to_group(SyncBed& bed, std::span<const uint8_t> datagram) {
  vslab::os::UniqueFd fd;
  {
    vslab::topo::NetnsGuard in(bed.live().netns(kVsdNode));
    fd.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  }
  ASSERT_TRUE(fd);
  in_addr interface_address{};
  inet_pton(AF_INET, "192.168.10.2", &interface_address);
  setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &interface_address, sizeof interface_address);
  sockaddr_in group{};
  group.sin_family = AF_INET;
  group.sin_port = htons(kDefaultPort);
  inet_pton(AF_INET, "224.0.0.81", &group.sin_addr);
  ASSERT_EQ(sendto(fd.get(), datagram.data(), datagram.size(), 0,
                   reinterpret_cast<const sockaddr*>(&group), sizeof group),
            static_cast<ssize_t>(datagram.size()));
}

SyncConn entry(uint8_t protocol, uint16_t cport, uint16_t vport, const char* rs, uint16_t state,
               uint32_t flags, uint32_t timeout_s) {
  SyncConn c;
  c.protocol = protocol;
  c.cport = cport;
  c.vport = vport;
  c.dport = vport;
  c.state = state;
  c.flags = flags;
  c.timeout_s = timeout_s;
  c.caddr = Address::v4(*Ipv4::parse(kClient));
  c.vaddr = Address::v4(*Ipv4::parse(kVip));
  c.daddr = Address::v4(*Ipv4::parse(rs));
  return c;
}

const ListedConn* find_listed(const std::vector<ListedConn>& listing, const std::string& source,
                              const std::string& virtual_address) {
  for (const auto& c : listing)
    if (c.source == source && c.virtual_address == virtual_address) return &c;
  return nullptr;
}

TEST_F(KernelSync, BackupListsWhatItIsSentWithTheSentStateAndTimeout) {
  bed_->kernel_shell(fmt::format("ipvsadm --start-daemon backup --mcast-interface {} --syncid {}",
                                 kSyncInterface, kSyncId));
  // Entries as the kernel master sends them (the test above), and one of another sync ID.
  const std::vector<SyncConn> mine = {
      entry(6, 41001, 80, "192.168.10.11", 1, kNfct, 900),
      entry(6, 41002, 80, "192.168.10.12", 7, kNfct | conn_flag::kInactive, 60),
      entry(17, 5101, 53, "192.168.10.11", 0, kNfct | conn_flag::kInactive, 300),
      entry(6, 0, 81, "192.168.10.12", kTemplateAssured,
            kNfct | conn_flag::kTemplate | conn_flag::kInactive, 60),
  };
  const std::vector<SyncConn> other = {entry(6, 41009, 80, "192.168.10.11", 1, kNfct, 900)};
  send_to_group(*bed_, encode_message(kSyncId + 1, other));
  send_to_group(*bed_, encode_message(kSyncId, mine));
  const auto sent_at = std::chrono::steady_clock::now();

  std::vector<ListedConn> listed;
  auto all_listed = [&] {
    listed = parse_connection_listing(bed_->kernel_shell("ipvsadm -L -n -c"));
    return listed.size() >= mine.size();
  };
  ASSERT_TRUE(wait_for(all_listed, 20s)) << bed_->kernel_shell("ipvsadm -L -n -c");
  const int elapsed = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - sent_at)
          .count());
  std::string text;
  for (const auto& c : listed) text += c.str() + "\n";
  EXPECT_EQ(listed.size(), mine.size()) << "the other sync ID's entry is not taken:\n" << text;
  EXPECT_EQ(find_listed(listed, "10.10.0.2:41009", "10.20.0.100:80"), nullptr) << text;

  struct Want {
    const char* source;
    const char* virtual_address;
    const char* protocol;
    const char* state;
    const char* destination;
    int timeout_s;
  };
  // The state the master sent, named as the backup's own would be; the master's timeout,
  // counting down from when it arrived.
  for (const Want& w :
       {Want{"10.10.0.2:41001", "10.20.0.100:80", "TCP", "ESTABLISHED", "192.168.10.11:80", 900},
        Want{"10.10.0.2:41002", "10.20.0.100:80", "TCP", "CLOSE_WAIT", "192.168.10.12:80", 60},
        Want{"10.10.0.2:5101", "10.20.0.100:53", "UDP", "UDP", "192.168.10.11:53", 300},
        Want{"10.10.0.2:0", "10.20.0.100:81", "TCP", "ASSURED", "192.168.10.12:81", 60}}) {
    const ListedConn* c = find_listed(listed, w.source, w.virtual_address);
    ASSERT_NE(c, nullptr) << w.source << " not listed:\n" << text;
    EXPECT_EQ(c->protocol, w.protocol) << c->str();
    EXPECT_EQ(c->state, w.state) << c->str();
    EXPECT_EQ(c->destination, w.destination) << c->str();
    EXPECT_LE(c->expire_s, w.timeout_s) << c->str();
    EXPECT_GE(c->expire_s, w.timeout_s - elapsed - 2) << c->str();
  }
  // The synced entries count in their real servers' columns as the backup's own would: the
  // ESTABLISHED one active, the CLOSE_WAIT and UDP ones inactive, the template in neither.
  std::string table;
  for (char ch : bed_->kernel_shell("ipvsadm -L -n; ipvsadm -L --daemon"))
    if (ch != ' ' || (!table.empty() && table.back() != ' ')) table += ch;
  for (const char* line : {"-> 192.168.10.11:80 Masq 1 1 0", "-> 192.168.10.12:80 Masq 1 0 1",
                           "-> 192.168.10.11:53 Masq 1 0 1", "-> 192.168.10.12:81 Masq 1 0 0",
                           "backup sync daemon (mcast=eth1, syncid=7, maxlen=1472, "
                           "group=224.0.0.81, port=8848, ttl=1)"})
    EXPECT_NE(table.find(line), std::string::npos) << line << " not in:\n" << table;
}

// net.ipv4.vs.sync_version=0 on the kernel master: the datagram is the old format, byte for
// byte what vsd's builder makes of the same connection at version 0 (the conntrack flag, bit
// 16, does not fit the 16-bit flags).
TEST_F(KernelSync, Version0MasterSendsTheOldFormatAsVsdBuildsIt) {
  vslab::port::Port wire(bed_->live().netns(kKernelNode), "vslabq1", "director2-eth1-tap");
  bed_->kernel_shell(
      fmt::format("sysctl -w net.ipv4.vs.sync_version=0 && "
                  "ipvsadm --start-daemon master --mcast-interface {} --syncid {}",
                  kSyncInterface, kSyncId));
  auto a = bed_->connect(40011, 80);
  bed_->send(a);  // the 3rd client packet: ESTABLISHED, sent
  std::vector<SyncDatagram> datagrams;
  ASSERT_TRUE(wait_for(
      [&] {
        wire.poll_now();
        std::vector<vslab::port::Frame> frames(wire.captured().begin(), wire.captured().end());
        datagrams = sync_datagrams(frames);
        return !datagrams.empty();
      },
      30s));
  const SyncConn c{.protocol = 6,
                   .flags = conn_flag::kMasq,
                   .state = 1,
                   .cport = 40011,
                   .vport = 80,
                   .dport = 80,
                   .caddr = Address::v4(*Ipv4::parse(kClient)),
                   .vaddr = Address::v4(*Ipv4::parse(kVip)),
                   .daddr = Address::v4(*Ipv4::parse(address_of(a.server_node))),
                   .seq = {},
                   .pe_data = {},
                   .pe_name = {}};
  MessageBuilder v0(kSyncId, 1472, 0);
  ASSERT_TRUE(v0.add(c));
  const std::vector<uint8_t> want(v0.bytes().begin(), v0.bytes().end());
  EXPECT_EQ(datagrams[0].payload, want);
  EXPECT_EQ(decode_message(datagrams[0].payload).verdict, MessageVerdict::Version0);
}

// net.ipv4.vs.backup_only=1: alone it changes nothing; with a backup daemon running, IPVS
// passes the VIP's packets to the guest's stack, which holds the VIP and has no listener:
// the client's SYN is answered with a RST (vsd answers the same, vsd/sysctl_effects_test.cpp).
TEST_F(KernelSync, BackupOnlyLeavesTheVipToTheStackWhileABackupDaemonRuns) {
  bed_->kernel_shell("sysctl -qw net.ipv4.vs.backup_only=1");
  EXPECT_NO_THROW(bed_->connect(40021, 80));
  bed_->kernel_shell(fmt::format("ipvsadm --start-daemon backup --mcast-interface {} --syncid {}",
                                 kSyncInterface, kSyncId));
  try {
    bed_->connect(40022, 80);
    ADD_FAILURE() << "served with backup_only and a backup daemon";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Connection refused"), std::string::npos) << e.what();
  }
  bed_->kernel_shell("ipvsadm --stop-daemon backup");
  EXPECT_NO_THROW(bed_->connect(40023, 80));
}

}  // namespace
}  // namespace vsd::sync::interop
