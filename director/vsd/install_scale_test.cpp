// A rule change among 100k services, on the wire: vsd in topologies/nat.toml loads 100k
// services, and a steady UDP flow through one of them loses nothing while vsadm adds a
// service, edits a real server and deletes a service. The figures (load time, each change's
// time as vsadm sees it, datagrams sent and received) are printed.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "nat_bed.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// VSLAB_SCALE_SERVICES=N runs it with N services instead (a quicker look).
const int kServices =
    std::getenv("VSLAB_SCALE_SERVICES") ? std::atoi(std::getenv("VSLAB_SCALE_SERVICES")) : 100000;
constexpr int kDatagrams = 3000;  // 3 s at 1 kHz
constexpr uint16_t kFlowPort = 5000;

// vsd's own counters (op "counters"), as its control socket answers them: where a frame went.
std::string vsd_counters(const std::string& socket_path) {
  vslab::os::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  if (!vslab::os::write_all(fd.get(), std::string(R"({"version":1,"op":"counters"})") + "\n"))
    return "";
  std::string answer;
  vslab::os::read_to_end(fd.get(), answer);
  return answer;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The services the flow does not use: 250 UDP ports on each of 400 VIPs outside the flow's
// subnet, one NAT real server each (rs2, which the flow never meets).
std::string many_services() {
  std::string text;
  text.reserve(std::size_t(kServices) * 96);
  for (int i = 0; i < kServices; ++i) {
    const int vip = i / 250 + 1;
    const std::string service = "10.21." + std::to_string(vip / 256) + "." +
                                std::to_string(vip % 256) + ":" + std::to_string(1000 + i % 250);
    text += "-A -u " + service + " -s rr\n";
    text += "-a -u " + service + " -r 192.168.10.12:" + std::to_string(1000 + i % 250) + " -m\n";
  }
  return text;
}

vslab::os::UniqueFd udp_socket_in(const std::string& netns, uint16_t bind_port) {
  vslab::topo::NetnsGuard in(netns);
  vslab::os::UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(bind_port);
  if (!fd.valid() || bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fd.reset();
  return fd;
}

// Counts the distinct sequence numbers that arrive on fd, on a thread of its own.
class Receiver {
 public:
  explicit Receiver(int fd) : seen_(kDatagrams + 1, false) {
    thread_ = std::thread([this, fd] { run(fd); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
  }
  int distinct() const { return distinct_; }
  // "a-b c" for the sequence numbers that never came (read once the flow is over).
  std::string missing() const {
    std::string out;
    for (int i = 0; i <= kDatagrams; ++i) {
      if (seen_[i]) continue;
      int j = i;
      while (j + 1 <= kDatagrams && !seen_[j + 1]) ++j;
      if (!out.empty()) out += ' ';
      out += std::to_string(i);
      if (j > i) out += '-', out += std::to_string(j);
      i = j;
    }
    return out;
  }
  int last() const { return last_; }
  // The longest time between two datagrams of the flow (1 ms apart when sent), once it ran.
  double longest_gap_ms() const { return longest_gap_ms_; }

 private:
  void run(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      uint32_t seq = 0;
      if (recv(fd, &seq, sizeof seq, 0) != ssize_t(sizeof seq) || seq > uint32_t(kDatagrams))
        continue;
      if (!seen_[seq]) seen_[seq] = true, ++distinct_;
      last_ = int(seq);
      // A stall of the data plane shows as a gap between arrivals, even where the rings hold
      // every frame through it and nothing is lost.
      const auto now = std::chrono::steady_clock::now();
      if (seq > 0 && last_arrival_.time_since_epoch().count() != 0) {
        const double gap = std::chrono::duration<double, std::milli>(now - last_arrival_).count();
        if (gap > longest_gap_ms_) longest_gap_ms_ = gap;
      }
      last_arrival_ = now;
    }
  }
  std::vector<bool> seen_;
  std::atomic<int> distinct_{0}, last_{-1};
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point last_arrival_{};
  std::atomic<double> longest_gap_ms_{0};
  std::thread thread_;
};

TEST(VsdInstallScale, OneChangeAmong100kServicesLosesNoDatagramOfASteadyFlow) {
#ifdef __SANITIZE_ADDRESS__
  // A load test: under ASan vsd runs many times slower than the flow and the flood it is
  // judged by, so what it misses is lost at its RX ring for want of CPU, no verdict on it.
  // Its figures are the Release build's; the ASan build checks the same code through the
  // unit tests and the fuzzers.
  GTEST_SKIP() << "a load test: its figures come from the Release build, not under ASan";
#endif
  if (!vslab::topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& dut = bed.dut();
  auto& live = bed.live();

  const std::string rules = many_services();
  auto start = Clock::now();
  auto restored = dut.restore(rules + "-A -u 10.20.0.100:" + std::to_string(kFlowPort) +
                              " -s rr\n-a -u 10.20.0.100:" + std::to_string(kFlowPort) +
                              " -r 192.168.10.11:" + std::to_string(kFlowPort) + " -m\n");
  const double load_ms = ms_since(start);
  ASSERT_TRUE(restored.ok()) << restored.output << dut.log();
  std::printf("vsadm -R of %d services (%zu bytes): %.0f ms\n", kServices + 1, rules.size(),
              load_ms);

  auto sender = udp_socket_in(live.netns("client"), 0);
  auto receiver_fd = udp_socket_in(live.netns("rs1"), kFlowPort);
  ASSERT_TRUE(sender.valid() && receiver_fd.valid());
  sockaddr_in vip{};
  vip.sin_family = AF_INET;
  vip.sin_port = htons(kFlowPort);
  vip.sin_addr.s_addr = htonl(0x0a140064);  // 10.20.0.100
  auto send_seq = [&](uint32_t seq) {
    return sendto(sender.get(), &seq, sizeof seq, 0, reinterpret_cast<sockaddr*>(&vip),
                  sizeof vip) == ssize_t(sizeof seq);
  };
  Receiver receiver(receiver_fd.get());
  // Datagram 0 opens the path (ARP on both sides, the connection): sent until it arrives.
  const auto warm_deadline = Clock::now() + 5s;
  while (receiver.last() < 0 && Clock::now() < warm_deadline) {
    ASSERT_TRUE(send_seq(0));
    const auto wait_until = Clock::now() + 100ms;
    while (receiver.last() < 0 && Clock::now() < wait_until) std::this_thread::yield();
  }
  ASSERT_GE(receiver.last(), 0) << "the flow never got through\n" << dut.log();

  // 1..kDatagrams at 1 kHz, paced by the clock, while the changes run beside it.
  std::atomic<int> sent{0};
  std::atomic<bool> flowing{true};
  std::thread flow([&] {
    const auto begin = Clock::now();
    for (int seq = 1; seq <= kDatagrams; ++seq) {
      std::this_thread::sleep_until(begin + std::chrono::microseconds(1000 * seq));
      if (send_seq(uint32_t(seq))) sent = seq;
    }
    flowing = false;
  });
  auto wait_sent = [&](int n) {
    while (sent < n && flowing) std::this_thread::sleep_for(1ms);  // pacing, not synchronisation
  };
  struct Step {
    const char* what;
    std::vector<std::string> argv;
    double ms = 0;
    int at = 0;  // datagrams sent when it started
  };
  std::vector<Step> steps = {
      {"-A", {"-A", "-u", "10.22.0.1:53", "-s", "wrr"}},
      {"-e", {"-e", "-u", "10.21.0.1:1000", "-r", "192.168.10.12:1000", "-m", "-w", "5"}},
      {"-D", {"-D", "-u", "10.21.0.2:1100"}},
  };
  int at = 500;
  for (auto& step : steps) {
    wait_sent(at);
    const auto t = Clock::now();
    step.at = sent;
    auto result = dut.admin(step.argv);
    step.ms = ms_since(t);
    EXPECT_TRUE(result.ok()) << step.what << ": " << result.output;
    at = std::max(sent.load(), at) + 500;
  }
  flow.join();
  const auto deadline = Clock::now() + 3s;
  while (receiver.distinct() < kDatagrams + 1 && Clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  const int lost = kDatagrams + 1 - receiver.distinct();
  for (const auto& step : steps)
    std::printf("vsadm %s among %d services: %.0f ms (from datagram %d)\n", step.what,
                kServices + 1, step.ms, step.at);
  std::printf(
      "flow: %d datagrams sent at 1 kHz, %d received, %d lost; longest gap between arrivals "
      "%.1f ms\n",
      kDatagrams + 1, receiver.distinct(), lost, receiver.longest_gap_ms());
  // Main's vsd before installs were prepared off the data plane held it 9 s for one -A among
  // 50k services; a shared machine's own stalls stay well under a second.
  EXPECT_LT(receiver.longest_gap_ms(), 1000.0) << "the data plane stalled";
  EXPECT_EQ(lost, 0) << "missing: " << receiver.missing()
                     << "\nvsd's counters: " << vsd_counters(dut.socket_path()) << "\n"
                     << dut.log();

  auto listing = dut.admin({"-L", "-n", "-u", "10.22.0.1:53"});
  EXPECT_TRUE(listing.ok()) << listing.output;
  auto gone = dut.admin({"-L", "-n", "-u", "10.21.0.2:1100"});
  EXPECT_FALSE(gone.ok()) << gone.output;
}

}  // namespace
}  // namespace vsd
