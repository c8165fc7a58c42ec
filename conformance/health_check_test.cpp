// Health checks by Debian's ldirectord, unmodified, against any DUT that can host it
// (Dut::beside_director): on topologies/nat.toml, ldirectord runs beside the director with
// /sbin/ipvsadm configuring it, health-checks the real servers (this suite's own listeners in
// their namespaces, which it stops and starts) and the suite watches the DUT's -L -n listing
// and new connections through the VIP. connect + quiescent=no: a dead server is removed
// within checkinterval + checktimeout, new connections go only to the others, it is re-added
// when it comes back. negotiate (HTTP request/receive) + quiescent=yes: a server failing its
// check gets weight 0 instead, while a connection established to it carries on; every server
// down: the fallback server gets the traffic. Every test runs in both address families (the
// /IPv4 and /IPv6 instances): over IPv6, ldirectord's virtual6=, real6= and fallback6= put
// [addr]:port services and servers on the DUT through ipvsadm and read them back from its
// listing, and the listeners and clients are IPv6 sockets. The DUT is builtin unless
// VSLAB_DUT names another kind of `--dut` (VSLAB_DUT_CONFIG its --dut-config); a DUT that
// cannot host ldirectord skips with its reason.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "dut/dut.h"
#include "mode_bed.h"
#include "os/child_process.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"
#include "topology/live.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::conformance {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kLdirectord = "/usr/sbin/ldirectord";
// ldirectord's HTTP check of an IPv6 server loads this module (Debian's libnet-inet6glue-perl).
constexpr const char* kInet6Glue = "/usr/share/perl5/Net/INET6Glue/INET_is_INET6.pm";
constexpr uint16_t kVport = 80;
constexpr uint16_t kRport = 8080;
// The fallback server is a second service on rs1, not ldirectord's customary 127.0.0.1:80: a
// destination on the director itself is IPVS's local-node forwarding, which vsd does not have.
constexpr uint16_t kFallbackPort = 8081;
// checkinterval + checktimeout of the generated configuration, and what the test allows
// beyond them: ldirectord runs ipvsadm -L -n and -L -n --thresholds before each change, and
// on a loaded two-core machine one round of those took up to 2 s beyond the checks.
constexpr auto kCheckBudget = 2s;
constexpr auto kSlack = 3s;

// What differs between the families on topologies/nat.toml: the addresses, and the directives
// ldirectord wants for IPv6 (virtual6=, real6=, fallback6=).
struct Family {
  const char* name;
  int af;
  const char* vip;
  const char* rs_prefix;  // real server n is rs_prefix followed by n
  const char* directive_suffix;
  std::string rs(int n) const { return rs_prefix + std::to_string(n); }
  // As ipvsadm prints it and ldirectord writes it: [addr]:port for IPv6.
  std::string endpoint(const std::string& addr, uint16_t port) const {
    const std::string p = ":" + std::to_string(port);
    return af == AF_INET6 ? "[" + addr + "]" + p : addr + p;
  }
};
constexpr Family kIpv4{"IPv4", AF_INET, "10.20.0.100", "192.168.10.1", ""};
constexpr Family kIpv6{"IPv6", AF_INET6, "fd00:20::100", "fd00:168:10::1", "6"};
// The parameter as test listings (and ctest's names) show it.
void PrintTo(const Family* family, std::ostream* os) {
  *os << family->name;
}

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

SocketAddress address_of(int af, const std::string& addr, uint16_t port) {
  SocketAddress out;
  if (af == AF_INET6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&out.storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    ::inet_pton(AF_INET6, addr.c_str(), &sa->sin6_addr);
    out.length = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&out.storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    ::inet_pton(AF_INET, addr.c_str(), &sa->sin_addr);
    out.length = sizeof *sa;
  }
  return out;
}

// Reads what the peer sends until the end of the HTTP header (or EOF), waiting at most
// `patience` for each piece.
std::string read_request(int fd, std::chrono::milliseconds patience) {
  std::string got;
  char buffer[2048];
  while (got.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(patience.count())) <= 0) break;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return got;
}

