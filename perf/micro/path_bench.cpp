// The whole per-packet path in memory: a batch of 64 frames handed to vsd's data plane
// (vsd/dataplane.h, Dataplane::handle), per forwarding method, the rewritten frames coming
// out on a MemoryPort (io/memory_port.h) instead of an AF_PACKET ring; and the malformed-frame
// classifier (fwd::classify) over a mix of good and bad frames.
//
// Every iteration is one batch as vsd's loop runs it: the 64 frames are copied from their
// pristine copies into a receive buffer (what the kernel does into the RX ring, and what
// restores them, since they are rewritten in place), each goes through handle(), then flush()
// and tick(); the egress port is emptied for the next batch. The baseline, timed right after
// in the same process (perf/micro/paired.h), is what any forwarder must at least do with the
// batch: the same copy in, and each frame queued unchanged on the same MemoryPort (the copy
// out). x_baseline = path / baseline. One item is one frame.
#include <benchmark/benchmark.h>
#include <tins/tins.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "fwd/ipv6.h"
#include "fwd/packet.h"
#include "fwd/test_frames.h"
#include "fwd/wire.h"
#include "io/memory_port.h"
#include "paired.h"
#include "vsd/dataplane.h"
#include "vsd/memory_bed.h"

namespace vsd {
namespace {

namespace t = fwd::testing;
using perf::cpu_ns_per_item;
using perf::thread_cpu_ns;

constexpr std::size_t kBatch = 64;
constexpr std::size_t kPayloadBytes = 10;  // 64-byte TCP frames
constexpr std::size_t kSlotBytes = 2048;
constexpr uint64_t kMinBaselineBatches = 1024;
constexpr std::size_t kExt = 0, kInt = 1;  // port indices
// The connection table's capacity: vsd's default unless --table_capacity=N says otherwise
// (the smoke test's, since building 2^20 entries takes a second under ASan, seven times over).
uint32_t table_capacity = ConnTableConfig{}.capacity;

// The director between clients (behind a router on ext) and three real servers (on int):
// ext 10.0.0.1/24, router 10.0.0.254, VIP 10.0.0.100:80; int 192.168.1.1/24, real servers
// 192.168.1.11-13, FULLNAT local address 192.168.1.2. The 64 flows come from 172.16.0.1-64.
const Mac kExtMac = t::mac("02:00:00:00:00:fe");
const Mac kIntMac = t::mac("02:00:00:00:01:fe");
const Mac kRouterMac = t::mac("02:00:00:00:00:99");
const std::string kVip = "10.0.0.100";
const std::string kLocal = "192.168.1.2";

std::string client_ip(std::size_t i) {
  return "172.16.0." + std::to_string(i + 1);
}
std::string server_ip(std::size_t i) {
  return "192.168.1." + std::to_string(11 + i);
}
Mac server_mac(std::size_t i) {
  return Mac{{0x02, 0, 0, 0, 0x01, uint8_t(0x0b + i)}};
}

RuleSet rules_for(Method method, Proto proto = Proto::Tcp) {
  Service svc;
  svc.key = ServiceKey{proto, Endpoint{t::ip(kVip), 80}, 0};
  svc.scheduler = "rr";
  // DR and TUN keep the service port (spec 2); NAT and FULLNAT map it to 8080.
  const uint16_t port = method == Method::Nat || method == Method::FullNat ? 8080 : 80;
  for (std::size_t i = 0; i < 3; ++i)
    svc.destinations.push_back({Endpoint{t::ip(server_ip(i)), port}, method, 1, 0, 0});
  if (method == Method::FullNat) svc.local_addresses.push_back(t::ip(kLocal));
  RuleSet rules;
  rules.services.push_back(svc);
  return rules;
}

using Frames = std::vector<t::Bytes>;

t::Bytes tcp_frame(Mac eth_src, Mac eth_dst, const std::string& src, const std::string& dst,
                   uint16_t sport, uint16_t dport, uint16_t flags) {
  auto pdu = Tins::EthernetII(eth_dst.str(), eth_src.str()) / t::ipv4(src, dst) /
             t::tcp(sport, dport, flags) / Tins::RawPDU(t::payload_bytes(kPayloadBytes));
  return t::serialize(pdu);
}

// The same segment over IPv6, hop limit 64.
t::Bytes tcp6_frame(Mac eth_src, Mac eth_dst, const std::string& src, const std::string& dst,
                    uint16_t sport, uint16_t dport, uint16_t flags) {
  Tins::IPv6 ip(dst, src);
  ip.hop_limit(64);
  auto pdu = Tins::EthernetII(eth_dst.str(), eth_src.str()) / ip / t::tcp(sport, dport, flags) /
             Tins::RawPDU(t::payload_bytes(kPayloadBytes));
  return t::serialize(pdu);
}

Frames client_frames(uint16_t flags) {
  Frames frames;
  for (std::size_t i = 0; i < kBatch; ++i)
    frames.push_back(tcp_frame(kRouterMac, kExtMac, client_ip(i), kVip, 40000, 80, flags));
  return frames;
}

// A data plane serving one method, its neighbours learnt and, for TCP, its 64 connections
// opened by a SYN each (so the batches measured are packets of known connections). A UDP bed
// opens none: its rows open their own.
class Bed {
 public:
  explicit Bed(Method method, Proto proto = Proto::Tcp, const Timeouts& timeouts = {}) {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 4 * kBatch, kSlotBytes));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 4 * kBatch, kSlotBytes));
    dataplane_ = std::make_unique<MemoryDataplane>(
        ports_, two_port_routes(), MemoryDataplane::default_clock(), fwd::ReassemblyLimits{},
        ConnTableConfig{table_capacity, 1u << 16});
    RuleSet rules = rules_for(method, proto);
    rules.timeouts = timeouts;
    if (auto error = dataplane_->install(rules); !error.empty()) throw std::runtime_error(error);
    learn(kExt, t::arp_request_from(kRouterMac, "10.0.0.254", "10.0.0.1"));
    for (std::size_t i = 0; i < 3; ++i)
      learn(kInt, t::arp_request_from(server_mac(i), server_ip(i), "192.168.1.1"));
    clear();
    if (proto == Proto::Tcp) run(kExt, client_frames(Tins::TCP::SYN));
  }

  // One batch through the data plane; the frames are rewritten in place.
  void run(std::size_t port, Frames frames) {
    for (auto& f : frames) dataplane_->handle(port, f);
    dataplane_->flush();
  }
  MemoryPort& port(std::size_t i) { return *ports_[i]; }
  MemoryDataplane& dataplane() { return *dataplane_; }
  void clear() {
    for (auto& p : ports_) p->clear();
  }

 private:
  void learn(std::size_t port, t::Bytes frame) { dataplane_->handle(port, frame); }

  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dataplane_;
};

