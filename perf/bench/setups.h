// The configurations `vslab bench` puts between the generator and the sink, each on a fresh
// instance of its topology (perf/bench/topologies/*.toml) that lives as long as the object:
// the raw veth path, Linux forwarding and nftables DNAT in the director's namespace, the
// AF_PACKET bounce forwarder, and a device under test driven through harness/dut's Dut.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "net/addr.h"
#include "net/ip6.h"
#include "topology/live.h"

namespace vslab::bench {

// Where a configuration's load goes in and comes out.
struct Path {
  std::string client_netns, client_ifname = "eth0";
  std::string sink_netns, sink_ifname = "eth0";
  vsd::Mac next_hop;  // the generator's destination MAC
  vsd::Ipv4 destination;
  vsd::Ipv4 server;  // an address of the real server's own (where a web server is checked)
  int family = 4;    // 6: the load is IPv6, to destination6
  vsd::Ip6 destination6{};
};

// Which cores run what (docs/benchmarking.md: generator on 0, director on 1).
struct Cores {
  int generator = 0;
  int director = 1;
  int sink = 0;
  // The director's threads at SCHED_FIFO priority 1: its core as good as its own on a shared
  // machine, as the kernel's forwarding (a softirq, ahead of every task) always has it.
  bool director_realtime = false;
};

// Pins the calling thread to cores.director, at SCHED_FIFO 1 when cores.director_realtime.
void place_director_thread(const Cores& cores);

// The addresses of perf/bench/topologies/bench.toml that the setups rely on.
struct BenchAddresses {
  static constexpr vsd::Ipv4 kClient = vsd::Ipv4::from_octets(10, 10, 0, 2);
  static constexpr vsd::Ipv4 kVip = vsd::Ipv4::from_octets(10, 10, 0, 100);
  static constexpr uint16_t kPort = 80;
  static std::vector<vsd::Ipv4> real_servers() {
    return {vsd::Ipv4::from_octets(192, 168, 10, 11), vsd::Ipv4::from_octets(192, 168, 10, 12),
            vsd::Ipv4::from_octets(192, 168, 10, 13)};
  }
  // FULLNAT's local addresses (LIPs), on the director's side towards the real servers. Each
  // LIP offers 64512 source ports per real server, so 16 hold the 1M-connection row with
  // most ports still free (a port search probes at most 64 before it gives up).
  static constexpr int kLocalAddressCount = 16;
  // The same in IPv6 (--family 6).
  static vsd::Ip6 client6() { return ip6("fd00:10::2"); }
  static vsd::Ip6 vip6() { return ip6("fd00:10::100"); }
  static std::vector<vsd::Ip6> real_servers6() {
    return {ip6("fd00:168:10::11"), ip6("fd00:168:10::12"), ip6("fd00:168:10::13")};
  }
  static std::vector<vsd::Ip6> local_addresses6() {
    std::vector<vsd::Ip6> out;
    for (int i = 0; i < kLocalAddressCount; ++i) {
      auto a = ip6("fd00:168:10::200");
      a[15] = uint8_t(a[15] + i);
      out.push_back(a);
    }
    return out;
  }
  static vsd::Ip6 ip6(const char* text);
  static std::string str(const vsd::Ip6& address);
  static std::vector<vsd::Ipv4> local_addresses() {
    std::vector<vsd::Ipv4> out;
    for (int i = 0; i < kLocalAddressCount; ++i)
      out.push_back(vsd::Ipv4::from_octets(192, 168, 10, uint8_t(200 + i)));
    return out;
  }
};

class Setup {
 public:
  virtual ~Setup() = default;
  const std::string& name() const { return name_; }
  const Path& path() const { return path_; }
  // Why the configuration cannot run here (empty when it can).
  const std::string& skip_reason() const { return skip_reason_; }
  // CPU time the director has used so far (ns), where it runs as threads or processes of
  // its own (a DUT's namespace, the bounce forwarder); nothing for the kernel's forwarding,
  // which runs in the generator's softirq. Includes the kernel work its system calls do.
  virtual std::optional<uint64_t> director_cpu_ns() const { return std::nullopt; }

 protected:
  std::string name_;
  Path path_;
  std::string skip_reason_;
};

// topology_dir holds bench.toml and raw.toml. family 6: the configuration's load is IPv6 (its
// name gets " IPv6"), the baselines' rules and the DUT's service are IPv6 ones.
// tcp: for connections per second (cps.h): the real server's kernel keeps its frames (no sink
// filter), and the DUT's service is TCP.
std::unique_ptr<Setup> make_raw(const std::string& topology_dir, bool tcp = false, int family = 4);
std::unique_ptr<Setup> make_linux_forward(const std::string& topology_dir, bool nft_dnat,
                                          int family = 4);
// idle_spin_us: how long the bounce spins before it sleeps (vsd's --idle-spin-us).
std::unique_ptr<Setup> make_bounce(const std::string& topology_dir, const Cores& cores,
                                   unsigned idle_spin_us, int family = 4);
// Starts the DUT in the director's namespace with the mode's rules (rr over the three real
// servers, UDP VIP:80) and pins whatever runs in that namespace to the director's core. A DUT
// that cannot run here (DutUnavailable) gives a Setup with a skip reason.
std::unique_ptr<Setup> make_dut(const std::string& topology_dir, std::unique_ptr<dut::Dut> dut,
                                const std::string& mode, const std::string& label,
                                const Cores& cores, bool tcp = false, int family = 4);

// The rules a DUT gets for a mode, in ipvsadm save format; throws for a mode bench cannot run.
std::string bench_rules(const std::string& mode, bool tcp = false, int family = 4);

// What a configuration's name gets for the family of its load: "" or " IPv6".
std::string family_suffix(int family);

}  // namespace vslab::bench
