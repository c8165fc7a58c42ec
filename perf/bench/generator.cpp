#include "bench/generator.h"

#include <arpa/inet.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "bench/frames.h"
#include "bench/rings.h"
#include "fwd/checksum.h"
#include "topology/netns.h"

namespace vslab::bench {
namespace {

constexpr uint32_t kBatch = 256;
constexpr std::size_t kRingBytes = 32u << 20;

uint64_t now_ns(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return uint64_t(t.tv_sec) * 1000000000u + uint64_t(t.tv_nsec);
}

}  // namespace

struct Generator::Ring {
  std::unique_ptr<TxRing> tx;
  std::vector<uint32_t> slot_flow;  // the flow each slot holds now
  uint32_t next_flow = 0;           // the next flow to put into a slot coming round again
  bool readdressing = false;
};

Generator::Generator(const GeneratorConfig& config) : config_(config) {
  if (config_.frame_size < 60 || config_.frame_size > 1514)
    throw std::invalid_argument("frame size must be 64..1518 bytes with the FCS");
  if (config_.frame_size < frame_size_for(config_.family, 0, config_.stamp))
    throw std::invalid_argument("frame size too small for an IPv6 frame (frame_size_for)");
  auto ring = std::make_unique<Ring>();
  {
    topo::NetnsGuard in(config_.netns);
    uint32_t most = uint32_t(kRingBytes / TxRing::slot_bytes(config_.frame_size));
    uint32_t slots = std::clamp<uint32_t>(config_.flows, std::min<uint32_t>(4096, most), most);
    ring->tx = std::make_unique<TxRing>(config_.ifname, config_.frame_size, slots);
    vsd::Mac src_mac = interface_mac(config_.ifname);
    ring->readdressing = config_.flows > ring->tx->slots();
    ring->slot_flow.resize(ring->tx->slots());
    for (uint32_t s = 0; s < ring->tx->slots(); ++s) {
      ring->slot_flow[s] = s % config_.flows;
      build_frame(config_, src_mac, ring->slot_flow[s], ring->tx->data(s));
    }
    ring->next_flow = ring->tx->slots() % config_.flows;
  }
  ring_ = ring.release();
}

Generator::~Generator() {
  stop();
  delete ring_;
}

void Generator::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Generator::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Generator::run() {
  pin_to_core(config_.core);
  TxRing& tx = *ring_->tx;
  const uint32_t slots = tx.slots();
  uint32_t slot = 0, sequence = 0;
  pollfd pfd{tx.fd(), POLLOUT, 0};
  // Pacing: batches small enough that a rate is met within about 0.1 ms.
  const uint32_t batch = config_.rate_pps > 0
                             ? std::clamp<uint32_t>(uint32_t(config_.rate_pps / 10000), 1, kBatch)
                             : kBatch;
  uint64_t next_ns = now_ns(CLOCK_MONOTONIC);
  while (!stop_.load(std::memory_order_relaxed)) {
    uint32_t queued = 0;
    for (; queued < batch; ++queued) {
      if (!tx.is_free(slot)) break;
      uint8_t* f = tx.data(slot);
      if (ring_->readdressing) {
        readdress(config_, f, ring_->slot_flow[slot], ring_->next_flow);
        ring_->slot_flow[slot] = ring_->next_flow;
        ring_->next_flow = ring_->next_flow + 1 == config_.flows ? 0 : ring_->next_flow + 1;
      }
      if (config_.stamp) {
        Stamp s{Stamp::kMagic, sequence++, now_ns(CLOCK_REALTIME)};
        std::memcpy(f + Stamp::offset(config_.family), &s, sizeof s);
        if (config_.family == 6) refresh_udp_checksum6(config_, f);
      }
      tx.submit(slot, config_.frame_size);
      slot = slot + 1 == slots ? 0 : slot + 1;
    }
    if (!tx.kick()) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      poll(&pfd, 1, 1);
    }
    sent_.fetch_add(queued, std::memory_order_relaxed);
    if (queued == 0) poll(&pfd, 1, 1);
    if (config_.rate_pps > 0) {
      next_ns += uint64_t(double(queued) * 1e9 / config_.rate_pps);
      for (;;) {
        uint64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= next_ns) break;
        if (next_ns - now > 200000) {
          timespec t{0, long((next_ns - now) / 2)};
          nanosleep(&t, nullptr);
        }
      }
    }
  }
}

}  // namespace vslab::bench