// The frames a real server sends back for each connection the last batch opened: the
// egress frames with both ends swapped (to CIP:cport for NAT, to LIP:lport for FULLNAT).
Frames replies_to(const MemoryPort& port) {
  Frames frames;
  for (std::size_t i = 0; i < port.sent_count(); ++i) {
    auto sent = port.sent(i);
    Tins::EthernetII eth(sent.data(), uint32_t(sent.size()));
    const auto& tcp = eth.rfind_pdu<Tins::TCP>();
    const Mac server = *Mac::parse(eth.dst_addr().to_string());
    if (const auto* ip6 = eth.find_pdu<Tins::IPv6>())
      frames.push_back(tcp6_frame(server, kIntMac, ip6->dst_addr().to_string(),
                                  ip6->src_addr().to_string(), tcp.dport(), tcp.sport(),
                                  Tins::TCP::ACK));
    else
      frames.push_back(tcp_frame(server, kIntMac, eth.rfind_pdu<Tins::IP>().dst_addr().to_string(),
                                 eth.rfind_pdu<Tins::IP>().src_addr().to_string(), tcp.dport(),
                                 tcp.sport(), Tins::TCP::ACK));
  }
  return frames;
}

// A receive buffer for one batch, refilled from pristine frames.
class Batch {
 public:
  explicit Batch(const Frames& frames) : pristine_(frames), memory_(frames.size() * kSlotBytes) {}
  void refill() {
    for (std::size_t i = 0; i < pristine_.size(); ++i)
      std::memcpy(memory_.data() + i * kSlotBytes, pristine_[i].data(), pristine_[i].size());
  }
  std::size_t size() const { return pristine_.size(); }
  std::span<uint8_t> frame(std::size_t i) {
    return {memory_.data() + i * kSlotBytes, pristine_[i].size()};
  }

 private:
  Frames pristine_;
  std::vector<uint8_t> memory_;
};

// What any forwarder does at least: copy the batch in, queue every frame as it is.
double copy_baseline_ns(Batch& batch, MemoryPort& out, uint64_t batches) {
  batches = std::max(batches, kMinBaselineBatches);
  return cpu_ns_per_item(batches * batch.size(), [&](uint64_t) {
    for (uint64_t b = 0; b < batches; ++b) {
      batch.refill();
      for (std::size_t i = 0; i < batch.size(); ++i) out.queue(batch.frame(i));
      out.flush();
      benchmark::ClobberMemory();
      out.clear();
    }
  });
}

