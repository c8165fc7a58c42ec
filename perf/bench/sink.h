// The sink of `vslab bench`: a TPACKET_V3 RX ring on the real server's port that counts what
// arrives. Rate runs count each block's frames without touching them; latency runs read the
// Stamp of every frame against the kernel's receive timestamp. The real server's namespace
// drops IPv4, and IPv6's UDP and ip6ip6, at its netdev ingress (after this tap), so its kernel
// neither answers nor spends a cycle on the load, in every configuration alike.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace vslab::bench {

class RxRing;

struct SinkConfig {
  std::string netns, ifname;
  bool latency = false;
  int core = 0;
};

class Sink {
 public:
  explicit Sink(const SinkConfig& config);  // opens the ring in the namespace
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void start();
  void stop();
  uint64_t frames() const { return frames_.load(std::memory_order_relaxed); }
  // Latency runs: keep the latencies of what arrives from now on (after the warm-up).
  void record_latencies() { recording_ = true; }
  // After stop(): the one-way latencies (ns) of the stamped frames, in arrival order.
  const std::vector<uint32_t>& latencies_ns() const { return latencies_; }
  uint64_t ring_drops() const { return ring_drops_; }

 private:
  void run();

  SinkConfig config_;
  std::unique_ptr<RxRing> ring_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> recording_{false};
  std::atomic<uint64_t> frames_{0};
  uint64_t ring_drops_ = 0;
  std::vector<uint32_t> latencies_;
};

// Installs the sink's ingress filter (IPv4 dropped after the tap, ARP let through so the
// real server still answers for its addresses) in the calling thread's namespace.
void install_sink_filter(const std::string& ifname);

}  // namespace vslab::bench
