// vsd's control socket is served beside the data plane, not by it: a vsadm that connects and
// then stalls mid-request must not hold up forwarding, and the socket serves the next client
// once the stalled one is dropped. vsd as a program: a second vsd on its socket is refused, a
// hostile request leaves no memory behind, and listing a large table does not stall a flow.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "dut/run.h"
#include "frames/frame_builder.h"
#include "nat_bed.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"
#include "port/port.h"

namespace vsd {
namespace {

using namespace vslab;
using namespace std::chrono_literals;

// vsd built with AddressSanitizer: its allocator keeps freed memory, and it forwards slower.
#ifdef __SANITIZE_ADDRESS__
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

os::UniqueFd connect_to(const std::string& path) {
  os::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

// One request line as a client of our own writes it, and the one line vsd answers ("" when
// vsd closes the connection without an answer).
std::string exchange(const std::string& path, const std::string& request_line) {
  auto fd = connect_to(path);
  if (!fd.valid() || !os::write_all(fd.get(), request_line + "\n")) return "";
  std::string answer;
  os::read_to_end(fd.get(), answer);
  return answer;
}

// A client that connects and sends half a request, then nothing.
class StalledClient {
 public:
  explicit StalledClient(const std::string& path) : fd_(connect_to(path)) {
    connected_ = fd_.valid();
    const char half[] = R"({"version":1,"op":)";
    connected_ = connected_ && os::write_all(fd_.get(), std::string_view(half, sizeof half - 1));
  }
  bool connected() const { return connected_; }

 private:
  os::UniqueFd fd_;
  bool connected_ = false;
};

TEST(VsdControl, AStalledClientDoesNotHoldUpForwarding) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t 10.20.0.100:80 -s rr\n"
                          "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n")
                  .ok());
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  port::Port rs1(live.netns("rs1"), "eth0", "rs1");
  auto syn_to_vip = [&](uint16_t sport) {
    return frames::frame()
        .eth(wire.mac(), live.mac("director", "eth0"))
        .ipv4("10.10.0.2", "10.20.0.100")
        .tcp(sport, 80)
        .flags(frames::SYN)
        .bytes();
  };
  auto arrived = [&](uint16_t sport) {
    for (const auto& f : rs1.captured()) {
      Tins::EthernetII e(f.bytes.data(), f.bytes.size());
      if (auto* tcp = e.find_pdu<Tins::TCP>(); tcp && tcp->sport() == sport) return true;
    }
    return false;
  };

  {
    StalledClient stalled(dut.socket_path());
    ASSERT_TRUE(stalled.connected());
    // vsd gives a client 3 s to finish its request; forwarding must not wait for that.
    wire.send(syn_to_vip(40001));
    EXPECT_TRUE(rs1.wait_until([&](auto&) { return arrived(40001); }, 1s))
        << "a SYN waited for a stalled control client\n"
        << dut.log();
  }
  // The socket still serves: a rule change applies and the listing shows it.
  ASSERT_TRUE(dut.admin({"-a", "-t", "10.20.0.100:80", "-r", "192.168.10.12:8080", "-m"}).ok());
  auto listing = dut.admin({"-L", "-n"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("192.168.10.12:8080"), std::string::npos) << listing.output;
}

// A request is checked by type before use: an "op" that is no string (a number, null, an
// array, an object) is refused with a clear error, and vsd lives on to serve the next client.
TEST(VsdControl, AnOpOfTheWrongTypeIsRefusedAndVsdServesOn) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& dut = bed.dut();
  for (const char* op : {"1", "null", "[]", "{}", "true"}) {
    const std::string request = std::string(R"({"version":1,"op":)") + op + "}";
    const std::string answer = exchange(dut.socket_path(), request);
    EXPECT_NE(answer.find(R"("ok":false)"), std::string::npos) << request << " -> " << answer;
    EXPECT_NE(answer.find("'op' must be a string"), std::string::npos)
        << request << " -> " << answer << "\n"
        << dut.log();
  }
  auto listing = dut.admin({"-L", "-n"});
  EXPECT_TRUE(listing.ok()) << listing.output << dut.log();
}

// The pid of the process that answers on a unix socket.
pid_t answering_pid(const std::string& path) {
  auto fd = connect_to(path);
  ucred peer{};
  socklen_t size = sizeof peer;
  if (!fd.valid() || getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) return -1;
  return peer.pid;
}

