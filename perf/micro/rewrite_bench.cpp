// Micro-benchmarks of the header rewrites per forwarding method (director/fwd): NAT both ways,
// DR, TUN encapsulation, FULLNAT both ways, on one 64-byte TCP frame each (Ethernet, IPv4,
// TCP, 10 bytes of payload), and the incremental checksum update against a full recompute.
//
// Each frame is built once and rewritten in place. Between iterations its 54 header bytes are
// restored from a pristine copy (one small memcpy), so that every iteration rewrites the same
// frame: the TTL would otherwise run down and NAT would find its own output. The baseline of
// every rewrite row is that restore alone, timed right after the row (perf/micro/paired.h):
// x_baseline is (restore + rewrite) / restore. TUN writes the outer frame to a second buffer
// and leaves its input alone; it restores all the same, so that its row does the same work.
#include <benchmark/benchmark.h>
#include <tins/tins.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "fwd/checksum.h"
#include "fwd/dr.h"
#include "fwd/fullnat.h"
#include "fwd/nat.h"
#include "fwd/packet.h"
#include "fwd/test_frames.h"
#include "fwd/tun.h"
#include "paired.h"

namespace vsd {
namespace {

namespace t = fwd::testing;
using perf::cpu_ns_per_item;
using perf::thread_cpu_ns;

constexpr std::size_t kHeaderBytes = 14 + 20 + 20;  // Ethernet, IPv4, TCP
constexpr std::size_t kPayloadBytes = 10;           // 64 bytes in all
constexpr uint64_t kMinBaselineItems = 1u << 16;
const std::string kLocalPort = "5000";

struct Frame {
  t::Bytes pristine;
  t::Bytes live;
  fwd::PacketView view;

  void restore() { std::memcpy(live.data(), pristine.data(), kHeaderBytes); }
};

Frame frame_of(Tins::PDU&& pdu) {
  Frame f;
  f.pristine = t::serialize(pdu);
  f.live = f.pristine;
  auto c = fwd::classify(f.pristine);
  if (c.verdict != fwd::Verdict::Ipv4) throw std::logic_error("benchmark frame does not classify");
  f.view = c.packet;
  return f;
}

Frame tcp_frame(const std::string& eth_src, const std::string& eth_dst, const std::string& src,
                const std::string& dst, uint16_t sport, uint16_t dport) {
  return frame_of(t::ethernet(eth_src, eth_dst) / t::ipv4(src, dst) /
                  t::tcp(sport, dport, Tins::TCP::ACK) /
                  Tins::RawPDU(t::payload_bytes(kPayloadBytes)));
}

Frame client_to_vip() {
  return tcp_frame(t::kClientMac, t::kDirectorExtMac, t::kCip, t::kVip, 40000, 80);
}
Frame rs_to_client() {
  return tcp_frame(t::kRsMac, t::kDirectorIntMac, t::kRip, t::kCip, 8080, 40000);
}
Frame rs_to_local() {
  return tcp_frame(t::kRsMac, t::kDirectorIntMac, t::kRip, t::kLip, 8080, 5000);
}

const fwd::EthAddrs kToRs{t::mac(t::kDirectorIntMac), t::mac(t::kRsMac)};
const fwd::EthAddrs kToClient{t::mac(t::kDirectorExtMac), t::mac(t::kRouterMac)};
const Endpoint kRs{t::ip(t::kRip), 8080};
const Endpoint kVipPort{t::ip(t::kVip), 80};
const Endpoint kClient{t::ip(t::kCip), 40000};
const Endpoint kLocal{t::ip(t::kLip), 5000};

// The row: restore + rewrite per iteration; then the restore alone over as many iterations.
template <class Rewrite>
void rewrite_row(benchmark::State& state, Frame f, Rewrite rewrite) {
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    f.restore();
    rewrite(f);
    benchmark::ClobberMemory();
  }
  const uint64_t items = state.iterations();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  const double base_ns = cpu_ns_per_item(std::max(items, kMinBaselineItems), [&](uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      f.restore();
      benchmark::ClobberMemory();
    }
  });
  state.SetItemsProcessed(static_cast<int64_t>(items));
  perf::report_paired(state, row_ns, base_ns);
}

