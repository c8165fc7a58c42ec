// The scheduler kind: successive new connections reach the servers the row's scheduler picks
// (spec 6), checked exactly where the spec fixes the sequence or the server of a key (dh, sh:
// the kernel's bucket hash, computed here), and by key and share elsewhere. Its IPv6 cell (tcp6)
// does the same over the topology's IPv6 addresses: an IPv6 key is folded to 32 bits (its four
// words XORed) before the same hash (spec 6).
#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dut/schedulers.h"
#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// Deterministic schedulers: weights of rs1..rs3 and the servers successive new connections
// (SYN-only, so they stay active: spec 5) reach, derived from spec 6 (scan order rs3, rs2,
// rs1; the same derivations as conformance/scheduler_test.cpp, which shows the working).
// The connections numbered in `reset` (from 1) are established and then reset by the client
// once they reach their server: CLOSE, inactive for its 10 s, so the load
// `(active << 8) + inactive` (spec 5) meets inactive connections beside active ones.
struct Sequence {
  std::vector<int> weights;
  std::vector<int> servers;
  std::vector<std::size_t> reset = {};
};
// wrr has two: its step di and the end of its round each show only with the right weights.
const std::multimap<std::string_view, Sequence>& sequences() {
  static const std::multimap<std::string_view, Sequence> all{
      {"rr", {{1, 1, 1}, {3, 2, 1, 3, 2, 1}}},
      // Weights whose gcd is 2: cw steps 3, 1, 3, ... (di 2, mw 3), so rs1 takes every other
      // round on its own: 3, 2, 1, 1, ...
      {"wrr", {{4, 2, 2}, {3, 2, 1, 1, 3, 2, 1, 1, 3, 2}}},
      // gcd 1: the adds leave cw at 1 (rs1 alone set it to mw 1); then 3, 2, 1 and, reaching
      // 0, the round starts again at 3 (a pass at cw 0 would take every server once more):
      // 3, 2, 1 | 1 | 2, 1 | 3, 2, 1 | 1.
      {"wrr", {{3, 2, 1}, {3, 2, 1, 1, 2, 1, 3, 2, 1, 1}}},
      // Loads rs3, rs2, rs1 before each: 0 0 0; 256 0 0; 256 1 0 (the second reset); 256 1
      // 256: rs2, whose one inactive connection weighs less than an active one; 256 2 256 (the
      // fourth reset): rs2 again; 256 258 256: rs3, the first of the least.
      {"lc", {{1, 1, 1}, {3, 2, 1, 2, 2, 3}, {2, 4}}},
      // Loads rs2 (weight 2), rs1 (weight 1): 0 0; 256 0; 256 1 (the second reset): rs1, as
      // 256 * 1 > 1 * 2; 256 257: rs2 (256 * 1 > 257 * 2 is false); 512 257: rs2 (512 > 514
      // is false); 768 257: rs1.
      {"wlc", {{1, 2, 0}, {2, 1, 1, 2, 2, 1}, {2}}},
      {"sed", {{3, 1, 0}, {1, 1, 2, 1, 1, 1, 2}}},
      {"nq", {{3, 1, 0}, {2, 1, 1, 1, 1, 1, 2}}},
      {"fo", {{3, 3, 1}, {2, 2, 2, 2}}},
      {"ovf", {{2, 2, 1}, {2, 2, 2, 1, 1, 1, 3, 3}}},
      // One key (the VIP), two servers of weight 1 (list rs2, rs1): the set grows to rs1 at the
      // third (rs2's 2 active > 1 while rs1 has 2 * 0 < 1); from the fifth on both carry equal
      // loads in turn, and the tie goes to the newest member, rs1; no server is then below
      // half its weight, so the chosen member is not "overloaded" and keeps it.
      {"lblcr", {{1, 1, 0}, {2, 2, 1, 1, 1, 2, 1}}},
  };
  return all;
}

// The 32 bits dh and sh hash for an address, in host order: an IPv4 address itself, an IPv6
// address's four 32-bit words XORed together (the kernel's ip_vs_*_hashkey with AF_INET6).
uint32_t hash_key(const std::string& address) {
  in_addr a{};
  if (inet_pton(AF_INET, address.c_str(), &a) == 1) return ntohl(a.s_addr);
  in6_addr a6{};
  if (inet_pton(AF_INET6, address.c_str(), &a6) != 1)
    throw std::runtime_error("not an IP address: " + address);
  uint32_t fold = 0;
  for (int word = 0; word < 4; ++word) {
    uint32_t w = 0;
    for (int i = 0; i < 4; ++i) w = w << 8 | a6.s6_addr[word * 4 + i];
    fold ^= w;
  }
  return fold;
}

// dh and sh: the bucket of a key, the top 8 bits of the key's hash_key times 0x61C88647, kept
// to 32 bits (spec 6).
unsigned golden_ratio_bucket(const std::string& address) {
  return static_cast<uint32_t>(hash_key(address) * 0x61C88647u) >> 24;
}

// The server that bucket `b` of a table dealt over rs3, rs2, rs1 (list order) holds, each taking
// as many buckets in a row as `turns` says (dh: one each; sh: its weight).
int bucket_server(unsigned b, const std::vector<int>& turns_of_rs) {
  int round = 0;
  for (int rs = 3; rs >= 1; --rs) round += turns_of_rs[rs - 1];
  int at = static_cast<int>(b) % round;
  for (int rs = 3; rs >= 1; --rs) {
    if (at < turns_of_rs[rs - 1]) return rs;
    at -= turns_of_rs[rs - 1];
  }
  return 0;
}

}  // namespace

