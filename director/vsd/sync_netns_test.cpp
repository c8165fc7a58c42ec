// The sync daemon between two vsd (sync_bed.h): vsadm starts a backup and a master as
// ipvsadm starts the kernel's, real TCP and UDP go through the master, and the backup's
// `-L -n -c` comes to list what the master's lists, entry by entry (the expire column aside:
// a synced entry expires its state's whole timeout after the message that carried it). Then
// stopping, and the refusals in ipvsadm's words.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "frames/frame_builder.h"
#include "port/port.h"
#include "sync_bed.h"

namespace vsd {
namespace {

using vslab::os::UniqueFd;
using vslab::topo::NetnsGuard;

constexpr const char* kRules =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.12:80 -m\n"
    "-A -t 10.20.0.100:8080 -s rr -p 300\n"
    "-a -t 10.20.0.100:8080 -r 192.168.10.11:8080 -m\n"
    "-A -u 10.20.0.100:53 -s rr\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.11:53 -m\n"
    "-a -u 10.20.0.100:53 -r 192.168.10.12:53 -m\n";

sockaddr_in endpoint(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool readable(int fd, int ms = 5000) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, ms) == 1;
}

UniqueFd listener_in(const std::string& netns, int type, uint16_t port) {
  NetnsGuard inside(netns);
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = endpoint("0.0.0.0", port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return UniqueFd();
  if (type == SOCK_STREAM && listen(fd.get(), 16) != 0) return UniqueFd();
  return fd;
}

// A TCP connection from the client to VIP:port, kept open: the handshake and two segments of
// data from the client (so that the master's 3rd client packet is sent), each echoed.
struct OpenConnection {
  UniqueFd client, served;
};

std::string open_connection(const std::string& client_ns, UniqueFd& listener, uint16_t port,
                            OpenConnection& out) {
  {
    NetnsGuard inside(client_ns);
    out.client.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  }
  auto a = endpoint("10.20.0.100", port);
  if (connect(out.client.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return "connect to port " + std::to_string(port) + " failed";
  if (!readable(listener.get())) return "no accept";
  out.served.reset(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  char buf[8];
  for (int i = 0; i < 2; ++i) {
    if (write(out.client.get(), "ping", 4) != 4) return "write";
    if (!readable(out.served.get()) || read(out.served.get(), buf, sizeof buf) != 4)
      return "no request";
    if (write(out.served.get(), "pong", 4) != 4) return "write back";
    if (!readable(out.client.get()) || read(out.client.get(), buf, sizeof buf) != 4)
      return "no answer";
  }
  return "";
}

// The entries of `-L -n -c`, each as "PRO STATE SOURCE VIRTUAL DESTINATION", sorted; the
// expire column of each by the same key.
struct Listing {
  std::vector<std::string> entries;
  std::map<std::string, std::string> expire;
};

Listing parse_listing(const std::string& text) {
  Listing out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string pro, expire, state, source, virt, dest;
    if (!(words >> pro >> expire >> state >> source >> virt >> dest)) continue;
    if (pro != "TCP" && pro != "UDP") continue;
    const std::string key = pro + " " + state + " " + source + " " + virt + " " + dest;
    out.entries.push_back(key);
    out.expire[key] = expire;
  }
  std::sort(out.entries.begin(), out.entries.end());
  return out;
}

uint64_t counter(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == name) return value;
  return 0;
}

// mm:ss as seconds.
int seconds_of(const std::string& expire) {
  const auto colon = expire.find(':');
  return std::stoi(expire.substr(0, colon)) * 60 + std::stoi(expire.substr(colon + 1));
}

class SyncDaemon : public testing::Test {
 protected:
  void SetUp() override {
    if (!vslab::topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    bed_ = std::make_unique<SyncBed>();
    for (VsdProcess* v : {&bed_->master(), &bed_->backup()}) {
      auto r = v->vsadm({"-R"}, kRules);
      ASSERT_TRUE(r.ok()) << r.output;
    }
  }
  std::unique_ptr<SyncBed> bed_;
};

TEST_F(SyncDaemon, BackupListsWhatTheMasterLists) {
  auto& m = bed_->master();
  auto& b = bed_->backup();
  auto started =
      b.vsadm({"--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "7"});
  ASSERT_TRUE(started.ok()) << started.output << b.log();
  started = m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "7"});
  ASSERT_TRUE(started.ok()) << started.output << m.log();
  // ipvsadm's line for the kernel's daemon, every default filled in (the MTU is 1500).
  EXPECT_EQ(m.vsadm({"-L", "--daemon"}).output,
            "master sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
  EXPECT_EQ(b.vsadm({"-l", "--daemon"}).output,
            "backup sync daemon (mcast=eth1, syncid=7, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");

  auto& live = bed_->live();
  UniqueFd web1 = listener_in(live.netns("rs1"), SOCK_STREAM, 80);
  UniqueFd web2 = listener_in(live.netns("rs2"), SOCK_STREAM, 80);
  UniqueFd app = listener_in(live.netns("rs1"), SOCK_STREAM, 8080);
  ASSERT_TRUE(web1 && web2 && app);
  // rr over rs1 and rs2 (the newest destination first): four connections, two each.
  std::vector<OpenConnection> open(5);
  for (int i = 0; i < 4; ++i) {
    UniqueFd& listener = i % 2 == 0 ? web2 : web1;
    ASSERT_EQ(open_connection(live.netns("client"), listener, 80, open[i]), "") << i;
  }
  ASSERT_EQ(open_connection(live.netns("client"), app, 8080, open[4]), "");
  // One half-closed by the client: CLOSE_WAIT, sent at once.
  shutdown(open[0].client.get(), SHUT_WR);
  // UDP: three datagrams from one socket, the 3rd sent.
  {
    NetnsGuard inside(live.netns("client"));
    UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    auto a = endpoint("10.20.0.100", 53);
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(sendto(udp.get(), "q", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a), 1);
  }

  // A message that does not fill goes 2 s after its first entry: poll for up to 10 s.
  Listing master, backup;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    master = parse_listing(m.vsadm({"-L", "-n", "-c"}).output);
    backup = parse_listing(b.vsadm({"-L", "-n", "-c"}).output);
    if (master.entries == backup.entries && master.entries.size() >= 7) break;
    poll(nullptr, 0, 100);  // the next look, not a synchronisation
  } while (std::chrono::steady_clock::now() < deadline);
  // 4 + 1 connections, 1 template, 1 UDP flow; the TCP ones in the master's state.
  EXPECT_GE(master.entries.size(), 7u);
  EXPECT_EQ(backup.entries, master.entries) << "master:\n"
                                            << m.vsadm({"-L", "-n", "-c"}).output << "backup:\n"
                                            << b.vsadm({"-L", "-n", "-c"}).output << b.log();
  std::set<std::string> states;
  for (const auto& e : backup.entries) states.insert(e.substr(4, e.find(' ', 4) - 4));
  EXPECT_TRUE(states.contains("ESTABLISHED"));
  EXPECT_TRUE(states.contains("CLOSE_WAIT"));
  EXPECT_TRUE(states.contains("ASSURED"));  // the template of port 8080
  EXPECT_TRUE(states.contains("UDP"));
  // The backup's timers run from the message: at most the state's whole timeout.
  for (const auto& e : backup.entries) {
    const int left = seconds_of(backup.expire[e]);
    int whole = 0;
    if (e.find("ESTABLISHED") != std::string::npos) whole = 900;
    if (e.find("CLOSE_WAIT") != std::string::npos) whole = 60;
    if (e.starts_with("UDP")) whole = 300;
    if (whole == 0) continue;
    EXPECT_GT(left, whole - 20) << e;
    EXPECT_LE(left, whole) << e;
  }
  const auto counters = b.vsadm({"--counters"}).output;
  EXPECT_NE(counters.find("sync_created "), std::string::npos);
}

TEST_F(SyncDaemon, OtherSyncIdIsIgnoredAndStopSays) {
  auto& m = bed_->master();
  auto& b = bed_->backup();
  ASSERT_TRUE(
      b.vsadm({"--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "8"}).ok());
  ASSERT_TRUE(
      m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "7"}).ok());
  // Refusals, as ipvsadm prints the kernel's (exit 255).
  auto again = m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1"});
  EXPECT_EQ(again.exit_code, 255);
  EXPECT_EQ(again.output, "Daemon has already run\n");
  auto nodev = b.vsadm({"--start-daemon", "master", "--mcast-interface", "nosuch0"});
  EXPECT_EQ(nodev.exit_code, 255);
  EXPECT_EQ(nodev.output, "No such device\n");

  auto& live = bed_->live();
  UniqueFd web1 = listener_in(live.netns("rs1"), SOCK_STREAM, 80);
  UniqueFd web2 = listener_in(live.netns("rs2"), SOCK_STREAM, 80);
  OpenConnection c;
  ASSERT_EQ(open_connection(live.netns("client"), web2, 80, c), "");
  // The master sends it (its counter says so) and the backup, filtering syncid 8, drops it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string master_counters;
  do {
    master_counters = m.vsadm({"--counters"}).output;
    if (master_counters.find("sync_messages_sent 0\n") == std::string::npos) break;
    poll(nullptr, 0, 100);
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(master_counters.find("sync_messages_sent 0\n"), std::string::npos);
  // Once the master has sent, the datagram is on the segment; the backup refuses it whole.
  uint64_t received = 0, refused = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    received = counter(b.vsadm({"--counters"}).output, "sync_messages_received");
    refused = counter(b.vsadm({"--counters"}).output, "sync_messages_refused");
    if (received > 0) break;
    poll(nullptr, 0, 100);
  } while (std::chrono::steady_clock::now() < until);
  EXPECT_GT(received, 0u);
  EXPECT_EQ(refused, received);
  EXPECT_EQ(parse_listing(b.vsadm({"-L", "-n", "-c"}).output).entries.size(), 0u);

  EXPECT_TRUE(m.vsadm({"--stop-daemon", "master"}).ok());
  EXPECT_EQ(m.vsadm({"-L", "--daemon"}).output, "");
  auto twice = m.vsadm({"--stop-daemon", "master"});
  EXPECT_EQ(twice.exit_code, 255);
  EXPECT_EQ(twice.output, "No daemon is running\n");
}

// An IPv6 connection through the master (segments from the router's side, the master's
// neighbour on the VIP's segment): the backup comes to list it, from the 72-byte entries the
// master multicast.
TEST_F(SyncDaemon, Ipv6ConnectionsReachTheBackup) {
  auto& m = bed_->master();
  auto& b = bed_->backup();
  for (VsdProcess* v : {&m, &b}) {
    ASSERT_TRUE(v->vsadm({"-A", "-t", "[fd00:20::100]:80", "-s", "rr"}).ok());
    ASSERT_TRUE(
        v->vsadm({"-a", "-t", "[fd00:20::100]:80", "-r", "[fd00:168:10::11]:8080", "-m"}).ok());
  }
  ASSERT_TRUE(
      b.vsadm({"--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "7"}).ok());
  ASSERT_TRUE(
      m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "7"}).ok());
  auto& live = bed_->live();
  vslab::port::Port wire(live.netns("router"), "eth1", "router-eth1");
  const auto master_mac = live.mac("master", "eth0");
  for (uint16_t flags : {vslab::frames::SYN, vslab::frames::ACK, vslab::frames::ACK})
    wire.send(vslab::frames::frame()
                  .eth(wire.mac(), master_mac)
                  .ipv6("fd00:10::2", "fd00:20::100")
                  .tcp(41000, 80)
                  .flags(flags)
                  .bytes());
  const std::string want =
      "TCP ESTABLISHED [fd00:10::2]:41000 [fd00:20::100]:80 "
      "[fd00:168:10::11]:8080";
  Listing backup;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    backup = parse_listing(b.vsadm({"-L", "-n", "-c"}).output);
    if (!backup.entries.empty()) break;
    poll(nullptr, 0, 100);  // the next look, not a synchronisation
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(backup.entries, std::vector<std::string>{want})
      << "master:\n"
      << m.vsadm({"-L", "-n", "-c"}).output << m.log() << b.log();
  ASSERT_EQ(backup.entries.size(), 1u);
  const int left = seconds_of(backup.expire[want]);
  EXPECT_GT(left, 900 - 20);
  EXPECT_LE(left, 900);
}

// net.ipv4.vs.sync_version=0 on the master: what goes on the segment is the old format
// (ip_vs_sync_conn_v0), read off the wire by a plain socket in the backup's namespace.
TEST_F(SyncDaemon, Version0IsWhatGoesOnTheWire) {
  auto& m = bed_->master();
  auto& live = bed_->live();
  UniqueFd group;
  {
    NetnsGuard inside(live.netns("backup"));
    group.reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(group.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = endpoint("224.0.0.81", 8848);
    ASSERT_EQ(bind(group.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ip_mreqn mreq{};
    inet_pton(AF_INET, "224.0.0.81", &mreq.imr_multiaddr);
    mreq.imr_ifindex = int(if_nametoindex("eth1"));
    ASSERT_EQ(setsockopt(group.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq), 0);
  }
  auto set = m.vsadm({"--sysctl", "sync_version=0"});
  ASSERT_TRUE(set.ok()) << set.output;
  ASSERT_TRUE(
      m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "5"}).ok());
  UniqueFd web1 = listener_in(live.netns("rs1"), SOCK_STREAM, 80);
  UniqueFd web2 = listener_in(live.netns("rs2"), SOCK_STREAM, 80);
  OpenConnection c;
  ASSERT_EQ(open_connection(live.netns("client"), web2, 80, c), "");
  // A message that does not fill goes 2 s after its first entry.
  ASSERT_TRUE(readable(group.get(), 10000)) << m.log();
  uint8_t d[1500];
  const ssize_t n = recv(group.get(), d, sizeof d, 0);
  ASSERT_GE(n, 28);
  EXPECT_EQ(d[0], (n - 4) / 24);  // nr_conns first
  EXPECT_EQ(d[1], 5);             // syncid
  EXPECT_EQ(d[2] << 8 | d[3], n);
  EXPECT_EQ((n - 4) % 24, 0);
  const uint8_t* e = d + 4;  // the first entry: the connection, ESTABLISHED at its 3rd packet
  EXPECT_EQ(e[0], 0);
  EXPECT_EQ(e[1], 6);
  EXPECT_EQ(e[4] << 8 | e[5], 80);  // vport
  EXPECT_EQ(e[6] << 8 | e[7], 80);  // dport
  const uint8_t vip[4] = {10, 20, 0, 100}, rs2[4] = {192, 168, 10, 12};
  EXPECT_EQ(std::memcmp(e + 12, vip, 4), 0);
  EXPECT_EQ(std::memcmp(e + 16, rs2, 4), 0);
  EXPECT_EQ(e[20] << 8 | e[21], 0);  // flags: MASQ, active
  EXPECT_EQ(e[22] << 8 | e[23], 1);  // ESTABLISHED
}

// net.ipv4.vs.sync_ports=2 on both: the master's two threads send to 8848 and 8849 (each
// connection on one of them), read off the wire by plain sockets in the backup's namespace,
// and the backup, listening on both, comes to list every flow.
TEST_F(SyncDaemon, TwoSyncPortsSendOnTwoPortsAndTheBackupTakesBoth) {
  auto& m = bed_->master();
  auto& b = bed_->backup();
  auto& live = bed_->live();
  UniqueFd group[2];
  for (int id = 0; id < 2; ++id) {
    NetnsGuard inside(live.netns("backup"));
    group[id].reset(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(group[id].get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = endpoint("224.0.0.81", uint16_t(8848 + id));
    ASSERT_EQ(bind(group[id].get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ip_mreqn mreq{};
    inet_pton(AF_INET, "224.0.0.81", &mreq.imr_multiaddr);
    mreq.imr_ifindex = int(if_nametoindex("eth1"));
    ASSERT_EQ(setsockopt(group[id].get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq), 0);
  }
  for (VsdProcess* v : {&m, &b}) {
    auto set = v->vsadm({"--sysctl", "sync_ports=2"});
    ASSERT_TRUE(set.ok()) << set.output;
  }
  ASSERT_TRUE(
      b.vsadm({"--start-daemon", "backup", "--mcast-interface", "eth1", "--syncid", "7"}).ok());
  ASSERT_TRUE(
      m.vsadm({"--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "7"}).ok());
  // 16 UDP flows of three datagrams each (the 3rd is sent): all on one thread has a chance of
  // 2 in 65536.
  constexpr std::size_t kFlows = 16;
  {
    NetnsGuard inside(live.netns("client"));
    for (std::size_t i = 0; i < kFlows; ++i) {
      UniqueFd udp(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      auto a = endpoint("10.20.0.100", 53);
      for (int n = 0; n < 3; ++n)
        ASSERT_EQ(sendto(udp.get(), "q", 1, 0, reinterpret_cast<sockaddr*>(&a), sizeof a), 1);
    }
  }
  // A message that does not fill goes 2 s after its first entry.
  std::size_t entries_seen = 0;
  for (int id = 0; id < 2; ++id) {
    ASSERT_TRUE(readable(group[id].get(), 10000)) << "nothing on port " << 8848 + id << m.log();
    uint8_t d[1500];
    const ssize_t n = recv(group[id].get(), d, sizeof d, 0);
    ASSERT_GE(n, 8) << id;
    EXPECT_EQ(d[1], 7) << id;              // syncid
    entries_seen += d[0] == 0 ? d[4] : 0;  // version 1: the count follows the size
  }
  EXPECT_GT(entries_seen, 1u);
  Listing backup;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    backup = parse_listing(b.vsadm({"-L", "-n", "-c"}).output);
    if (backup.entries.size() >= kFlows) break;
    poll(nullptr, 0, 100);  // the next look, not a synchronisation
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(backup.entries, parse_listing(m.vsadm({"-L", "-n", "-c"}).output).entries) << b.log();
  EXPECT_EQ(backup.entries.size(), kFlows);
  EXPECT_GE(counter(b.vsadm({"--counters"}).output, "sync_messages_received"), 2u);
  // The kernel's handler takes a change while daemons run (they keep their count).
  EXPECT_TRUE(m.vsadm({"--sysctl", "sync_ports=4"}).ok());
  EXPECT_EQ(m.vsadm({"--sysctl", "sync_ports"}).output, "net.ipv4.vs.sync_ports = 4\n");
}

}  // namespace
}  // namespace vsd
