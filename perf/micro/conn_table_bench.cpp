// Micro-benchmarks of the connection table at 1k, 100k, 1M and 10M entries: insert, lookups from
// the client and from the server, the per-packet state update and refresh, and expiry. Keys
// are visited in a shuffled order so that the hardware prefetcher cannot follow the pool.
// Every row reports bytes_per_entry (entry plus both indexes' buckets, as the table counts
// them) and what building its table really cost the process (table_MiB: resident memory
// grown, thp_MiB: how much of it is transparent huge pages), and is paired with a baseline
// timed right after it (perf/micro/paired.h): the same operation on std::unordered_map, with
// the same keys in the same order.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <unordered_map>
#include <vector>

#include "conn/table.h"
#include "paired.h"

namespace vsd {
namespace {

using perf::cpu_ns_per_item;
using perf::thread_cpu_ns;

constexpr uint32_t kDestinations = 64;
// A baseline run times at least this many items, however few the row it follows.
constexpr uint64_t kMinBaselineItems = 1u << 16;
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

const std::vector<uint32_t>& shuffled(uint32_t n) {
  static std::map<uint32_t, std::vector<uint32_t>> cache;
  auto& order = cache[n];
  if (order.empty()) {
    order.resize(n);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), std::mt19937(1));
  }
  return order;
}

// The process's resident memory and the part of it in transparent huge pages, in MiB.
struct Memory {
  double rss_mib = 0;
  double thp_mib = 0;
};

Memory process_memory() {
  Memory m;
  if (FILE* f = std::fopen("/proc/self/smaps_rollup", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long kib = 0;
      if (std::sscanf(line, "Rss: %lu kB", &kib) == 1) m.rss_mib = double(kib) / 1024;
      if (std::sscanf(line, "AnonHugePages: %lu kB", &kib) == 1) m.thp_mib = double(kib) / 1024;
    }
    std::fclose(f);
  }
  return m;
}

// A table of capacity n, and what its construction added to the process (the constructor
// writes every entry and bucket, so all of it is resident from the start).
struct Built {
  std::unique_ptr<ConnTable> table;
  Memory grown;
};

Built empty_table(uint32_t n) {
  // Free heap pages go back to the kernel first, so that whatever the table takes from the
  // heap shows as resident memory grown.
  malloc_trim(0);
  const Memory before = process_memory();
  Built b{std::make_unique<ConnTable>(ConnTableConfig{n, kDestinations}), {}};
  const Memory after = process_memory();
  b.grown = {after.rss_mib - before.rss_mib, after.thp_mib - before.thp_mib};
  return b;
}