// A real server's service: a TCP listener in the server's namespace that answers every
// connection with an HTTP response whose body is `name`, then closes. stop() closes the
// listener, so new connections are refused (RST) as when a daemon dies. Each connection has a
// thread of its own, so one can be held open while others come and go.
class Responder {
 public:
  Responder(std::string netns, int af, std::string addr, uint16_t port, std::string name)
      : netns_(std::move(netns)),
        af_(af),
        addr_(std::move(addr)),
        port_(port),
        name_(std::move(name)) {
    start();
  }
  ~Responder() {
    stop();
    for (std::thread& t : connections_) t.join();
  }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  void start() {
    if (listener_) return;
    {
      topo::NetnsGuard in(netns_);
      listener_.reset(::socket(af_, SOCK_STREAM | SOCK_CLOEXEC, 0));
    }
    const int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const SocketAddress sa = address_of(af_, addr_, port_);
    if (::bind(listener_.get(), sa.get(), sa.length) != 0 || ::listen(listener_.get(), 64) != 0) {
      throw std::runtime_error("cannot listen on " + addr_ + ":" + std::to_string(port_) + " in " +
                               netns_);
    }
    stopping_ = false;
    thread_ = std::thread([this] { serve(); });
  }

  // Whether /health answers "alive" (the service up) or "sick" (up, but failing its check).
  void set_healthy(bool healthy) { healthy_ = healthy; }

  void stop() {
    if (!listener_) return;
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
    thread_.join();
    listener_.reset();
  }

 private:
  void serve() {
    for (;;) {
      os::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (stopping_) return;
      if (!conn) continue;
      connections_.emplace_back([this, fd = std::move(conn)] { answer(fd.get()); });
    }
  }

  void answer(int fd) const {
    // A client may hold its connection before it asks (the established-connection check).
    const std::string request = read_request(fd, 15000ms);
    // A connect check closes at once: nothing to answer.
    if (request.empty()) return;
    // ldirectord's negotiate check asks for /health and wants "alive" in the answer.
    const bool health = request.rfind("GET /health ", 0) == 0;
    const std::string body = (health ? (healthy_ ? "alive" : "sick") : name_) + "\n";
    os::send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
    ::shutdown(fd, SHUT_WR);
    read_request(fd, 500ms);  // the peer's FIN, so our close sends no RST
  }

  std::string netns_;
  int af_;
  std::string addr_;
  uint16_t port_;
  std::string name_;
  os::UniqueFd listener_;
  std::atomic<bool> stopping_ = false;
  std::atomic<bool> healthy_ = true;
  std::thread thread_;
  std::vector<std::thread> connections_;  // only the accepting thread adds to it
};

// A connection from the client's namespace to VIP:80, opened now; ask() sends the HTTP
// request and gives the answering server's name, or what went wrong in angle brackets.
class VipConnection {
 public:
  VipConnection(const std::string& client_netns, const Family& family) {
    {
      topo::NetnsGuard in(client_netns);
      fd_.reset(::socket(family.af, SOCK_STREAM | SOCK_CLOEXEC, 0));
    }
    const timeval timeout{2, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const SocketAddress vip = address_of(family.af, family.vip, kVport);
    if (::connect(fd_.get(), vip.get(), vip.length) != 0)
      failure_ = "<connect: " + std::string(std::strerror(errno)) + ">";
  }

  std::string ask() {
    if (!failure_.empty()) return failure_;
    if (!os::send_all(fd_.get(), "GET / HTTP/1.0\r\nHost: vip\r\n\r\n")) return "<send failed>";
    std::string answer;
    char buffer[2048];
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
      if (n <= 0) break;
      answer.append(buffer, static_cast<std::size_t>(n));
    }
    const std::size_t body = answer.find("\r\n\r\n");
    if (body == std::string::npos) return "<no response: '" + answer + "'>";
    std::string name = answer.substr(body + 4);
    while (!name.empty() && name.back() == '\n') name.pop_back();
    return name;
  }

 private:
  os::UniqueFd fd_;
  std::string failure_;
};

std::string ask_through_vip(const std::string& client_netns, const Family& family) {
  return VipConnection(client_netns, family).ask();
}

// Which servers answer `count` new connections through the VIP.
std::set<std::string> servers_answering(const std::string& client_netns, const Family& family,
                                        int count) {
  std::set<std::string> seen;
  for (int i = 0; i < count; ++i) seen.insert(ask_through_vip(client_netns, family));
  return seen;
}

