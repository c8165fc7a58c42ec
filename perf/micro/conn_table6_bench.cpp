// The IPv6 connection table (conn/table6.h) against the IPv4 one (conn/table.h), in the same
// process: each row fills both with the same n NAT connections (IPv6 addresses made from the
// IPv4 ones) and times a lookup of every key in one shuffled order in each, the IPv4 table
// right after the IPv6 one (perf/micro/paired.h), so the row's v6_over_v4 is the figure to
// quote. Plain: one lookup at a time, each on its own. LookAhead: as the data plane looks up a
// batch of frames (vsd/dataplane.h prefetch, io/port.h kLookAheadDistance): the bucket of the
// key 6 ahead, the entry of the key 4 ahead and the chain of the key 2 ahead, then the lookup.
// NodeMapBefore: the IPv6 table's former layout (a std::unordered_map), against the same IPv4
// lookups, for the figure before the change.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <unordered_map>
#include <vector>

#include "conn/table.h"
#include "conn/table6.h"
#include "io/port.h"
#include "paired.h"

namespace vsd {
namespace {

using perf::thread_cpu_ns;

constexpr uint32_t kDestinations = 64;
constexpr uint64_t kMinItems = 1u << 18;  // each side times at least this many lookups
const Endpoint kVip{Ipv4::from_octets(192, 168, 1, 100), 80};

Endpoint client_of(uint32_t i) {
  return Endpoint{Ipv4{0x0a000000u + (i >> 6)}, static_cast<uint16_t>(1024 + (i & 63))};
}
Endpoint server_of(uint32_t i) {
  return Endpoint{Ipv4{0x0a010000u + i % kDestinations}, 8080};
}
// fd00::<IPv4 address>, as a dual-stack site might number the same hosts.
Endpoint6 v6(Endpoint e) {
  Ip6 a{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (int b = 0; b < 4; ++b) a[std::size_t(12 + b)] = uint8_t(e.addr.value >> (24 - 8 * b));
  return {a, e.port};
}
FlowKey6 key6_of(uint32_t i) {
  return {Proto::Tcp, v6(client_of(i)), v6(kVip)};
}

struct Tables {
  std::unique_ptr<ConnTable> v4;
  std::unique_ptr<Conn6Table> v6;
  std::vector<uint32_t> order;
};

// Built once per size: Google Benchmark calls a row several times.
Tables& tables(uint32_t n) {
  static std::map<uint32_t, Tables> built;
  Tables& t = built[n];
  if (t.v4) return t;
  t.v4 = std::make_unique<ConnTable>(ConnTableConfig{n, kDestinations});
  t.v6 = std::make_unique<Conn6Table>(n);
  for (uint32_t i = 0; i < n; ++i) {
    NewConn c;
    c.client = client_of(i);
    c.virtual_addr = kVip;
    c.destination = server_of(i);
    c.dest = i % kDestinations;
    t.v4->insert(c, 1'000);
    t.v6->insert(key6_of(i), v6(server_of(i)), Method::Nat, i % kDestinations, 1'000);
  }
  t.order.resize(n);
  std::iota(t.order.begin(), t.order.end(), 0u);
  std::shuffle(t.order.begin(), t.order.end(), std::mt19937(1));
  return t;
}

// CPU ns per lookup of `items` keys in shuffled order; lookup(i, k) looks key order[k] up, k
// counting on past n so that a look-ahead can name the keys after it.
template <class Lookup>
double ns_per_lookup(uint64_t items, Lookup&& lookup) {
  const double start = thread_cpu_ns();
  for (uint64_t k = 0; k < items; ++k) lookup(k);
  return (thread_cpu_ns() - start) / double(items);
}

void report(benchmark::State& state, double v6_ns, double v4_ns) {
  state.counters["v6_cpu_ns"] = v6_ns;
  state.counters["v4_cpu_ns"] = v4_ns;
  state.counters["v6_over_v4"] = v6_ns / v4_ns;
}

void BM_LookupIn6vs4_Plain(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Tables& t = tables(n);
  double v6_ns = 0, v4_ns = 0;
  for (auto _ : state) {
    const uint64_t items = std::max<uint64_t>(n, kMinItems);
    auto at = [&](uint64_t k) { return t.order[k % n]; };
    v6_ns = ns_per_lookup(
        items, [&](uint64_t k) { benchmark::DoNotOptimize(t.v6->find_in(key6_of(at(k)))); });
    v4_ns = ns_per_lookup(items, [&](uint64_t k) {
      benchmark::DoNotOptimize(t.v4->find_in(Proto::Tcp, client_of(at(k)), kVip));
    });
  }
  report(state, v6_ns, v4_ns);
}

void BM_LookupIn6vs4_LookAhead(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Tables& t = tables(n);
  constexpr std::size_t kSlots = 8;
  constexpr std::size_t kBucket = kLookAheadDistance[0], kEntry = kLookAheadDistance[1],
                        kChain = kLookAheadDistance[2];
  double v6_ns = 0, v4_ns = 0;
  for (auto _ : state) {
    const uint64_t items = std::max<uint64_t>(n, kMinItems);
    auto at = [&](uint64_t k) { return t.order[k % n]; };
    std::array<Conn6Table::Hint, kSlots> hints6{};
    v6_ns = ns_per_lookup(items, [&](uint64_t k) {
      hints6[(k + kBucket) % kSlots] = t.v6->prefetch_in(key6_of(at(k + kBucket)));
      t.v6->prefetch_entry(hints6[(k + kEntry) % kSlots]);
      t.v6->prefetch_chain(hints6[(k + kChain) % kSlots]);
      benchmark::DoNotOptimize(t.v6->find_in(key6_of(at(k)), &hints6[k % kSlots]));
    });
    std::array<ConnTable::Hint, kSlots> hints4{};
    v4_ns = ns_per_lookup(items, [&](uint64_t k) {
      hints4[(k + kBucket) % kSlots] =
          t.v4->prefetch_in(Proto::Tcp, client_of(at(k + kBucket)), kVip);
      t.v4->prefetch_entry(hints4[(k + kEntry) % kSlots]);
      t.v4->prefetch_chain(hints4[(k + kChain) % kSlots]);
      benchmark::DoNotOptimize(
          t.v4->find_in(Proto::Tcp, client_of(at(k)), kVip, &hints4[k % kSlots]));
    });
  }
  report(state, v6_ns, v4_ns);
}

// What the IPv6 table was before it took the IPv4 table's index: a std::unordered_map node per
// connection (key and a connection's worth of payload), the key hashed byte by byte (FNV-1a).
struct FnvKey6Hash {
  std::size_t operator()(const FlowKey6& k) const noexcept {
    uint64_t h = 0xcbf29ce484222325ull ^ uint8_t(k.proto);
    auto mix = [&h](uint8_t b) { h = (h ^ b) * 0x100000001b3ull; };
    for (const Endpoint6* e : {&k.from, &k.to}) {
      for (uint8_t b : e->addr) mix(b);
      mix(uint8_t(e->port >> 8));
      mix(uint8_t(e->port));
    }
    return std::size_t(h);
  }
};
using NodeMap6 = std::unordered_map<FlowKey6, std::array<uint8_t, 72>, FnvKey6Hash>;

void BM_LookupIn6vs4_NodeMapBefore(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Tables& t = tables(n);
  static std::map<uint32_t, NodeMap6> maps;
  NodeMap6& m = maps[n];
  if (m.empty())
    for (uint32_t i = 0; i < n; ++i) m[key6_of(i)] = {};
  double v6_ns = 0, v4_ns = 0;
  for (auto _ : state) {
    const uint64_t items = std::max<uint64_t>(n, kMinItems);
    auto at = [&](uint64_t k) { return t.order[k % n]; };
    v6_ns =
        ns_per_lookup(items, [&](uint64_t k) { benchmark::DoNotOptimize(m.find(key6_of(at(k)))); });
    v4_ns = ns_per_lookup(items, [&](uint64_t k) {
      benchmark::DoNotOptimize(t.v4->find_in(Proto::Tcp, client_of(at(k)), kVip));
    });
  }
  report(state, v6_ns, v4_ns);
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);
}

BENCHMARK(BM_LookupIn6vs4_Plain)->Apply(sizes);
BENCHMARK(BM_LookupIn6vs4_LookAhead)->Apply(sizes);
BENCHMARK(BM_LookupIn6vs4_NodeMapBefore)->Apply(sizes);

}  // namespace
}  // namespace vsd

BENCHMARK_MAIN();
