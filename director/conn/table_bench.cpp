// Micro-benchmarks of the connection table at 100k and 1M entries: insert, lookups from the
// client and from the server, the per-packet state update and refresh, and expiry. Keys are
// visited in a shuffled order so that the hardware prefetcher cannot follow the pool.
// Each benchmark reports bytes_per_entry (entry plus both indexes' buckets).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "conn/table.h"

namespace vsd {
namespace {

constexpr uint32_t kDestinations = 64;
const Endpoint kVip{Ipv4::from_octets(192, 168, 1, 100), 80};

// 64 ports per client address, so 1M connections come from 16384 clients.
Endpoint client_of(uint32_t i) {
  return Endpoint{Ipv4{0x0a000000u + (i >> 6)}, static_cast<uint16_t>(1024 + (i & 63))};
}
Endpoint server_of(uint32_t i) {
  return Endpoint{Ipv4{0x0a010000u + i % kDestinations}, 8080};
}

NewConn nat_conn(uint32_t i) {
  NewConn c;
  c.proto = Proto::Tcp;
  c.client = client_of(i);
  c.virtual_addr = kVip;
  c.destination = server_of(i);
  c.method = Method::Nat;
  c.dest = i % kDestinations;
  return c;
}

std::vector<uint32_t> shuffled(uint32_t n) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937(1));
  return order;
}

std::unique_ptr<ConnTable> empty_table(uint32_t n) {
  return std::make_unique<ConnTable>(ConnTableConfig{n, kDestinations});
}

// n connections inserted at staggered times over ten seconds from start_ms.
std::unique_ptr<ConnTable> filled_table(uint32_t n, uint64_t start_ms) {
  auto table = empty_table(n);
  for (uint32_t i = 0; i < n; ++i) table->insert(nat_conn(i), start_ms + i % 10'000);
  return table;
}

void report(benchmark::State& state, const ConnTable& table, int64_t items_per_iteration) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * items_per_iteration);
  state.counters["bytes_per_entry"] = table.bytes_per_entry();
}

void BM_Insert(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const auto order = shuffled(n);
  double bytes_per_entry = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = empty_table(n);
    state.ResumeTiming();
    for (uint32_t i : order) benchmark::DoNotOptimize(table->insert(nat_conn(i), 1'000));
    state.PauseTiming();
    bytes_per_entry = table->bytes_per_entry();
    table.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
  state.counters["bytes_per_entry"] = bytes_per_entry;
}

void BM_LookupIn(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  auto table = filled_table(n, 1'000);
  const auto order = shuffled(n);
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table->find_in(Proto::Tcp, client_of(order[next]), kVip));
    if (++next == n) next = 0;
  }
  report(state, *table, 1);
}

void BM_LookupOut(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  auto table = filled_table(n, 1'000);
  const auto order = shuffled(n);
  std::size_t next = 0;
  for (auto _ : state) {
    const uint32_t i = order[next];
    benchmark::DoNotOptimize(table->find_out(Proto::Tcp, server_of(i), client_of(i)));
    if (++next == n) next = 0;
  }
  report(state, *table, 1);
}

// What the data plane does for a packet of a known connection: find it, step its TCP state
// and restart its timeout.
void BM_LookupAndRefresh(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  auto table = filled_table(n, 1'000);
  const auto order = shuffled(n);
  uint64_t now = 20'000;
  std::size_t next = 0;
  for (auto _ : state) {
    Conn* conn = table->find_in(Proto::Tcp, client_of(order[next]), kVip);
    table->on_packet(*conn, PacketFrom::Client, tcp_flag::kAck, now);
    if (++next == n) next = 0;
    if ((next & 1023) == 0) ++now;
  }
  report(state, *table, 1);
}

// Removing every entry of a full table as time passes their deadlines.
void BM_Expire(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  double bytes_per_entry = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto table = filled_table(n, 1'000);  // NONE: 2 s, starts spread over 10 s
    state.ResumeTiming();
    for (uint64_t now = 1'000; now <= 14'000; now += 10) table->expire(now);
    state.PauseTiming();
    if (table->size() != 0) state.SkipWithError("entries left after their deadlines");
    bytes_per_entry = table->bytes_per_entry();
    table.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
  state.counters["bytes_per_entry"] = bytes_per_entry;
}

BENCHMARK(BM_Insert)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_LookupIn)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_LookupOut)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_LookupAndRefresh)->Arg(100'000)->Arg(1'000'000);
BENCHMARK(BM_Expire)->Arg(100'000)->Arg(1'000'000);

}  // namespace
}  // namespace vsd