// New connections through the VIP, one after another from a thread of their own, while the
// test waits for ldirectord: how many reached the failed server (`reached` tells by the
// answer) and when the last of them did, counted from `since`.
class ConnectionProbe {
 public:
  ConnectionProbe(std::string client_netns, const Family& family, Clock::time_point since,
                  std::function<bool(const std::string&)> reached)
      : since_(since),
        reached_(std::move(reached)),
        thread_([this, &family, netns = std::move(client_netns)] {
          while (!done_) {
            if (reached_(ask_through_vip(netns, family))) {
              last_reached_ = Clock::now();
              ++reached_count_;
            }
            ++sent_;
          }
        }) {}
  ~ConnectionProbe() { finish(); }
  void finish() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int sent() const { return sent_; }
  int reached() const { return reached_count_; }
  // Milliseconds from `since` to the last connection that reached it; -1 when none did.
  long last_reached_ms() const {
    if (reached_count_ == 0) return -1;
    return std::chrono::duration_cast<std::chrono::milliseconds>(last_reached_ - since_).count();
  }

 private:
  Clock::time_point since_;
  std::function<bool(const std::string&)> reached_;
  Clock::time_point last_reached_{};  // written by the thread, read after finish()
  std::atomic<bool> done_ = false;
  std::atomic<int> sent_ = 0, reached_count_ = 0;
  std::thread thread_;
};

// The real servers the DUT's `-L -n` lists for VIP:80, with their weights; written from ipvsadm's
// destination line ("  -> ADDR:PORT FORWARD WEIGHT ACTIVE INACTIVE").
std::map<std::string, int> listed_servers(dut::Dut& dut, const Family& family) {
  std::map<std::string, int> servers;
  const auto listing = dut.admin({"-L", "-n"});
  std::istringstream lines(listing.output);
  bool in_vip = false;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first, second, third;
    int weight = -1;
    words >> first >> second;
    if (first == "TCP" || first == "UDP" || first == "FWM") {
      in_vip = first == "TCP" && second == family.endpoint(family.vip, kVport);
    } else if (in_vip && first == "->" && second != "RemoteAddress:Port" &&
               (words >> third >> weight)) {
      servers[second] = weight;
    }
  }
  return servers;
}

// Polls the DUT's -L -n until `wanted` holds for the listing or the deadline passes; the time it
// took, or nullopt.
template <typename Wanted>
std::optional<std::chrono::milliseconds> time_until(dut::Dut& dut, const Family& family,
                                                    Wanted wanted, Clock::duration deadline) {
  const auto start = Clock::now();
  for (;;) {
    if (wanted(listed_servers(dut, family)))
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    if (Clock::now() - start > deadline) return std::nullopt;
    std::this_thread::sleep_for(50ms);  // poll period, not synchronisation
  }
}