// n connections inserted at staggered times over ten seconds from start_ms.
Built filled_table(uint32_t n, uint64_t start_ms) {
  auto b = empty_table(n);
  for (uint32_t i = 0; i < n; ++i) b.table->insert(nat_conn(i), start_ms + i % 10'000);
  return b;
}

// The full table the lookup rows share, built once per size: Google Benchmark calls a row
// several times while it finds its iteration count, and building 10M entries takes seconds.
Built& shared_table(uint32_t n) {
  static std::map<uint32_t, Built> tables;
  auto& b = tables[n];
  if (!b.table) b = filled_table(n, 1'000);
  return b;
}

// The baselines: std::unordered_map, what one would pick instead, keyed by the client's
// address and port (the VIP is the same for every key) and holding an entry index, with its
// buckets reserved up front as the table's are. Same keys, same shuffled order.
using Map = std::unordered_map<uint64_t, uint32_t>;

uint64_t map_key(uint32_t i) {
  const Endpoint c = client_of(i);
  return uint64_t{c.addr.value} << 16 | c.port;
}

const Map& filled_map(uint32_t n) {
  static std::map<uint32_t, Map> maps;
  auto& m = maps[n];
  if (m.empty()) {
    m.reserve(n);
    for (uint32_t i = 0; i < n; ++i) m.emplace(map_key(i), i);
  }
  return m;
}

// CPU ns per find in a map of n keys, over `items` finds.
double map_find_ns(uint32_t n, uint64_t items) {
  const Map& m = filled_map(n);
  const auto& order = shuffled(n);
  items = std::max<uint64_t>(items, kMinBaselineItems);
  return cpu_ns_per_item(items, [&](uint64_t count) {
    std::size_t next = 0;
    for (uint64_t k = 0; k < count; ++k) {
      benchmark::DoNotOptimize(m.find(map_key(order[next])));
      if (++next == n) next = 0;
    }
  });
}

// CPU ns per emplace of n keys into an empty reserved map, and per erase of them all again.
struct MapChurn {
  double insert_ns = 0;
  double erase_ns = 0;
};

MapChurn map_churn_once(uint32_t n);

// A first churn, untimed, brings the heap pages back (empty_table() gave them to the kernel;
// the table, built outside the timing, pays no page faults either); the second is timed.
MapChurn map_churn_ns(uint32_t n) {
  map_churn_once(n);
  return map_churn_once(n);
}

MapChurn map_churn_once(uint32_t n) {
  const auto& order = shuffled(n);
  Map m;
  m.reserve(n);
  MapChurn r;
  r.insert_ns = cpu_ns_per_item(n, [&](uint64_t) {
    for (uint32_t i : order) m.emplace(map_key(i), i);
  });
  r.erase_ns = cpu_ns_per_item(n, [&](uint64_t) {
    for (uint32_t i : order) m.erase(map_key(i));
  });
  return r;
}

void report(benchmark::State& state, const Built& built, uint64_t items, double row_cpu_ns,
            double baseline_cpu_ns) {
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["bytes_per_entry"] = built.table->bytes_per_entry();
  state.counters["table_MiB"] = built.grown.rss_mib;
  state.counters["thp_MiB"] = built.grown.thp_mib;
  perf::report_paired(state, row_cpu_ns, baseline_cpu_ns);
}

void BM_Insert(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const auto& order = shuffled(n);
  Built last;
  double cpu_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    last = {};
    last = empty_table(n);
    state.ResumeTiming();
    const double start = thread_cpu_ns();
    for (uint32_t i : order) benchmark::DoNotOptimize(last.table->insert(nat_conn(i), 1'000));
    cpu_ns += thread_cpu_ns() - start;
  }
  const uint64_t items = state.iterations() * n;
  report(state, last, items, cpu_ns / double(items), map_churn_ns(n).insert_ns);
}

// A lookup per iteration, of the table's keys in shuffled order, paired with the map's.
template <class Lookup>
void lookups(benchmark::State& state, Lookup&& lookup) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Built& built = shared_table(n);
  const auto& order = shuffled(n);
  std::size_t next = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    lookup(*built.table, order[next]);
    if (++next == n) next = 0;
  }
  const uint64_t items = state.iterations();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  report(state, built, items, row_ns, map_find_ns(n, items));
}

void BM_LookupIn(benchmark::State& state) {
  lookups(state, [](auto& table, uint32_t i) {
    benchmark::DoNotOptimize(table.find_in(Proto::Tcp, client_of(i), kVip));
  });
}

void BM_LookupOut(benchmark::State& state) {
  lookups(state, [](auto& table, uint32_t i) {
    benchmark::DoNotOptimize(table.find_out(Proto::Tcp, server_of(i), client_of(i)));
  });
}

// What the data plane does for a packet of a known connection: find it, step its TCP state
// and restart its timeout.
void BM_LookupAndRefresh(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Built& built = shared_table(n);
  const auto& order = shuffled(n);
  static uint64_t now = 20'000;  // the shared table's time only moves forward
  std::size_t next = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    Conn* conn = built.table->find_in(Proto::Tcp, client_of(order[next]), kVip);
    built.table->on_packet(*conn, PacketFrom::Client, tcp_flag::kAck, now);
    if (++next == n) next = 0;
    if ((next & 1023) == 0) ++now;
  }
  const uint64_t items = state.iterations();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  report(state, built, items, row_ns, map_find_ns(n, items));
}

// Removing every entry of a full table as time passes their deadlines.
void BM_Expire(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  Built last;
  double cpu_ns = 0;
  for (auto _ : state) {
    state.PauseTiming();
    last = {};
    last = filled_table(n, 1'000);  // NONE: 2 s, starts spread over 10 s
    state.ResumeTiming();
    const double start = thread_cpu_ns();
    for (uint64_t now = 1'000; now <= 14'000; now += 10) last.table->expire(now);
    cpu_ns += thread_cpu_ns() - start;
    if (last.table->size() != 0) state.SkipWithError("entries left after their deadlines");
  }
  const uint64_t items = state.iterations() * n;
  report(state, last, items, cpu_ns / double(items), map_churn_ns(n).erase_ns);
}

// The find baseline on its own.
void BM_baseline_map_find(benchmark::State& state) {
  const auto n = static_cast<uint32_t>(state.range(0));
  const Map& m = filled_map(n);
  const auto& order = shuffled(n);
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.find(map_key(order[next])));
    if (++next == n) next = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// 10M rows build a 700 MB table each (seconds): run them by hand, never in the smoke test.
void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1'000)->Arg(100'000)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kNanosecond);
}

BENCHMARK(BM_baseline_map_find)->Apply(sizes);
BENCHMARK(BM_Insert)->Apply(sizes);
BENCHMARK(BM_LookupIn)->Apply(sizes);
BENCHMARK(BM_LookupOut)->Apply(sizes);
BENCHMARK(BM_LookupAndRefresh)->Apply(sizes);
BENCHMARK(BM_Expire)->Apply(sizes);

}  // namespace
}  // namespace vsd

int main(int argc, char** argv) {
  // Every allocation of 1 MB or more gets pages of its own, given back when freed: glibc
  // would otherwise raise its mmap threshold after the first table is freed and serve the
  // next one from pages already resident, and table_MiB would read 0. Smaller blocks (the
  // baseline map's nodes) stay in a heap that is trimmed only by empty_table().
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
