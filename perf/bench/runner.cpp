#include "bench/runner.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/frames.h"
#include "bench/generator.h"
#include "bench/sink.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

std::atomic<bool> interrupted{false};
struct sigaction old_int, old_term;

void on_signal(int) {
  interrupted = true;
}

using Clock = std::chrono::steady_clock;

// Waits, and gives up with Interrupted as soon as a signal comes.
void wait_for(Clock::duration d) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (interrupted) throw Interrupted();
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  if (interrupted) throw Interrupted();
}

// tx_packets of an interface of a namespace, from that namespace's /proc/net/dev.
uint64_t tx_packets(const std::string& netns, const std::string& ifname) {
  topo::NetnsGuard in(netns);
  std::ifstream dev("/proc/thread-self/net/dev");
  std::string line;
  while (std::getline(dev, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != ifname) continue;
    std::istringstream fields(line.substr(colon + 1));
    uint64_t v[10] = {};
    for (auto& x : v) fields >> x;
    return v[9];  // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets
  }
  throw std::runtime_error("no interface " + ifname + " in " + netns);
}

struct CpuTimes {
  uint64_t busy[2] = {0, 0}, total[2] = {0, 0};
};

// Busy and total jiffies of cpu0 and cpu1 (busy: user nice system irq softirq steal).
CpuTimes cpu_times() {
  CpuTimes t;
  std::ifstream stat("/proc/stat");
  std::string line;
  while (std::getline(stat, line)) {
    for (int cpu = 0; cpu < 2; ++cpu) {
      std::string tag = "cpu" + std::to_string(cpu) + " ";
      if (line.rfind(tag, 0) != 0) continue;
      std::istringstream fields(line.substr(tag.size()));
      uint64_t f[8] = {};
      for (auto& x : f) fields >> x;
      t.busy[cpu] = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
      t.total[cpu] = t.busy[cpu] + f[3] + f[4];
    }
  }
  return t;
}

}  // namespace

void throw_if_interrupted() {
  if (interrupted) throw Interrupted();
}

InterruptGuard::InterruptGuard() {
  interrupted = false;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
}

Sample measure(const Setup& setup, const RunSpec& spec, const Cores& cores) {
  const Path& path = setup.path();
  Sink sink({path.sink_netns, path.sink_ifname, spec.latency, cores.sink});
  GeneratorConfig g;
  g.netns = path.client_netns;
  g.ifname = path.client_ifname;
  g.dst_mac = path.next_hop;
  g.family = path.family;
  g.src_ip = BenchAddresses::kClient;
  g.dst_ip = path.destination;
  g.src_ip6 = BenchAddresses::client6();
  g.dst_ip6 = path.destination6;
  g.dst_port = BenchAddresses::kPort;
  g.frame_size = frame_size_for(path.family, spec.frame_size, spec.latency);
  g.flows = spec.flows;
  g.rate_pps = spec.rate_pps;
  g.stamp = spec.latency;
  g.core = cores.generator;
  Generator generator(g);
  sink.start();
  generator.start();

  auto started = Clock::now();
  wait_for(std::chrono::seconds(1));
  // A director's table must hold every flow before the window opens; give up after 20 s
  // (a configuration that delivers nothing is measured as such).
  while (sink.frames() < spec.flows && Clock::now() - started < std::chrono::seconds(20))
    wait_for(std::chrono::milliseconds(50));
  if (spec.latency) sink.record_latencies();

  Sample s;
  auto t0 = Clock::now();
  auto c0 = cpu_times();
  uint64_t o0 = tx_packets(path.client_netns, path.client_ifname), d0 = sink.frames();
  uint64_t r0 = generator.refused();
  auto cpu0 = setup.director_cpu_ns();
  wait_for(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.seconds)));
  auto t1 = Clock::now();
  auto c1 = cpu_times();
  uint64_t o1 = tx_packets(path.client_netns, path.client_ifname), d1 = sink.frames();
  uint64_t r1 = generator.refused();
  auto cpu1 = setup.director_cpu_ns();
  generator.stop();
  sink.stop();

  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.offered_pps = double(o1 - o0) / s.seconds;
  s.delivered_pps = double(d1 - d0) / s.seconds;
  for (int cpu = 0; cpu < 2; ++cpu)
    s.cpu_busy[cpu] = c1.total[cpu] > c0.total[cpu] ? 100.0 * double(c1.busy[cpu] - c0.busy[cpu]) /
                                                          double(c1.total[cpu] - c0.total[cpu])
                                                    : 0;
  s.sink_ring_drops = sink.ring_drops();
  s.generator_refused = r1 - r0;
  s.latencies_ns = sink.latencies_ns();
  if (cpu0 && cpu1 && d1 > d0) s.director_ns_per_frame = double(*cpu1 - *cpu0) / double(d1 - d0);
  return s;
}

double no_drop_rate(const Setup& setup, RunSpec spec, const Cores& cores, double ceiling_pps,
                    double loss_threshold, int steps) {
  double low = 0, high = ceiling_pps;
  for (int i = 0; i < steps; ++i) {
    spec.rate_pps = (low + high) / 2;
    Sample s = measure(setup, spec, cores);
    // The generator may fall short of the rate asked for: what passed is what was offered.
    if (s.loss() <= loss_threshold)
      low = std::max(low, std::min(spec.rate_pps, s.offered_pps));
    else
      high = spec.rate_pps;
  }
  return low;
}

Percentiles percentiles(std::vector<uint32_t> v) {
  Percentiles p;
  p.count = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, std::size_t(q * double(v.size())))] / 1e3;
  };
  p.p50_us = at(0.5);
  p.p99_us = at(0.99);
  p.p999_us = at(0.999);
  return p;
}

}  // namespace vslab::bench