void BM_baseline_copy(benchmark::State& state) {
  Batch batch(client_frames(Tins::TCP::ACK));
  MemoryPort out("int", kIntMac, 1500, 4 * kBatch, kSlotBytes);
  for (auto _ : state) {
    batch.refill();
    for (std::size_t i = 0; i < batch.size(); ++i) out.queue(batch.frame(i));
    out.flush();
    benchmark::ClobberMemory();
    out.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}

// direction: frames from the clients (to_servers) or replies from the real servers.
void BM_path(benchmark::State& state, Method method, bool to_servers) {
  Bed bed(method);
  Frames frames = client_frames(Tins::TCP::ACK);
  if (!to_servers) frames = replies_to(bed.port(kInt));
  bed.clear();
  const std::size_t in = to_servers ? kExt : kInt, out = to_servers ? kInt : kExt;
  Batch batch(frames);
  MemoryDataplane& dp = bed.dataplane();
  MemoryPort& egress = bed.port(out);
  std::size_t missing = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    batch.refill();
    for (std::size_t i = 0; i < batch.size(); ++i) dp.handle(in, batch.frame(i));
    dp.flush();
    dp.tick();
    missing += batch.size() - egress.sent_count();
    bed.clear();
  }
  const uint64_t items = state.iterations() * batch.size();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  if (missing != 0) return state.SkipWithError("frames did not come out of the data plane");
  state.SetItemsProcessed(static_cast<int64_t>(items));
  perf::report_paired(state, row_ns, copy_baseline_ns(batch, egress, state.iterations()));
}

// --- IPv6 against IPv4: BM_path6 -------------------------------------------------------------
//
// BM_path6/nat/in and /out: the BM_path/nat batch of 64 established connections in IPv4 and the
// same batch in IPv6 (the same flows, each address mapped into 2001:db8::/64 on ext and
// 2001:db8:1::/64 on int, 20 bytes more of header a frame), through two data planes built alike,
// handed over with the look-ahead as vsd's loop hands them (vsd/memory_bed.h). Each iteration
// runs kPath6Chunk batches of one family, then as many of the other, so that both see the same
// state of the machine; the counters are each family's CPU ns a frame (v4_cpu_ns, v6_cpu_ns),
// and v6_rate_over_v4 = v4_cpu_ns / v6_cpu_ns, the IPv6 rate as a fraction of the IPv4 one
// that issue 24 asks to be at least 0.9. v4_copy_ns and v6_copy_ns: the copy baseline of each
// family's frames.
constexpr std::size_t kPath6Chunk = 16;

Ip6 ip6(const std::string& text) {
  const Tins::IPv6Address a(text);
  Ip6 out{};
  std::copy(a.begin(), a.end(), out.begin());
  return out;
}
std::string client_ip6(std::size_t i) {
  return "2001:db8:ff::" + std::to_string(i + 1);
}
std::string server_ip6(std::size_t i) {
  return "2001:db8:1::" + std::to_string(11 + i);
}
const std::string kVip6 = "2001:db8::100";
const std::string kRouter6 = "2001:db8::fe";

RoutingTable dual_stack_routes() {
  RoutingTable r = two_port_routes();
  r.add_address6({"ext", ip6("2001:db8::1"), 64});
  r.add_address6({"int", ip6("2001:db8:1::1"), 64});
  r.add_route6({"ext", ip6("2001:db8::"), 64, Ip6{}, 256});
  r.add_route6({"int", ip6("2001:db8:1::"), 64, Ip6{}, 256});
  r.add_route6({"ext", Ip6{}, 0, ip6(kRouter6), 1024});
  return r;
}

Frames client_frames6(uint16_t flags) {
  Frames frames;
  for (std::size_t i = 0; i < kBatch; ++i)
    frames.push_back(tcp6_frame(kRouterMac, kExtMac, client_ip6(i), kVip6, 40000, 80, flags));
  return frames;
}

// The IPv6 twin of Bed(Method::Nat): the same three real servers, their neighbours and the
// router's learnt by answering the data plane's own solicitations, 64 connections opened.
class Bed6 {
 public:
  Bed6() {
    ports_.push_back(std::make_unique<MemoryPort>("ext", kExtMac, 1500, 4 * kBatch, kSlotBytes));
    ports_.push_back(std::make_unique<MemoryPort>("int", kIntMac, 1500, 4 * kBatch, kSlotBytes));
    dataplane_ = std::make_unique<MemoryDataplane>(
        ports_, dual_stack_routes(), MemoryDataplane::default_clock(), fwd::ReassemblyLimits{},
        ConnTableConfig{table_capacity, 1u << 16});
    Service svc;
    svc.key = ServiceKey{Proto::Tcp, IpEndpoint{IpAddr::v6(ip6(kVip6)), 80}, 0};
    svc.scheduler = "rr";
    for (std::size_t i = 0; i < 3; ++i)
      svc.destinations.push_back(
          {IpEndpoint{IpAddr::v6(ip6(server_ip6(i))), 8080}, Method::Nat, 1, 0, 0});
    RuleSet rules;
    rules.services.push_back(svc);
    if (auto error = dataplane_->install(rules); !error.empty()) throw std::runtime_error(error);
    answer_solicitations();
    run(kExt, client_frames6(Tins::TCP::SYN));
    // The replies make the data plane ask for the router, once; the frames that waited for it
    // come out then.
    run(kInt, replies_to(port(kInt)));
    answer_solicitations();
  }
  void run(std::size_t port, Frames frames) {
    for (auto& f : frames) dataplane_->handle(port, f);
    dataplane_->flush();
  }
  MemoryPort& port(std::size_t i) { return *ports_[i]; }
  MemoryDataplane& dataplane() { return *dataplane_; }
  void clear() {
    for (auto& p : ports_) p->clear();
  }