void BM_baseline_restore(benchmark::State& state) {
  Frame f = client_to_vip();
  for (auto _ : state) {
    f.restore();
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_nat_in(benchmark::State& state) {
  rewrite_row(state, client_to_vip(), [](Frame& f) { fwd::nat_in(f.live, f.view, kRs, kToRs); });
}

void BM_nat_out(benchmark::State& state) {
  rewrite_row(state, rs_to_client(),
              [](Frame& f) { fwd::nat_out(f.live, f.view, kVipPort, kToClient); });
}

void BM_dr(benchmark::State& state) {
  rewrite_row(state, client_to_vip(), [](Frame& f) { fwd::dr_forward(f.live, f.view, kToRs); });
}

void BM_tun(benchmark::State& state) {
  std::vector<uint8_t> out(2048);
  const fwd::TunnelParams tunnel{t::ip(t::kDip), t::ip(t::kRip), 1500, 1, kToRs};
  rewrite_row(state, client_to_vip(), [&](Frame& f) {
    auto r = fwd::tun_encapsulate(f.live, f.view, tunnel, out);
    benchmark::DoNotOptimize(r);
  });
}

void BM_fullnat_in(benchmark::State& state) {
  rewrite_row(state, client_to_vip(),
              [](Frame& f) { fwd::fullnat_in(f.live, f.view, kLocal, kRs, kToRs); });
}

void BM_fullnat_out(benchmark::State& state) {
  rewrite_row(state, rs_to_local(),
              [](Frame& f) { fwd::fullnat_out(f.live, f.view, kVipPort, kClient, kToClient); });
}

// --- checksums: what NAT does to the TCP checksum when VIP:vport becomes RIP:rport ----------

// RFC 1624 on the checksum alone: one address (two words) and one port change, from the same
// starting value every time, so that items are independent as the frames of a batch are.
const uint32_t kVipValue = t::ip(t::kVip).value;
const uint32_t kRipValue = t::ip(t::kRip).value;

inline void incremental_update() {
  uint16_t checksum = 0x1234;
  benchmark::DoNotOptimize(checksum);
  checksum = fwd::checksum_update32(checksum, kVipValue, kRipValue);
  checksum = fwd::checksum_update16(checksum, 80, 8080);
  benchmark::DoNotOptimize(checksum);
}

double incremental_ns(uint64_t items) {
  return cpu_ns_per_item(items, [](uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) incremental_update();
  });
}

void BM_checksum_incremental(benchmark::State& state) {
  for (auto _ : state) incremental_update();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// The TCP checksum recomputed over the whole segment (pseudo-header included) of a frame of
// state.range(0) bytes; paired with the incremental update: x_baseline = full / incremental.
void BM_checksum_full(benchmark::State& state) {
  const std::size_t frame_bytes = static_cast<std::size_t>(state.range(0));
  Frame f = frame_of(t::ethernet(t::kClientMac, t::kDirectorExtMac) / t::ipv4(t::kCip, t::kVip) /
                     t::tcp(40000, 80, Tins::TCP::ACK) /
                     Tins::RawPDU(t::payload_bytes(frame_bytes - kHeaderBytes)));
  const std::span<const uint8_t> segment(f.live.data() + f.view.l4, f.view.l4_len());
  const Ipv4 src = f.view.src, dst = f.view.dst;
  const double start = thread_cpu_ns();
  for (auto _ : state) benchmark::DoNotOptimize(fwd::tcp_checksum(src, dst, segment));
  const uint64_t items = state.iterations();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  state.SetItemsProcessed(static_cast<int64_t>(items));
  perf::report_paired(state, row_ns, incremental_ns(std::max(items, kMinBaselineItems)));
}

BENCHMARK(BM_baseline_restore);
BENCHMARK(BM_nat_in);
BENCHMARK(BM_nat_out);
BENCHMARK(BM_dr);
BENCHMARK(BM_tun);
BENCHMARK(BM_fullnat_in);
BENCHMARK(BM_fullnat_out);
BENCHMARK(BM_checksum_incremental);
BENCHMARK(BM_checksum_full)->Arg(64)->Arg(1514);

}  // namespace
}  // namespace vsd

BENCHMARK_MAIN();