// ldirectord run as a session of its own beside the DUT, killed with its whole process group
// when this object goes, its pid file and working folder removed.
class Ldirectord {
 public:
  Ldirectord(const dut::Dut& dut, const std::string& config_text)
      : folder_(std::filesystem::temp_directory_path() /
                ("vslab-ldirectord-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(folder_);
    std::filesystem::create_directories(folder_);
    // ldirectord names its pid file after the configuration file: one per test process.
    const std::string name = "vslab-" + std::to_string(::getpid()) + ".cf";
    config_ = (folder_ / name).string();
    pid_file_ = "/var/run/ldirectord." + name + ".pid";
    log_ = (folder_ / "ldirectord.out").string();
    std::ofstream(config_) << config_text << "logfile=\"" << (folder_ / "ldirectord.log").string()
                           << "\"\n";

    // -d: in the foreground, so this process group is all of it.
    const std::vector<std::string> argv =
        dut.beside_director({kLdirectord, "-d", config_, "start"});
    const std::string folder = folder_.string();
    const std::string log = log_;
    process_ = os::ChildProcess::fork_running([&] {
      ::setsid();                          // its own process group, killed as one
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // and gone with the test, even one that crashes
      // In debug mode ldirectord prefers ./ipvsadm: run it where there is none.
      if (::chdir(folder.c_str()) != 0) return 126;
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (out < 0) return 126;
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      return 127;
    });
  }
  ~Ldirectord() {
    if (process_.owns()) {
      ::kill(-process_.pid(), SIGKILL);
      process_.kill_and_reap();
    }
    std::filesystem::remove(pid_file_);
    std::filesystem::remove_all(folder_);
  }
  Ldirectord(const Ldirectord&) = delete;
  Ldirectord& operator=(const Ldirectord&) = delete;

  bool running() const { return !process_.has_exited(); }
  // SIGTERM, as `ldirectord stop` sends it: with cleanstop (the default) it deletes its real
  // servers and virtual services before it exits. Whether it exited by the deadline.
  bool stop(Clock::duration deadline) {
    process_.signal(SIGTERM);
    return process_.wait_until(Clock::now() + deadline).has_value();
  }
  // The last lines of what it printed, for a failure message.
  std::string output_tail() const {
    std::ifstream in(log_);
    const std::string all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  }

 private:
  std::filesystem::path folder_;
  std::string config_, pid_file_, log_;
  os::ChildProcess process_;
};

std::string config(const Family& family, const std::string& checks, const std::string& quiescent,
                   const std::string& extra = "") {
  const std::string suffix = family.directive_suffix;
  std::string text =
      "checkinterval=1\n"
      "checktimeout=1\n"
      "negotiatetimeout=1\n"
      "autoreload=no\n"
      "quiescent=" +
      quiescent + "\nvirtual" + suffix + "=" + family.endpoint(family.vip, kVport) + "\n";
  for (int n = 1; n <= 3; ++n)
    text += "\treal" + suffix + "=" + family.endpoint(family.rs(n), kRport) + " masq 1\n";
  return text +
         "\tscheduler=rr\n"
         "\tprotocol=tcp\n"
         "\tservice=http\n" +
         checks + extra;
}

// topologies/nat.toml up and the DUT started in it, real servers not quietened: their kernels
// answer the health checks and the connections through the VIP.
class HealthBed {
 public:
  explicit HealthBed(std::unique_ptr<dut::Dut> dut) : live_(parse()), dut_(std::move(dut)) {
    dut_->start(live_);
  }
  ~HealthBed() { dut_->stop(); }
  HealthBed(const HealthBed&) = delete;
  HealthBed& operator=(const HealthBed&) = delete;
  topo::LiveTopology& live() { return live_; }
  dut::Dut& dut() { return *dut_; }

 private:
  static topo::Topology parse() {
    auto parsed = topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/nat.toml");
    if (!parsed.ok()) throw std::runtime_error("topologies/nat.toml does not parse");
    return *parsed.topology;
  }
  topo::LiveTopology live_;
  std::unique_ptr<dut::Dut> dut_;
};

class HealthCheck : public ::testing::TestWithParam<const Family*> {
 protected:
  void SetUp() override {
    if (!topo::have_net_admin()) GTEST_SKIP() << "needs root (namespaces, mounts)";
    if (::access(kLdirectord, X_OK) != 0)
      GTEST_SKIP() << kLdirectord << " is not installed (apt-get install ldirectord)";
    auto dut = dut_from_environment();
    if (auto why = dut->health_checker_unavailable())
      GTEST_SKIP() << "the " << dut->name() << " DUT: " << *why;
    try {
      bed_.emplace(std::move(dut));
    } catch (const dut::DutUnavailable& e) {
      GTEST_SKIP() << e.what();
    }
    // Waits scale with a slow DUT's listings (an emulated guest).
    budget_ = (kCheckBudget + kSlack) * bed_->dut().slowness();
    for (int n = 1; n <= 3; ++n) {
      servers_[n] =
          std::make_unique<Responder>(bed_->live().netns("rs" + std::to_string(n)), family().af,
                                      family().rs(n), kRport, "rs" + std::to_string(n));
    }
  }

  const Family& family() const { return *GetParam(); }
  std::string rip(int n, uint16_t port = kRport) const {
    return family().endpoint(family().rs(n), port);
  }
  bool all_three_with_weight(const std::map<std::string, int>& s, int weight) const {
    return s.size() == 3 && s.count(rip(1)) && s.count(rip(2)) && s.count(rip(3)) &&
           s.at(rip(1)) == weight && s.at(rip(2)) == weight && s.at(rip(3)) == weight;
  }