long rss_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

TEST(VsdControl, ASecondVsdOnTheSameSocketIsRefusedAndTheFirstAnswers) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t 10.20.0.100:80 -s rr\n").ok());
  const pid_t first = answering_pid(dut.socket_path());
  ASSERT_GT(first, 0);
  const auto second =
      dut::run_with_input({"ip", "netns", "exec", bed.live().netns("director"), VSLAB_VSD_BINARY,
                           "--socket", dut.socket_path(), "--port", "eth0", "--port", "eth1"},
                          "");
  EXPECT_NE(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("vsd: another vsd answers on " + dut.socket_path() + " (pid " +
                               std::to_string(first) + ")"),
            std::string::npos)
      << second.output;
  EXPECT_EQ(second.output.find("ready"), std::string::npos) << second.output;
  EXPECT_EQ(answering_pid(dut.socket_path()), first);
  auto listing = dut.admin({"-L", "-n"});
  EXPECT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("TCP  10.20.0.100:80 rr"), std::string::npos) << listing.output;
}

// 16 MB of '[' once cost vsd 1.1 GB for good (the JSON was parsed before its depth was checked).
TEST(VsdControl, AHostileRequestLeavesNoMemoryBehind) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& dut = bed.dut();
  const pid_t vsd = answering_pid(dut.socket_path());
  ASSERT_GT(vsd, 0);
  ASSERT_TRUE(dut.admin({"-L", "-n"}).ok());
  const long before = rss_kb(vsd);
  auto fd = connect_to(dut.socket_path());
  ASSERT_TRUE(fd.valid());
  const std::string piece(1 << 16, '[');
  for (std::size_t sent = 0; sent + piece.size() < (16u << 20); sent += piece.size())
    ASSERT_TRUE(os::send_all(fd.get(), piece));
  ASSERT_TRUE(os::send_all(fd.get(), "\n"));
  std::string answer;
  os::read_to_end(fd.get(), answer);
  EXPECT_NE(answer.find("nests deeper than"), std::string::npos) << answer.substr(0, 200);
  fd.reset();
  ASSERT_TRUE(dut.admin({"-L", "-n"}).ok());
  const long after = rss_kb(vsd);
  std::printf("figure: vsd's RSS %ld kB before a 16 MB nested request, %ld kB after (+%ld kB)\n",
              before, after, after - before);
  if (!kSanitized) {
    EXPECT_LT(after - before, 16 * 1024) << "kB kept by vsd";
  }
}

