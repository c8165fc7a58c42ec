// The AF_PACKET ceiling of `vslab bench`: the least an AF_PACKET director can do per frame.
// vsd's own TPACKET_V2 RX ring (io/rx_ring.h) on the director's client-side port, the same
// netdev ingress drop vsd installs (vsd::IngressDrop), and a TPACKET_V2 TX ring on the
// server-side port; per frame the MACs, the TTL and a NAT of the destination address (round
// robin over the real servers, RFC 1624 updates of the IP and UDP/TCP checksums), one send()
// per batch of what was ready (256 frames at most, as vsd's drain()), and vsd's idle spin
// before it sleeps in poll() (io/idle_spin.h). The rewrite matches what the AF_PACKET
// forwarder of docs/benchmarking.md measured (0.72 of raw with the drop). IPv6 frames get
// vsd's own IPv6 NAT rewrite (fwd::nat_in6: hop limit, destination, UDP checksum), so the
// bounce stays the ceiling of vsd's IPv6 path too.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/setups.h"
#include "net/addr.h"
#include "net/ip6.h"

namespace vslab::bench {

struct BounceConfig {
  std::string netns, in_ifname, out_ifname;
  vsd::Mac next_hop;                  // the real server's MAC
  std::vector<vsd::Ipv4> rewrite_to;  // the real servers' addresses
  std::vector<vsd::Ip6> rewrite_to6;  // the same in IPv6
  Cores cores;                        // the director's core and priority are the bounce's
  unsigned idle_spin_us = 0;
};

class BounceForwarder {
 public:
  // Opens both rings and installs the ingress drop inside the namespace.
  explicit BounceForwarder(const BounceConfig& config);
  ~BounceForwarder();
  BounceForwarder(const BounceForwarder&) = delete;
  BounceForwarder& operator=(const BounceForwarder&) = delete;

  void start();
  void stop();
  uint64_t forwarded() const { return forwarded_.load(std::memory_order_relaxed); }
  uint64_t cpu_ns() const;  // the forwarding thread's CPU time

 private:
  struct Rings;
  void run();
  // Rewrites one frame and queues it in TX slot `slot`; false when it is not forwarded.
  bool forward(uint8_t* frame, uint32_t length, uint32_t slot, std::size_t& next_server);
  bool forward6(uint8_t* frame, uint32_t length, std::size_t& next_server);

  BounceConfig config_;
  std::unique_ptr<Rings> rings_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> forwarded_{0};
};

}  // namespace vslab::bench