 private:
  // Every solicitation sent so far is answered by its target, with the MAC the target has.
  void answer_solicitations() {
    std::map<Ip6, Mac> macs{{ip6(kRouter6), kRouterMac}};
    for (std::size_t i = 0; i < 3; ++i) macs[ip6(server_ip6(i))] = server_mac(i);
    for (std::size_t at = 0; at < ports_.size(); ++at) {
      std::vector<t::Bytes> adverts;
      for (std::size_t i = 0; i < ports_[at]->sent_count(); ++i) {
        const auto sent = ports_[at]->sent(i);
        const auto p = fwd::parse_ipv6(sent);
        if (!p || !p->is_icmp() || p->icmp_type != fwd::wire6::kNeighborSolicit) continue;
        Ip6 target{};
        std::copy_n(sent.begin() + fwd::Packet6::kL4 + 8, target.size(), target.begin());
        t::Bytes advert(128);
        advert.resize(fwd::build_advert(advert, sent, *p, target, macs.at(target)));
        adverts.push_back(std::move(advert));
      }
      for (auto& a : adverts) dataplane_->handle(at, a);
    }
    dataplane_->flush();
    clear();
  }

  std::vector<std::unique_ptr<MemoryPort>> ports_;
  std::unique_ptr<MemoryDataplane> dataplane_;
};

// kPath6Chunk batches through a data plane; the frames that did not come out.
std::size_t path_chunk(MemoryDataplane& dp, std::size_t in, MemoryPort& egress, Batch& batch,
                       double& cpu_ns) {
  std::size_t missing = 0;
  const double start = thread_cpu_ns();
  for (std::size_t b = 0; b < kPath6Chunk; ++b) {
    batch.refill();
    handle_with_look_ahead(dp, in, batch.size(), [&](std::size_t i) { return batch.frame(i); });
    dp.flush();
    dp.tick();
    missing += batch.size() - egress.sent_count();
    egress.clear();
  }
  cpu_ns += thread_cpu_ns() - start;
  return missing;
}

void BM_path6(benchmark::State& state, bool to_servers) {
  Bed bed4(Method::Nat);
  Bed6 bed6;
  Frames frames4 = client_frames(Tins::TCP::ACK);
  Frames frames6 = client_frames6(Tins::TCP::ACK);
  if (!to_servers) {
    // The SYNs each bed was made with came out on int; their answers are the replies.
    frames4 = replies_to(bed4.port(kInt));
    bed6.run(kExt, client_frames6(Tins::TCP::ACK));
    frames6 = replies_to(bed6.port(kInt));
  }
  bed4.clear();
  bed6.clear();
  const std::size_t in = to_servers ? kExt : kInt, out = to_servers ? kInt : kExt;
  Batch batch4(frames4), batch6(frames6);
  std::size_t missing = 0;
  double v4_ns = 0, v6_ns = 0;
  for (auto _ : state) {
    missing += path_chunk(bed4.dataplane(), in, bed4.port(out), batch4, v4_ns);
    missing += path_chunk(bed6.dataplane(), in, bed6.port(out), batch6, v6_ns);
  }
  if (missing != 0) return state.SkipWithError("frames did not come out of the data plane");
  const uint64_t items = state.iterations() * kPath6Chunk * kBatch;
  state.SetItemsProcessed(static_cast<int64_t>(2 * items));
  const uint64_t batches = state.iterations() * kPath6Chunk;
  state.counters["v4_cpu_ns"] = v4_ns / double(items);
  state.counters["v6_cpu_ns"] = v6_ns / double(items);
  state.counters["v6_rate_over_v4"] = v4_ns / v6_ns;
  state.counters["v4_copy_ns"] = copy_baseline_ns(batch4, bed4.port(out), batches);
  state.counters["v6_copy_ns"] = copy_baseline_ns(batch6, bed6.port(out), batches);
}

// --- more than one worker: vsd --workers N ----------------------------------------------------
//
// BM_workers/nat/in: the BM_path/nat/in batch in N threads at once, each with a Bed of its own
// as each vsd worker has its own data plane, table and ports (shared nothing). Each thread runs
// worker_batches batches; the figure is frames per second of wall-clock time from the start of
// all to the end of the last, with 1 thread and then 2 in the same iteration, and
// x_one_worker = rate(2) / rate(1). On this 2-core machine the second thread competes with
// whatever else runs: the wall clock, not thread CPU time, is what shows it. --worker_batches=N
// changes the number (the smoke test's is small).
uint64_t worker_batches = 20000;

