// The load generator of `vslab bench`: a TPACKET_V2 TX ring filled once with pre-built UDP
// frames, one flow per slot, sent 256 at a time with one send() each (the pattern of
// the generator of docs/benchmarking.md, which trafgen reaches 0.92 of). Runs in a thread of its
// own, pinned, inside the client's namespace. With more flows than slots, each slot is re-addressed
// to the next flow as it comes round again (a few stores and two incremental checksums per frame).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "net/addr.h"
#include "net/ip6.h"

namespace vslab::bench {

// The payload of a stamped frame (latency runs), right after the UDP header.
struct Stamp {
  static constexpr uint32_t kMagic = 0x76736c62;  // "vslb"
  static constexpr std::size_t kOffset = 14 + 20 + 8;
  // Behind an IPv6 header, 20 bytes further in (which is also where an IPv4 TUN frame has it).
  static constexpr std::size_t kOffset6 = 14 + 40 + 8;
  static constexpr std::size_t offset(int family) { return family == 6 ? kOffset6 : kOffset; }
  uint32_t magic;
  uint32_t sequence;
  uint64_t sent_ns;  // CLOCK_REALTIME, as the kernel stamps received frames
};

struct GeneratorConfig {
  std::string netns;   // the client's namespace
  std::string ifname;  // its port
  vsd::Mac dst_mac;    // the next hop: the director's port, or the sink itself (raw)
  int family = 4;      // 6: IPv6 frames from src_ip6 to dst_ip6
  vsd::Ipv4 src_ip;    // flow i comes from src_ip + i / 60000, port 1024 + i % 60000
  vsd::Ipv4 dst_ip;    // the VIP
  vsd::Ip6 src_ip6{};  // flow i: i / 60000 added to the last 32 bits
  vsd::Ip6 dst_ip6{};
  uint16_t dst_port = 80;
  uint32_t frame_size = 60;  // bytes without the FCS: 60 is a 64-byte frame on a wire
  uint32_t flows = 4096;
  double rate_pps = 0;  // 0: as fast as the core goes
  // Write a Stamp into every frame as it is sent: no UDP checksum then in IPv4; IPv6 has no
  // such option, so its checksum is computed again with the stamp.
  bool stamp = false;
  int core = 0;
};

class Generator {
 public:
  // Opens the ring inside the namespace and builds the frames; throws on failure.
  explicit Generator(const GeneratorConfig& config);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  void start();
  void stop();
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

  static constexpr uint32_t kPortsPerAddress = 60000;

 private:
  struct Ring;
  void run();

  GeneratorConfig config_;
  Ring* ring_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, refused_{0};
};

}  // namespace vslab::bench