  // Polls the DUT's listing of the VIP until `wanted` holds or the deadline passes.
  template <typename Wanted>
  std::optional<std::chrono::milliseconds> time_until(Wanted wanted, Clock::duration deadline) {
    return conformance::time_until(bed_->dut(), family(), wanted, deadline);
  }
  std::set<std::string> servers_answering(int count) {
    return conformance::servers_answering(client(), family(), count);
  }
  // Starts ldirectord and waits for it to put the three real servers at weight 1.
  ::testing::AssertionResult start_ldirectord(const std::string& checks,
                                              const std::string& quiescent,
                                              const std::string& extra = "") {
    ldirectord_.emplace(bed_->dut(), config(family(), checks, quiescent, extra));
    if (time_until([this](const auto& s) { return all_three_with_weight(s, 1); },
                   20s * bed_->dut().slowness()))
      return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "ldirectord did not add the three real servers (and only them)" << context();
  }

  // What the failure message needs: the listing, ldirectord's output, the DUT's log.
  std::string context() {
    std::string log;
    if (auto* builtin = dynamic_cast<dut::BuiltinDut*>(&bed_->dut())) log = builtin->log();
    return "\n-L -n:\n" + bed_->dut().admin({"-L", "-n"}).output +
           "\nldirectord's output (tail):\n" +
           (ldirectord_ ? ldirectord_->output_tail() : std::string("(not started)")) +
           "\nthe DUT's log:\n" + log;
  }

  std::string client() { return bed_->live().netns("client"); }