double workers_rate(std::size_t workers) {
  std::vector<std::unique_ptr<Bed>> beds;
  std::vector<Batch> batches;
  for (std::size_t w = 0; w < workers; ++w) {
    beds.push_back(std::make_unique<Bed>(Method::Nat));
    beds.back()->clear();
    batches.emplace_back(client_frames(Tins::TCP::ACK));
  }
  std::atomic<std::size_t> ready{0};
  std::atomic<bool> go{false};
  std::atomic<uint64_t> missing{0};
  auto run = [&](std::size_t w) {
    Bed& bed = *beds[w];
    Batch& batch = batches[w];
    MemoryDataplane& dp = bed.dataplane();
    ready.fetch_add(1);
    while (!go.load(std::memory_order_acquire)) {
    }
    uint64_t lost = 0;
    for (uint64_t b = 0; b < worker_batches; ++b) {
      batch.refill();
      for (std::size_t i = 0; i < batch.size(); ++i) dp.handle(kExt, batch.frame(i));
      dp.flush();
      dp.tick();
      lost += batch.size() - bed.port(kInt).sent_count();
      bed.clear();
    }
    missing.fetch_add(lost);
  };
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < workers; ++w) threads.emplace_back(run, w);
  while (ready.load() != workers) {
  }
  const auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (missing.load() != 0) throw std::runtime_error("frames did not come out of the data plane");
  return double(workers * worker_batches * kBatch) / seconds;
}

void BM_workers(benchmark::State& state) {
  double one = 0, two = 0;
  for (auto _ : state) {
    one = workers_rate(1);
    two = workers_rate(2);
  }
  state.counters["one_worker_mpps"] = one / 1e6;
  state.counters["two_workers_mpps"] = two / 1e6;
  state.counters["x_one_worker"] = two / one;
}

// --- many connections: vsd's look-ahead over a large table -----------------------------------
//
// BM_flows/{in,out}/N: N established UDP connections to VIP:80 (NAT, the three real servers),
// each from its own CIP:cport, and every batch 64 frames of connections drawn at random, from
// the clients (in) or the real servers' replies (out). The batch goes through the data plane
// as vsd's loop takes a block of its RX ring: Dataplane::prefetch for the bucket, the entry
// and the chain's second entry, kLookAheadDistance frames ahead each, then handle(). At 1M the
// table misses the cache as it does in vsd, less what the look-ahead hides; at 1k it stays in
// cache; 4096 is vslab bench's default number of flows. The 4096 and 1M rows then run the 1k
// bed over as many batches and report x_1k = their ns / the 1k ns.

// kMidFlows is vslab bench's default load (--flows).
constexpr std::size_t kFewFlows = 1000, kMidFlows = 4096, kManyFlows = 1000000;
constexpr std::size_t kUdpPayloadBytes = 22;    // 64-byte UDP frames
constexpr uint16_t kNatServerPort = 8080;       // rules_for: NAT maps VIP:80 to RIP:8080
constexpr std::size_t kFlowSequence = 1 << 20;  // drawn once; batches walk it round
constexpr uint32_t kPortsPerClient = 50000;
// Where a UDP frame's fields are (no IP options).
constexpr std::size_t kIpChecksumAt = 24, kIpSrcAt = 26, kIpDstAt = 30, kUdpSrcAt = 34,
                      kUdpDstAt = 36, kUdpChecksumAt = 40;

struct Ends {
  Endpoint src, dst;
};

Ends client_ends(std::size_t flow) {
  const Ipv4 first = Ipv4::from_octets(172, 16, 0, 1);
  const Endpoint client{Ipv4::from_host(first.value + uint32_t(flow / kPortsPerClient)),
                        uint16_t(1024 + flow % kPortsPerClient)};
  return {client, Endpoint{Ipv4::from_octets(10, 0, 0, 100), 80}};
}

Ends reply_ends(std::size_t flow, uint8_t server) {
  return {Endpoint{Ipv4::from_octets(192, 168, 1, uint8_t(11 + server)), kNatServerPort},
          client_ends(flow).src};
}

t::Bytes udp_frame(Mac eth_src, Mac eth_dst, const Ends& ends) {
  auto pdu = Tins::EthernetII(eth_dst.str(), eth_src.str()) /
             t::ipv4(ends.src.addr.str(), ends.dst.addr.str()) /
             Tins::UDP(ends.dst.port, ends.src.port) /
             Tins::RawPDU(t::payload_bytes(kUdpPayloadBytes));
  return t::serialize(pdu);
}

