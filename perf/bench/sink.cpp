#include "bench/sink.h"

#include <cstring>
#include <stdexcept>

#include "bench/generator.h"
#include "bench/rings.h"
#include "topology/netns.h"

namespace vslab::bench {

Sink::Sink(const SinkConfig& config) : config_(config) {
  topo::NetnsGuard in(config_.netns);
  ring_ = std::make_unique<RxRing>(config_.ifname, 64, 1);
  ring_->take_drops();
}

Sink::~Sink() {
  stop();
}

void Sink::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Sink::stop() {
  stop_ = true;
  if (thread_.joinable()) {
    thread_.join();
    ring_drops_ = ring_->take_drops();
  }
}

void Sink::run() {
  pin_to_core(config_.core);
  if (config_.latency) latencies_.reserve(1 << 20);
  while (!stop_.load(std::memory_order_relaxed)) {
    if (!ring_->wait(20)) continue;
    while (tpacket_block_desc* block = ring_->ready_block()) {
      if (config_.latency && recording_.load(std::memory_order_relaxed)) {
        RxRing::for_each_frame(block, [&](const tpacket3_hdr& h, const uint8_t* f) {
          // The Stamp sits after the UDP header; a TUN frame carries an outer header more in
          // front (IPv4's 20 bytes is where IPv6's stamp is; ip6ip6 adds 40).
          for (std::size_t at : {Stamp::kOffset, Stamp::kOffset6, Stamp::kOffset6 + 40}) {
            Stamp s;
            if (h.tp_snaplen < at + sizeof s) break;
            std::memcpy(&s, f + at, sizeof s);
            if (s.magic != Stamp::kMagic) continue;
            uint64_t got = uint64_t(h.tp_sec) * 1000000000u + h.tp_nsec;
            if (got > s.sent_ns && got - s.sent_ns < UINT32_MAX)
              latencies_.push_back(uint32_t(got - s.sent_ns));
            break;
          }
        });
      }
      frames_.fetch_add(block->hdr.bh1.num_pkts, std::memory_order_relaxed);
      ring_->release_block();
    }
  }
}

void install_sink_filter(const std::string& ifname) {
  std::string table = "vslab_sink";
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"nft", "add", "table", "netdev", table},
           {"nft", "add", "chain", "netdev", table, "in",
            "{ type filter hook ingress device \"" + ifname + "\" priority 0; policy accept; }"},
           {"nft", "add", "rule", "netdev", table, "in", "ether", "type", "ip", "drop"},
           // IPv6's load only (UDP, and ip6ip6 for TUN): neighbour discovery must still reach
           // the real server's kernel.
           {"nft", "add", "rule", "netdev", table, "in", "ip6", "nexthdr", "{ 17, 41 }", "drop"}}) {
    auto r = topo::run_command(argv);
    if (!r.ok())
      throw std::runtime_error("sink filter on " + ifname + ": " + topo::shell_quote(argv) + ": " +
                               r.output);
  }
}

}  // namespace vslab::bench