  // Destroyed last to first: ldirectord, then the servers, then the DUT and namespaces.
  std::optional<HealthBed> bed_;
  std::map<int, std::unique_ptr<Responder>> servers_;
  std::optional<Ldirectord> ldirectord_;
  Clock::duration budget_{};
};

TEST_P(HealthCheck, ConnectCheckRemovesAndReaddsAServer) {
  ASSERT_TRUE(start_ldirectord("\tchecktype=connect\n", "no"));
  EXPECT_EQ(servers_answering(6), (std::set<std::string>{"rs1", "rs2", "rs3"}));

  servers_[2]->stop();
  // Under NAT a connection sent to a server whose service is down is refused by its RST.
  ConnectionProbe probe(client(), family(), Clock::now(), [](const std::string& answer) {
    return answer.find("refused") != std::string::npos;
  });
  const auto removed =
      time_until([this](const auto& s) { return s.size() == 2 && !s.count(rip(2)); }, budget_);
  probe.finish();
  ASSERT_TRUE(removed) << "rs2's service stopped, but ldirectord did not remove it within "
                       << std::chrono::duration_cast<std::chrono::seconds>(budget_).count() << " s"
                       << context();
  std::cout << "[ measured ] " << family().name << ", connect, quiescent=no: rs2 removed "
            << removed->count() << " ms after its listener closed; of " << probe.sent()
            << " connections meanwhile, " << probe.reached() << " reached the dead rs2, the last "
            << probe.last_reached_ms() << " ms after it closed\n";
  RecordProperty("removal_ms", static_cast<int>(removed->count()));
  RecordProperty("last_to_dead_ms", static_cast<int>(probe.last_reached_ms()));
  // rr sends every third new connection to rs2 until it is removed.
  EXPECT_GT(probe.reached(), 0) << "no connection reached the dead server: nothing measured";
  EXPECT_LE(probe.last_reached_ms(), removed->count() + 200);
  EXPECT_EQ(servers_answering(6), (std::set<std::string>{"rs1", "rs3"}));

  servers_[2]->start();
  const auto readded =
      time_until([this](const auto& s) { return all_three_with_weight(s, 1); }, budget_);
  ASSERT_TRUE(readded) << "rs2 came back, but ldirectord did not re-add it" << context();
  std::cout << "[ measured ] " << family().name << ", connect: rs2 re-added " << readded->count()
            << " ms after its listener opened\n";
  EXPECT_EQ(servers_answering(6), (std::set<std::string>{"rs1", "rs2", "rs3"}));
  ASSERT_TRUE(ldirectord_->running()) << context();

  ASSERT_TRUE(ldirectord_->stop(budget_)) << "ldirectord did not exit on SIGTERM" << context();
  const std::string vip_service = "TCP  " + family().endpoint(family().vip, kVport);
  EXPECT_EQ(bed_->dut().admin({"-L", "-n"}).output.find(vip_service), std::string::npos)
      << "ldirectord stopped cleanly, but its virtual service is still there" << context();
}

TEST_P(HealthCheck, NegotiateQuiescesThenFallsBack) {
  if (family().af == AF_INET6 && ::access(kInet6Glue, R_OK) != 0)
    GTEST_SKIP() << "ldirectord's HTTP check of an IPv6 server needs " << kInet6Glue
                 << " (apt-get install libnet-inet6glue-perl)";
  Responder fallback(bed_->live().netns("rs1"), family().af, family().rs(1), kFallbackPort,
                     "fallback");
  ASSERT_TRUE(
      start_ldirectord("\tchecktype=negotiate\n\trequest=\"/health\"\n\treceive=\"alive\"\n", "yes",
                       "\tfallback" + std::string(family().directive_suffix) + "=" +
                           rip(1, kFallbackPort) + " masq\n"));
  EXPECT_EQ(servers_answering(6), (std::set<std::string>{"rs1", "rs2", "rs3"}));
  // Three connections in a row under rr: one to each server, established before rs2 fails its
  // check. rs2 keeps serving: its /health answer no longer matches receive=.
  std::vector<VipConnection> held;
  for (int i = 0; i < 3; ++i) held.emplace_back(client(), family());

  servers_[2]->set_healthy(false);
  ConnectionProbe probe(client(), family(), Clock::now(),
                        [](const std::string& answer) { return answer == "rs2"; });
  const auto quiesced = time_until(
      [this](const auto& s) { return s.size() == 3 && s.count(rip(2)) && s.at(rip(2)) == 0; },
      budget_);
  probe.finish();
  ASSERT_TRUE(quiesced) << "rs2 failed its check, but ldirectord did not set its weight to 0"
                        << context();
  std::cout << "[ measured ] " << family().name << ", negotiate, quiescent=yes: rs2 at weight 0 "
            << quiesced->count() << " ms after its /health turned sick; of " << probe.sent()
            << " new connections meanwhile, " << probe.reached() << " went to rs2, the last "
            << probe.last_reached_ms() << " ms after\n";
  EXPECT_LE(probe.last_reached_ms(), quiesced->count() + 200);
  RecordProperty("quiesce_ms", static_cast<int>(quiesced->count()));
  EXPECT_EQ(servers_answering(6), (std::set<std::string>{"rs1", "rs3"}));
  // Weight 0 turns new connections away only: the one established to rs2 is still forwarded
  // to it (docs/ipvs.md section 8).
  std::set<std::string> held_answers;
  for (VipConnection& c : held) held_answers.insert(c.ask());
  EXPECT_EQ(held_answers, (std::set<std::string>{"rs1", "rs2", "rs3"}));

  servers_[1]->stop();  // every server down: rs2 sick, rs1 and rs3 not listening
  servers_[3]->stop();
  const auto fell_back = time_until(
      [this](const auto& s) {
        return s.count(rip(1, kFallbackPort)) && s.at(rip(1, kFallbackPort)) == 1 &&
               s.count(rip(1)) && s.at(rip(1)) == 0 && s.count(rip(3)) && s.at(rip(3)) == 0;
      },
      budget_);
  ASSERT_TRUE(fell_back) << "every server down, but the fallback server was not added" << context();
  std::cout << "[ measured ] " << family().name << ", every server down: fallback added "
            << fell_back->count() << " ms after the last listener closed\n";
  EXPECT_EQ(servers_answering(4), (std::set<std::string>{"fallback"}));

  servers_[1]->start();
  const auto back = time_until(
      [this](const auto& s) {
        return !s.count(rip(1, kFallbackPort)) && s.count(rip(1)) && s.at(rip(1)) == 1;
      },
      budget_);
  ASSERT_TRUE(back) << "rs1 came back, but ldirectord did not restore it and drop the fallback"
                    << context();
  EXPECT_EQ(servers_answering(4), (std::set<std::string>{"rs1"}));
  EXPECT_TRUE(ldirectord_->running()) << context();
}

INSTANTIATE_TEST_SUITE_P(Families, HealthCheck, ::testing::Values(&kIpv4, &kIpv6),
                         [](const auto& info) { return std::string(info.param->name); });

}  // namespace
}  // namespace vslab::conformance