// Moves a copy of a template frame to other ends, its checksums updated (RFC 1624), as a
// traffic generator re-addresses the frames of its ring (perf/bench/generator.cpp).
void readdress(std::span<uint8_t> frame, const Ends& from, const Ends& to) {
  using namespace fwd;
  uint16_t ip_sum = load_be16(frame, kIpChecksumAt);
  uint16_t udp_sum = load_be16(frame, kUdpChecksumAt);
  auto address = [&](std::size_t at, Ipv4 old, Ipv4 now) {
    ip_sum = checksum_update32(ip_sum, old.value, now.value);
    udp_sum = udp_checksum_update32(udp_sum, old.value, now.value);
    store_ipv4(frame, at, now);
  };
  auto port = [&](std::size_t at, uint16_t old, uint16_t now) {
    udp_sum = udp_checksum_update16(udp_sum, old, now);
    store_be16(frame, at, now);
  };
  address(kIpSrcAt, from.src.addr, to.src.addr);
  address(kIpDstAt, from.dst.addr, to.dst.addr);
  port(kUdpSrcAt, from.src.port, to.src.port);
  port(kUdpDstAt, from.dst.port, to.dst.port);
  store_be16(frame, kIpChecksumAt, ip_sum);
  store_be16(frame, kUdpChecksumAt, udp_sum);
}

class FlowBed {
 public:
  explicit FlowBed(std::size_t flows)
      : bed_(Method::Nat, Proto::Udp, long_timeouts()),
        server_of_(flows),
        memory_(kBatch * kSlotBytes),
        client_template_(udp_frame(kRouterMac, kExtMac, client_ends(0))),
        reply_template_(udp_frame(server_mac(0), kIntMac, reply_ends(0, 0))) {
    establish(flows);
    // A fixed seed: every run draws the same flows in the same order.
    std::mt19937_64 random(flows);
    std::uniform_int_distribution<uint32_t> pick(0, uint32_t(flows - 1));
    sequence_.resize(kFlowSequence);
    for (auto& flow : sequence_) flow = pick(random);
  }

  // The next 64 flows of the sequence through the data plane; how many frames did not come
  // out.
  std::size_t run_batch(bool replies) {
    const std::size_t in = replies ? kInt : kExt, out = replies ? kExt : kInt;
    fill_next(replies);
    MemoryDataplane& dp = bed_.dataplane();
    handle_with_look_ahead(dp, in, kBatch, [&](std::size_t i) { return frame(i); });
    dp.flush();
    dp.tick();
    const std::size_t missing = kBatch - bed_.port(out).sent_count();
    bed_.clear();
    return missing;
  }
  // The same batch filled, and each frame queued unchanged on the same port.
  void copy_batch(bool replies) {
    MemoryPort& out = bed_.port(replies ? kExt : kInt);
    fill_next(replies);
    for (std::size_t i = 0; i < kBatch; ++i) out.queue(frame(i));
    out.flush();
    benchmark::ClobberMemory();
    out.clear();
  }

 private:
  // Long enough that a slow run (valgrind) does not see its connections expire and the
  // lookups turn into inserts.
  static Timeouts long_timeouts() {
    Timeouts timeouts;
    timeouts.udp = 24 * 3600;
    return timeouts;
  }

  std::span<uint8_t> frame(std::size_t i) {
    return {memory_.data() + i * kSlotBytes, client_template_.size()};
  }
  void fill(std::size_t i, std::size_t flow, bool replies) {
    const t::Bytes& from = replies ? reply_template_ : client_template_;
    std::memcpy(frame(i).data(), from.data(), from.size());
    if (replies)
      readdress(frame(i), reply_ends(0, 0), reply_ends(flow, server_of_[flow]));
    else
      readdress(frame(i), client_ends(0), client_ends(flow));
  }
  void fill_next(bool replies) {
    for (std::size_t i = 0; i < kBatch; ++i) fill(i, sequence_[next_++ % kFlowSequence], replies);
  }

  // Every flow's first frame, in order, without look-ahead; which real server each went to
  // is read off its egress frame, for the replies.
  void establish(std::size_t flows) {
    MemoryDataplane& dp = bed_.dataplane();
    for (std::size_t first = 0; first < flows; first += kBatch) {
      const std::size_t count = std::min(kBatch, flows - first);
      for (std::size_t i = 0; i < count; ++i) fill(i, first + i, false);
      for (std::size_t i = 0; i < count; ++i) dp.handle(kExt, frame(i));
      dp.flush();
      if (bed_.port(kInt).sent_count() != count)
        throw std::runtime_error("a flow's first frame did not come out of the data plane");
      for (std::size_t i = 0; i < count; ++i)
        server_of_[first + i] =
            uint8_t(fwd::load_ipv4(bed_.port(kInt).sent(i), kIpDstAt).value & 0xff) - 11;
      bed_.clear();
    }
    dp.tick();
  }

