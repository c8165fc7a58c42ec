#include "bench/generator.h"

#include <arpa/inet.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

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

void put16(uint8_t* at, uint16_t v) {
  at[0] = uint8_t(v >> 8);
  at[1] = uint8_t(v);
}
void put32(uint8_t* at, uint32_t v) {
  put16(at, uint16_t(v >> 16));
  put16(at + 2, uint16_t(v));
}
uint16_t get16(const uint8_t* at) {
  return uint16_t(at[0] << 8 | at[1]);
}

uint32_t flow_address(const GeneratorConfig& c, uint32_t flow) {
  return c.src_ip.value + flow / Generator::kPortsPerAddress;
}
uint16_t flow_port(uint32_t flow) {
  return uint16_t(1024 + flow % Generator::kPortsPerAddress);
}

// Ethernet / IPv4 / UDP to dst_ip:dst_port from the flow's address and port.
void build_frame(const GeneratorConfig& c, const vsd::Mac& src_mac, uint32_t flow, uint8_t* f) {
  std::memset(f, 0, c.frame_size);
  std::memcpy(f, c.dst_mac.bytes.data(), 6);
  std::memcpy(f + 6, src_mac.bytes.data(), 6);
  put16(f + 12, 0x0800);
  uint8_t* ip = f + 14;
  uint16_t ip_length = uint16_t(c.frame_size - 14);
  ip[0] = 0x45;
  put16(ip + 2, ip_length);
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = 17;
  put32(ip + 12, flow_address(c, flow));
  put32(ip + 16, c.dst_ip.value);
  put16(ip + 10, vsd::fwd::ipv4_header_checksum({ip, 20}));
  uint8_t* udp = ip + 20;
  put16(udp, flow_port(flow));
  put16(udp + 2, c.dst_port);
  put16(udp + 4, uint16_t(ip_length - 20));
  if (!c.stamp)
    put16(udp + 6, vsd::fwd::udp_checksum(vsd::Ipv4::from_host(flow_address(c, flow)), c.dst_ip,
                                          {udp, std::size_t(ip_length - 20)}));
}

// Moves a frame from one flow to another: source address and port, both checksums.
void readdress(const GeneratorConfig& c, uint8_t* f, uint32_t from, uint32_t to) {
  uint8_t* ip = f + 14;
  uint8_t* udp = ip + 20;
  uint32_t old_address = flow_address(c, from), new_address = flow_address(c, to);
  uint16_t old_port = flow_port(from), new_port = flow_port(to);
  if (old_address != new_address) {
    put32(ip + 12, new_address);
    put16(ip + 10, vsd::fwd::checksum_update32(get16(ip + 10), old_address, new_address));
    put16(udp + 6, vsd::fwd::udp_checksum_update32(get16(udp + 6), old_address, new_address));
  }
  put16(udp, new_port);
  put16(udp + 6, vsd::fwd::udp_checksum_update16(get16(udp + 6), old_port, new_port));
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
  auto ring = std::make_unique<Ring>();
  {
    topo::NetnsGuard in(config_.netns);
    uint32_t slot_bytes = 128;
    while (slot_bytes < TxRing::kDataOffset + config_.frame_size) slot_bytes <<= 1;
    uint32_t most = uint32_t(kRingBytes / slot_bytes);
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
        std::memcpy(f + Stamp::kOffset, &s, sizeof s);
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