void scheduler(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const bool v6 = c.family == Family::Ipv6;
  auto segment = [&](uint8_t flags, uint16_t cport, const std::string& client = "",
                     uint32_t seq = 1000, uint32_t ack = 0) {
    return mb.tcp_in(c.family, flags, cport, client, seq, ack);
  };
  const auto [first, last] = sequences().equal_range(c.scheduler);
  for (auto it = first; it != last; ++it) {
    // A weight of 0 here means "not added": wlc, sed and nq use two servers.
    std::vector<int> weights;
    for (int w : it->second.weights)
      if (w > 0) weights.push_back(w);
    // A new service for each sequence: a restore that keeps the service (vsd's atomic -R)
    // keeps the scheduler's place too, as an edit of the weights would in the kernel.
    if (it != first) bed.restore("");
    bed.restore(mb.rules(Proto::Tcp, c.scheduler, weights, "", "", c.family));
    const auto& want = it->second.servers;
    for (std::size_t i = 0; i < want.size(); ++i) {
      auto syn = segment(Tins::TCP::SYN, mb.next_client_port());
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s, false);
      // The journal (a failure's case file) holds what the spec wants, met or not.
      bed.checker().record(*bed.rs(want[i]).port, mb.at_real_server(syn, want[i]), got == want[i]);
      if (!f.require(got == want[i],
                     fmt::format("weights {}: connection {} reached rs{} where the spec says rs{}",
                                 fmt::join(it->second.weights, ","), i + 1, got, want[i])))
        return;
      const auto& reset = it->second.reset;
      if (std::find(reset.begin(), reset.end(), i + 1) == reset.end()) continue;
      // An ACK first: a client's RST in SYN_RECV leaves the state as it is (spec 5); in
      // ESTABLISHED it closes. Seen at the server, each has moved the state before the next SYN.
      const uint16_t cport = syn.rfind_pdu<Tins::TCP>().sport();
      for (uint8_t flags : {uint8_t(Tins::TCP::ACK), uint8_t(Tins::TCP::RST)}) {
        const int reached = forwarded(mb, segment(flags, cport, "", 1001, 5001), f,
                                      fmt::format("the client's {} of connection {}",
                                                  flags == Tins::TCP::RST ? "RST" : "ACK", i + 1));
        if (!f.require(reached == want[i], fmt::format("connection {}'s segment reached rs{}, "
                                                       "not its server rs{}",
                                                       i + 1, reached, want[i])))
          return;
      }
    }
  }
  if (first != last) return;
  // Hashing and locality schedulers: each key keeps its server (sh, mh: the client address;
  // dh, lblc: the VIP), and every connection is scheduled somewhere. sh deals its buckets by
  // weight and dh one each, so the server of a key follows from the hash; mh fills its table
  // in proportion to the weights, so rs3 at 8 of 10 holds most clients; twos at weight 1 has
  // draws that land on every boundary (each draw picks some server: spec 6).
  const std::string_view s = c.scheduler;
  std::vector<int> weights = kRoomy;
  if (s == "sh") weights = {1, 2, 3};
  if (s == "mh") weights = {1, 1, 8};
  if (s == dut::kTwosScheduler) weights = {1, 1, 1};
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, weights, "", "", c.family));
  int keyed_server = 0;  // dh: every connection's server
  if (s == "dh")
    keyed_server = bucket_server(golden_ratio_bucket(v6 ? mb.vip6() : bed.vip()), {1, 1, 1});
  // twos is random: enough draws that one landing on each boundary is all but certain.
  const int clients = s == "mh" ? 24 : s == dut::kTwosScheduler ? 18 : 6;
  std::map<int, int> per_server;
  for (int client = 10; client < 10 + clients; ++client) {
    // Beside the client's own address on its segment (fd00:10::2 for IPv6).
    const std::string addr =
        v6 ? fmt::format("fd00:10::{}", client) : fmt::format("10.10.0.{}", client);
    const int want = s == "sh" ? bucket_server(golden_ratio_bucket(addr), weights) : keyed_server;
    int first = 0;
    for (int k = 0; k < (client < 16 ? 2 : 1); ++k) {
      auto syn = segment(Tins::TCP::SYN, mb.next_client_port(), addr);
      bed.client().port->send(syn);
      int got = mb.server_reached(syn, 2s);
      if (!f.require(got != 0,
                     fmt::format("{}: {} sent the connection to no server (rs1..rs3 all available)",
                                 addr, s)))
        return;
      if (k == 0) {
        first = got;
        ++per_server[got];
      }
      if (s != dut::kTwosScheduler &&
          !f.require(got == first, fmt::format("{}: rs{} then rs{}", addr, first, got)))
        return;
      if (want != 0 && !f.require(got == want, fmt::format("{}: {} sent it to rs{} where its "
                                                           "hash bucket's server is rs{}",
                                                           addr, s, got, want)))
        return;
    }
  }
  if (s == "mh")
    f.require(per_server[3] * 2 > clients,
              fmt::format("mh gave rs3 (weight 8 of 10) {} of {} clients, rs2 {}, rs1 {}: the "
                          "table is not filled in proportion to the weights",
                          per_server[3], clients, per_server[2], per_server[1]));
}

}  // namespace vslab::matrix::kinds