  Bed bed_;
  std::vector<uint8_t> server_of_;  // per flow: 0..2, the real server it was scheduled to
  std::vector<uint8_t> memory_;     // the receive buffer, 64 slots
  t::Bytes client_template_, reply_template_;
  std::vector<uint32_t> sequence_;
  std::size_t next_ = 0;
};

// One bed per flow count, built on first use and kept: establishing a million connections
// takes seconds, and Google Benchmark runs a row's function several times.
FlowBed& flow_bed(std::size_t flows) {
  static std::map<std::size_t, std::unique_ptr<FlowBed>> beds;
  auto& bed = beds[flows];
  if (!bed) bed = std::make_unique<FlowBed>(flows);
  return *bed;
}

// CPU ns per frame of `batches` batches of `bed`, adding the frames that did not come out to
// `missing`. Not inlined, so that callgrind (--separate-callers=2) tells these batches from
// those of the row's own loop.
[[gnu::noinline]] double batches_ns(FlowBed& bed, bool replies, uint64_t batches,
                                    std::size_t& missing) {
  return cpu_ns_per_item(batches * kBatch, [&](uint64_t) {
    for (uint64_t b = 0; b < batches; ++b) missing += bed.run_batch(replies);
  });
}

void BM_flows(benchmark::State& state, bool replies, std::size_t flows, std::size_t few) {
  FlowBed& bed = flow_bed(flows);
  std::size_t missing = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) missing += bed.run_batch(replies);
  const uint64_t items = state.iterations() * kBatch;
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  if (missing != 0) return state.SkipWithError("frames did not come out of the data plane");
  state.SetItemsProcessed(static_cast<int64_t>(items));
  const uint64_t batches = std::max<uint64_t>(state.iterations(), kMinBaselineBatches);
  const double copy_ns = cpu_ns_per_item(batches * kBatch, [&](uint64_t) {
    for (uint64_t b = 0; b < batches; ++b) bed.copy_batch(replies);
  });
  perf::report_paired(state, row_ns, copy_ns);
  if (flows == few) return;
  const double small_ns = batches_ns(flow_bed(few), replies, batches, missing);
  if (missing != 0) return state.SkipWithError("frames did not come out of the 1k bed");
  state.counters["cpu_ns_1k"] = small_ns;
  state.counters["x_1k"] = row_ns / small_ns;
}

// --- the classifier -------------------------------------------------------------------------

// 48 good frames (TCP, UDP, ICMP echo) and 16 bad ones, one per way classify() drops a frame
// or turns it away, interleaved: every fourth frame is bad.
Frames classifier_mix() {
  using t::Bytes;
  auto tcp = [] {
    return tcp_frame(kRouterMac, kExtMac, "172.16.0.1", kVip, 40000, 80, Tins::TCP::ACK);
  };
  auto udp = [] {
    auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", kVip) /
               Tins::UDP(53, 40000) / Tins::RawPDU(t::payload_bytes(18));
    return t::serialize(pdu);
  };
  auto icmp = [] {
    auto pdu = Tins::EthernetII(kExtMac.str(), kRouterMac.str()) / t::ipv4("172.16.0.1", kVip) /
               Tins::ICMP(Tins::ICMP::ECHO_REQUEST) / Tins::RawPDU(t::payload_bytes(18));
    return t::serialize(pdu);
  };
  auto with = [](Bytes frame, auto&& change, bool fix_checksum = true) {
    change(frame);
    if (fix_checksum) t::fix_ip_checksum(frame);
    return frame;
  };
  std::vector<Bytes> bad = {
      Bytes(10, 0xab),  // runt
      with(
          tcp(), [](Bytes& f) { f[12] = 0x81, f[13] = 0x00; }, false),  // 802.1Q
      with(tcp(), [](Bytes& f) { f[14] = 0x65; }),                      // version 6
      with(tcp(), [](Bytes& f) { f[14] = 0x44; }),                      // IHL 4
      with(tcp(), [](Bytes& f) { t::put_be16(f, 16, 12); }),            // total 12
      with(
          tcp(), [](Bytes& f) { f[24] ^= 0xff; }, false),                         // checksum
      with(tcp(), [](Bytes& f) { t::put_be16(f, 16, 1000); }),                    // truncated
      with(tcp(), [](Bytes& f) { f[46] = 0x30; }),                                // offset 3
      with(tcp(), [](Bytes& f) { f[46] = 0xf0; }),                                // offset 15
      with(udp(), [](Bytes& f) { t::put_be16(f, 16, 24), f.resize(14 + 24); }),   // UDP 4 B
      with(icmp(), [](Bytes& f) { t::put_be16(f, 16, 24), f.resize(14 + 24); }),  // ICMP 4 B
      with(
          tcp(), [](Bytes& f) { f[12] = 0x86, f[13] = 0xdd; }, false),  // IPv6
      t::arp_reply(kExtMac, "10.0.0.1", "10.0.0.254", kRouterMac),      // ARP
      with(
          tcp(), [](Bytes& f) { f.resize(30); }, false),  // cut IP
      with(
          udp(), [](Bytes& f) { f.resize(38); }, false),  // cut UDP
      Bytes(13, 0),                                       // runt
  };
  Frames mix;
  for (std::size_t i = 0; i < kBatch; ++i) {
    if (i % 4 == 3) {
      mix.push_back(bad[i / 4]);
    } else {
      const int kind = int(i % 4);
      mix.push_back(kind == 0 ? tcp() : kind == 1 ? udp() : icmp());
    }
  }
  return mix;
}