// A steady UDP flow through vsd while `vsadm -L -n -c` lists a large table: the listing goes a
// chunk at a time between two batches, so the flow loses nothing.
TEST(VsdControl, ListingALargeTableLosesNothingOfAFlow) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -u 10.20.0.100:53 -s rr\n"
                          "-a -u 10.20.0.100:53 -r 192.168.10.11:53 -m\n"
                          "-A -u 10.20.0.100:54 -s rr\n"
                          "-a -u 10.20.0.100:54 -r 192.168.10.12:54 -m\n")
                  .ok());
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  port::Port rs2(live.netns("rs2"), "eth0", "rs2");
  const std::string director_mac = live.mac("director", "eth0");
  auto datagram = [&](const std::string& source, uint16_t sport, uint16_t dport) {
    return frames::frame()
        .eth(wire.mac(), director_mac)
        .ipv4(source, "10.20.0.100")
        .udp(sport, dport)
        .bytes();
  };
  // The table: datagrams from 5 x 60,000 client endpoints, one connection each (a vsd that
  // drops some while its ring is full still makes a large table).
  const int clients = kSanitized ? 2 : 5, ports = 60000;
  const auto filling = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c)
    for (int p = 0; p < ports; ++p)
      wire.send(datagram("10.10.1." + std::to_string(c + 1), uint16_t(2000 + p), 53));
  auto entries = [&] {
    auto counters = dut.admin({"--counters"});
    auto at = counters.output.find("conn_entries ");
    return at == std::string::npos ? 0ul : std::stoul(counters.output.substr(at + 13));
  };
  // Until the count stops growing (vsd has drained its ring), sampled every 200 ms.
  unsigned long table = 0;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  for (unsigned long last = ~0ul; table != last && std::chrono::steady_clock::now() < give_up;) {
    last = table;
    std::this_thread::sleep_for(200ms);
    table = entries();
  }
  std::printf("figure: %lu connections in vsd's table after %.1f s of filling\n", table,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - filling).count());
  ASSERT_GT(table, kSanitized ? 30'000ul : 100'000ul) << dut.log();

  // The flow: one datagram a millisecond from 10.10.0.2:7777 to VIP:54 (rs2) until `over`
  // says so and 200 ms more; how many were sent, how many arrived, the largest gap between two.
  struct Flow {
    std::size_t sent = 0, arrived = 0;
    double max_gap_ms = 0;    // between two arrivals (the sender's own jitter included)
    double max_delay_ms = 0;  // from a datagram's send to its arrival: what vsd held it
  };
  auto ms_between = [](const timeval& from, const timeval& to) {
    return double(to.tv_sec - from.tv_sec) * 1e3 + double(to.tv_usec - from.tv_usec) / 1e3;
  };
  const auto frame = datagram("10.10.0.2", 7777, 54);
  auto flow = [&](const std::function<bool()>& over) {
    rs2.captured().clear();
    const std::size_t first_sent = wire.sent().size();
    Flow f;
    auto next = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> done_at;
    while (!done_at || std::chrono::steady_clock::now() < *done_at + 200ms) {
      if (std::chrono::steady_clock::now() >= next) {
        wire.send(frame);
        ++f.sent;
        next += 1ms;
      }
      rs2.poll_now();
      if (!done_at && over()) done_at = std::chrono::steady_clock::now();
    }
    std::vector<timeval> arrivals;
    rs2.wait_until(
        [&](std::vector<port::CapturedFrame>& frames) {
          arrivals.clear();
          for (const auto& c : frames) {
            Tins::EthernetII e(c.bytes.data(), c.bytes.size());
            if (auto* udp = e.find_pdu<Tins::UDP>(); udp && udp->sport() == 7777)
              arrivals.push_back(c.timestamp);
          }
          return arrivals.size() >= f.sent;
        },
        2s);
    f.arrived = arrivals.size();
    for (std::size_t i = 1; i < arrivals.size(); ++i)
      f.max_gap_ms = std::max(f.max_gap_ms, ms_between(arrivals[i - 1], arrivals[i]));
    // One flow, in order: the i-th to arrive is the i-th sent, when none was lost.
    if (f.arrived == f.sent) {
      for (std::size_t i = 0; i < arrivals.size(); ++i)
        f.max_delay_ms = std::max(f.max_delay_ms,
                                  ms_between(wire.sent()[first_sent + i].timestamp, arrivals[i]));
    }
    return f;
  };

  // A baseline in the same run: the flow alone for 1.5 s (this machine's own jitter).
  const auto baseline_start = std::chrono::steady_clock::now();
  const Flow alone =
      flow([&] { return std::chrono::steady_clock::now() > baseline_start + 1500ms; });
  std::atomic<bool> listed{false};
  dut::Result listing;
  double listing_s = 0;
  std::thread lister([&] {
    const auto start = std::chrono::steady_clock::now();
    listing = dut.admin({"-L", "-n", "-c"});
    listing_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    listed = true;
  });
  const Flow during = flow([&] { return listed.load(); });
  lister.join();
  const auto lines = std::count(listing.output.begin(), listing.output.end(), '\n');
  std::printf("figure: vsadm -L -n -c of %lu connections: %.2f s, %ld lines\n", table, listing_s,
              long(lines));
  for (const auto& [name, f] : {std::pair{"alone", alone}, std::pair{"during the listing", during}})
    std::printf(
        "figure: a flow at 1 kHz %s: %zu sent, %zu arrived, largest gap between two %.1f "
        "ms, largest delay through vsd %.1f ms\n",
        name, f.sent, f.arrived, f.max_gap_ms, f.max_delay_ms);
  ASSERT_TRUE(listing.ok()) << listing.output.substr(0, 300);
  EXPECT_EQ(listing.output.rfind("IPVS connection entries\n", 0), 0u);
  EXPECT_GE(std::size_t(lines), table);  // the title's two lines and the flow's own entry
  EXPECT_EQ(during.arrived, during.sent) << "datagrams of the flow lost while the table was listed";
}

}  // namespace
}  // namespace vsd
