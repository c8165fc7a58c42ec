#include "bench/setups.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "bench/bounce.h"
#include "bench/rings.h"
#include "bench/sink.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::bench {
namespace {

std::unique_ptr<topo::LiveTopology> bring_up(const std::string& topology_dir,
                                             const std::string& file, bool sink_filter = true) {
  auto path = (std::filesystem::path(topology_dir) / file).string();
  auto parsed = topo::parse_topology_file(path);
  if (!parsed.ok()) {
    std::string all;
    for (const auto& e : parsed.errors) all += e + "\n";
    throw std::runtime_error(all);
  }
  auto live = std::make_unique<topo::LiveTopology>(std::move(*parsed.topology));
  if (sink_filter) {
    topo::NetnsGuard in(live->netns("rs1"));
    install_sink_filter("eth0");
  }
  return live;
}

vsd::Mac mac_in(const topo::LiveTopology& live, const std::string& node,
                const std::string& ifname) {
  topo::NetnsGuard in(live.netns(node));
  return interface_mac(ifname);
}

void run_in(const topo::LiveTopology& live, const std::string& node,
            const std::vector<std::string>& argv) {
  auto r = live.exec(node, argv);
  if (!r.ok())
    throw std::runtime_error(fmt::format("in {}: {}: {}", node, topo::shell_quote(argv), r.output));
}

// Every thread of every process of the namespace to the director's core (and priority).
void pin_namespace(const std::string& netns, const Cores& cores) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cores.director, &set);
  const sched_param fifo{1};
  for (int pid : topo::pids_in_netns(netns)) {
    std::error_code ec;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      const int tid = std::stoi(task.path().filename().string());
      sched_setaffinity(tid, sizeof set, &set);
      if (cores.director_realtime && sched_setscheduler(tid, SCHED_FIFO, &fifo) != 0)
        throw std::runtime_error(std::string("SCHED_FIFO for the director: ") +
                                 std::strerror(errno));
    }
  }
}

// utime + stime of every process of the namespace (all their threads), in ns.
uint64_t namespace_cpu_ns(const std::string& netns) {
  uint64_t ticks = 0;
  for (int pid : topo::pids_in_netns(netns)) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoull(f);
      if (i == 15) stime = std::stoull(f);
    }
    ticks += utime + stime;
  }
  return ticks * (1000000000u / uint64_t(sysconf(_SC_CLK_TCK)));
}

class TopologySetup : public Setup {
 public:
  void use_destination(vsd::Ipv4 address) { path_.destination = path_.server = address; }
  // next_hop_node: the node whose eth0 the generator addresses its frames to.
  TopologySetup(std::string name, std::unique_ptr<topo::LiveTopology> live,
                const std::string& next_hop_node, int family)
      : live_(std::move(live)) {
    name_ = std::move(name) + family_suffix(family);
    path_.family = family;
    path_.destination6 = BenchAddresses::vip6();
    path_.client_netns = live_->netns("client");
    path_.sink_netns = live_->netns("rs1");
    path_.next_hop = mac_in(*live_, next_hop_node, "eth0");
    path_.destination = BenchAddresses::kVip;
    path_.server = BenchAddresses::real_servers()[0];
  }

 protected:
  std::unique_ptr<topo::LiveTopology> live_;
};

class BounceSetup final : public TopologySetup {
 public:
  BounceSetup(std::unique_ptr<topo::LiveTopology> live, const Cores& cores, unsigned idle_spin_us,
              int family)
      : TopologySetup("af-packet-bounce", std::move(live), "director", family) {
    BounceConfig config;
    config.netns = live_->netns("director");
    config.in_ifname = "eth0";
    config.out_ifname = "eth1";
    config.next_hop = mac_in(*live_, "rs1", "eth0");
    config.rewrite_to = BenchAddresses::real_servers();
    config.rewrite_to6 = BenchAddresses::real_servers6();
    config.cores = cores;
    config.idle_spin_us = idle_spin_us;
    forwarder_ = std::make_unique<BounceForwarder>(config);
    forwarder_->start();
  }
  ~BounceSetup() override { forwarder_.reset(); }
  std::optional<uint64_t> director_cpu_ns() const override { return forwarder_->cpu_ns(); }

 private:
  std::unique_ptr<BounceForwarder> forwarder_;
};

class DutSetup final : public TopologySetup {
 public:
  DutSetup(std::string label, std::unique_ptr<topo::LiveTopology> live,
           std::unique_ptr<dut::Dut> dut, int family)
      : TopologySetup(std::move(label), std::move(live), "director", family),
        dut_(std::move(dut)) {}
  ~DutSetup() override {
    if (dut_) dut_->stop();
  }
  std::optional<uint64_t> director_cpu_ns() const override {
    if (!skip_reason_.empty()) return std::nullopt;
    return namespace_cpu_ns(live_->netns("director"));
  }
  void start(const std::string& mode, const Cores& cores, bool tcp) {
    try {
      dut_->start(*live_);
    } catch (const dut::DutUnavailable& e) {
      skip_reason_ = dut_->name() + " cannot run here: " + e.what();
      return;
    }
    auto result = dut_->restore(bench_rules(mode, tcp, path_.family));
    if (!result.ok())
      throw std::runtime_error(dut_->name() + " refused the bench rules: " + result.output);
    pin_namespace(live_->netns("director"), cores);
  }

 private:
  std::unique_ptr<dut::Dut> dut_;
};

}  // namespace

void place_director_thread(const Cores& cores) {
  pin_to_core(cores.director);
  const sched_param fifo{1};
  if (cores.director_realtime) pthread_setschedparam(pthread_self(), SCHED_FIFO, &fifo);
}