void BM_classify(benchmark::State& state) {
  Batch batch(classifier_mix());
  batch.refill();
  std::array<uint64_t, fwd::kDropReasonCount> drops{};
  uint64_t good = 0;
  const double start = thread_cpu_ns();
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto c = fwd::classify(batch.frame(i));
      good += c.verdict == fwd::Verdict::Ipv4;
      drops[std::size_t(c.drop)]++;
    }
    benchmark::DoNotOptimize(drops);
  }
  const uint64_t items = state.iterations() * batch.size();
  const double row_ns = (thread_cpu_ns() - start) / double(items);
  state.SetItemsProcessed(static_cast<int64_t>(items));
  MemoryPort out("out", kIntMac, 1500, 4 * kBatch, kSlotBytes);
  perf::report_paired(state, row_ns, copy_baseline_ns(batch, out, state.iterations()));
  state.counters["good_share"] = double(good) / double(items);
  uint64_t dropped = 0;
  for (std::size_t r = 1; r < drops.size(); ++r) dropped += drops[r];
  state.counters["drop_share"] = double(dropped) / double(items);
}

}  // namespace
}  // namespace vsd

int main(int argc, char** argv) {
  using vsd::Method;
  const std::string capacity_flag = "--table_capacity=", batches_flag = "--worker_batches=";
  for (int i = 1; i < argc;) {
    const std::string arg = argv[i];
    if (arg.starts_with(capacity_flag)) {
      vsd::table_capacity = uint32_t(std::stoul(arg.substr(capacity_flag.size())));
    } else if (arg.starts_with(batches_flag)) {
      vsd::worker_batches = std::stoull(arg.substr(batches_flag.size()));
    } else {
      ++i;
      continue;
    }
    std::copy(argv + i + 1, argv + argc, argv + i);
    --argc;
  }
  benchmark::RegisterBenchmark("BM_baseline_copy", vsd::BM_baseline_copy);
  benchmark::RegisterBenchmark("BM_path/nat/in", vsd::BM_path, Method::Nat, true);
  benchmark::RegisterBenchmark("BM_path/nat/out", vsd::BM_path, Method::Nat, false);
  benchmark::RegisterBenchmark("BM_path/dr/in", vsd::BM_path, Method::Dr, true);
  benchmark::RegisterBenchmark("BM_path/tun/in", vsd::BM_path, Method::Tun, true);
  benchmark::RegisterBenchmark("BM_path/fullnat/in", vsd::BM_path, Method::FullNat, true);
  benchmark::RegisterBenchmark("BM_path/fullnat/out", vsd::BM_path, Method::FullNat, false);
  benchmark::RegisterBenchmark("BM_path6/nat/in", vsd::BM_path6, true);
  benchmark::RegisterBenchmark("BM_path6/nat/out", vsd::BM_path6, false);
  // A smaller table (the smoke test's) cannot hold a million connections: those rows shrink
  // to what it holds, named by their size.
  const std::size_t many = std::min<std::size_t>(vsd::kManyFlows, vsd::table_capacity);
  const std::size_t few = std::min<std::size_t>(vsd::kFewFlows, vsd::table_capacity);
  const std::size_t mid = std::min<std::size_t>(vsd::kMidFlows, vsd::table_capacity);
  if (many < vsd::kManyFlows)
    std::fprintf(stderr, "path_bench: --table_capacity=%u: the 1M BM_flows rows run at %zu\n",
                 vsd::table_capacity, many);
  for (bool replies : {false, true})
    for (std::size_t flows : {few, mid, many}) {
      if (flows == mid && (mid == few || mid == many)) continue;  // a table too small for it
      const std::string name = std::string("BM_flows/") + (replies ? "out/" : "in/");
      benchmark::RegisterBenchmark((name + std::to_string(flows)).c_str(), vsd::BM_flows, replies,
                                   flows, few);
    }
  benchmark::RegisterBenchmark("BM_classify/mix", vsd::BM_classify);
  benchmark::RegisterBenchmark("BM_workers/nat/in", vsd::BM_workers)
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