vsd::Ip6 BenchAddresses::ip6(const char* text) {
  vsd::Ip6 a{};
  if (inet_pton(AF_INET6, text, a.data()) != 1)
    throw std::invalid_argument(std::string("not an IPv6 address: ") + text);
  return a;
}

std::string BenchAddresses::str(const vsd::Ip6& address) {
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, address.data(), text, sizeof text);
  return text;
}

std::string family_suffix(int family) {
  return family == 6 ? " IPv6" : "";
}

std::string bench_rules(const std::string& mode, bool tcp, int family) {
  std::string flag;
  if (mode == "nat")
    flag = "-m";
  else if (mode == "dr")
    flag = "-g";
  else if (mode == "tun")
    flag = "-i";
  else if (mode == "fullnat")
    flag = "-b";
  else
    throw std::invalid_argument("vslab bench: --mode " + mode +
                                ": not a forwarding method (nat, dr, tun or fullnat)");
  // ipvsadm's forms: IPv6 addresses in brackets before a port.
  std::vector<std::string> rips, lips;
  std::string vip;
  if (family == 6) {
    vip = fmt::format("[{}]", BenchAddresses::str(BenchAddresses::vip6()));
    for (const auto& rip : BenchAddresses::real_servers6())
      rips.push_back(fmt::format("[{}]", BenchAddresses::str(rip)));
    for (const auto& lip : BenchAddresses::local_addresses6())
      lips.push_back(BenchAddresses::str(lip));
  } else {
    vip = BenchAddresses::kVip.str();
    for (const auto& rip : BenchAddresses::real_servers()) rips.push_back(rip.str());
    for (const auto& lip : BenchAddresses::local_addresses()) lips.push_back(lip.str());
  }
  vip += fmt::format(":{}", BenchAddresses::kPort);
  const char* proto = tcp ? "-t" : "-u";
  std::string rules = fmt::format("-A {} {} -s rr\n", proto, vip);
  for (const auto& rip : rips)
    rules +=
        fmt::format("-a {} {} -r {}:{} {} -w 1\n", proto, vip, rip, BenchAddresses::kPort, flag);
  if (mode == "fullnat")
    for (const auto& lip : lips) rules += fmt::format("--add-laddr -z {} {} {}\n", lip, proto, vip);
  return rules;
}

std::unique_ptr<Setup> make_raw(const std::string& topology_dir, bool tcp, int family) {
  auto live = bring_up(topology_dir, "raw.toml", !tcp);
  auto setup = std::make_unique<TopologySetup>("raw", std::move(live), "rs1", family);
  // raw.toml's rs1 is 10.10.0.1: the address a TCP client must reach it on.
  if (tcp) setup->use_destination(vsd::Ipv4::from_octets(10, 10, 0, 1));
  return setup;
}

std::unique_ptr<Setup> make_linux_forward(const std::string& topology_dir, bool nft_dnat,
                                          int family) {
  auto live = bring_up(topology_dir, "bench.toml");
  const bool v6 = family == 6;
  std::string vip;
  std::vector<std::string> rips;
  if (v6) {
    vip = BenchAddresses::str(BenchAddresses::vip6());
    for (const auto& rip : BenchAddresses::real_servers6())
      rips.push_back(BenchAddresses::str(rip));
    run_in(*live, "director", {"sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"});
  } else {
    vip = BenchAddresses::kVip.str();
    for (const auto& rip : BenchAddresses::real_servers()) rips.push_back(rip.str());
    run_in(*live, "director", {"sysctl", "-qw", "net.ipv4.ip_forward=1"});
  }
  if (nft_dnat) {
    // What a user would pick instead of a director (the nftables DNAT row of docs/benchmarking.md):
    // conntrack and DNAT round robin over the real servers.
    const std::string table_family = v6 ? "ip6" : "ip";
    run_in(*live, "director", {"nft", "add", "table", table_family, "vslab_lb"});
    run_in(*live, "director",
           {"nft", "add", "chain", table_family, "vslab_lb", "pre",
            "{ type nat hook prerouting priority dstnat; }"});
    run_in(*live, "director",
           {"nft",        "add",
            "rule",       table_family,
            "vslab_lb",   "pre",
            table_family, "daddr",
            vip,          "udp",
            "dport",      std::to_string(BenchAddresses::kPort),
            "dnat",       "to",
            "numgen",     "inc",
            "mod",        "3",
            "map",        fmt::format("{{ 0 : {}, 1 : {}, 2 : {} }}", rips[0], rips[1], rips[2])});
  } else {
    // Plain routing: the VIP is reached through the first real server.
    run_in(*live, "director",
           {"ip", v6 ? "-6" : "-4", "route", "add", vip + (v6 ? "/128" : "/32"), "via", rips[0]});
  }
  auto name = nft_dnat ? "nft-dnat" : "linux-forward";
  return std::make_unique<TopologySetup>(name, std::move(live), "director", family);
}

std::unique_ptr<Setup> make_bounce(const std::string& topology_dir, const Cores& cores,
                                   unsigned idle_spin_us, int family) {
  return std::make_unique<BounceSetup>(bring_up(topology_dir, "bench.toml"), cores, idle_spin_us,
                                       family);
}

std::unique_ptr<Setup> make_dut(const std::string& topology_dir, std::unique_ptr<dut::Dut> dut,
                                const std::string& mode, const std::string& label,
                                const Cores& cores, bool tcp, int family) {
  auto live = bring_up(topology_dir, "bench.toml", !tcp);
  auto setup = std::make_unique<DutSetup>(label, std::move(live), std::move(dut), family);
  setup->start(mode, cores, tcp);
  return setup;
}

}  // namespace vslab::bench
