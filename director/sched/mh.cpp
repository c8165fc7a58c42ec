// mh.cpp: Maglev hashing, as ip_vs_mh.c (spec section 6; Eisenbud et al., NSDI 2016, 3.4): a
// lookup table of kMaglevTableSize entries is shared out among the destinations in proportion
// to their weights, each filling entries along its own permutation of the table, so that
// removing a server leaves most entries of the others where they were. The key is the client's
// address (and with -b mh-port its port); -b mh-fallback walks on past unavailable servers.
#include <algorithm>
#include <bit>
#include <numeric>
#include <vector>

#include "sched/dest_list.h"
#include "sched/maglev.h"
#include "sched/scheduler.h"

namespace vsd {

std::vector<int> maglev_turns(std::span<const uint32_t> last_weights) {
  uint32_t gcd = 0;
  uint32_t largest = 0;
  for (uint32_t weight : last_weights) {
    if (weight > 0) gcd = gcd > 0 ? std::gcd(gcd, weight) : weight;
    largest = std::max(largest, weight);
  }
  std::vector<int> turns(last_weights.size(), 0);
  if (gcd == 0) return turns;
  // fls(largest / gcd) - bits, at least 0: the bit width of the largest scaled weight beyond
  // what the table is meant to hold.
  const int shift = std::max(0, int(std::bit_width(largest / gcd)) - kMaglevWeightBits);
  for (std::size_t i = 0; i < last_weights.size(); ++i) {
    const uint32_t scaled = (last_weights[i] / gcd) >> shift;
    turns[i] = scaled > 0 ? int(scaled) : int(last_weights[i] != 0);
  }
  return turns;
}

void maglev_populate(std::span<const MaglevPreference> preferences, std::span<int> table) {
  std::fill(table.begin(), table.end(), -1);
  const bool anyone = std::any_of(preferences.begin(), preferences.end(),
                                  [](const MaglevPreference& p) { return p.turns > 0; });
  if (!anyone) return;
  const auto size = static_cast<uint32_t>(table.size());
  std::vector<uint32_t> next(preferences.size());
  for (std::size_t i = 0; i < preferences.size(); ++i) next[i] = preferences[i].offset % size;
  std::vector<bool> taken(size, false);
  uint32_t filled = 0;
  std::size_t at = 0;
  int turns_taken = 0;
  const auto move_on = [&] {
    at = (at + 1) % preferences.size();
    turns_taken = 0;
  };
  while (filled < size) {
    const MaglevPreference& pref = preferences[at];
    if (pref.turns < 1) {
      move_on();
      continue;
    }
    while (taken[next[at]]) next[at] = (next[at] + pref.skip) % size;
    taken[next[at]] = true;
    table[next[at]] = static_cast<int>(at);
    ++filled;
    // A destination takes entries until it has had its turns in this round.
    if (++turns_taken >= pref.turns) move_on();
  }
}

namespace {

class MaglevHashing final : public Scheduler {
 public:
  explicit MaglevHashing(const SchedulerOptions& options)
      : fallback_(has_flag(options, "mh-fallback")),
        use_port_(has_flag(options, "mh-port")),
        table_(kMaglevTableSize, -1) {}
  void on_change(std::span<const SchedDest> dests) override;
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override;

 private:
  struct Known {
    Endpoint addr;
    uint32_t last_weight;
  };

  static bool has_flag(const SchedulerOptions& options, std::string_view flag) {
    return std::find(options.flags.begin(), options.flags.end(), flag) != options.flags.end();
  }

  bool fallback_;
  bool use_port_;
  // The kernel's dest->last_weight (ip_vs_ctl.c __ip_vs_update_dest): the weight given when the
  // destination was added, then the latest non-zero one, so a server quiesced with weight 0
  // keeps its entries (and keys landing there get nothing, or the fallback). A scheduler bound
  // to a list that already has quiesced servers (ipvsadm -E -s mh) cannot know their earlier
  // weights and takes 0, where the kernel would remember them.
  std::vector<Known> known_;
  // List positions: the caller reports every change and the table is rebuilt each time.
  std::vector<int> table_;
};

void MaglevHashing::on_change(std::span<const SchedDest> dests) {
  std::vector<Known> now;
  now.reserve(dests.size());
  for (const SchedDest& dest : dests) {
    auto before = std::find_if(known_.begin(), known_.end(),
                               [&](const Known& k) { return k.addr == dest.addr; });
    const bool keep = before != known_.end() && dest.weight == 0;
    now.push_back({dest.addr, keep ? before->last_weight : dest.weight});
  }
  known_ = std::move(now);

  std::vector<uint32_t> last_weights;
  for (const Known& k : known_) last_weights.push_back(k.last_weight);
  const std::vector<int> turns = maglev_turns(last_weights);
  std::vector<MaglevPreference> preferences(known_.size());
  for (std::size_t i = 0; i < known_.size(); ++i) {
    const Endpoint& rs = known_[i].addr;
    preferences[i].offset = maglev_hash(kMaglevKey1, rs.addr, rs.port, 0) % kMaglevTableSize;
    preferences[i].skip =
        maglev_hash(kMaglevKey2, rs.addr, rs.port, 0) % (kMaglevTableSize - 1) + 1;
    preferences[i].turns = turns[i];
  }
  maglev_populate(preferences, table_);
}

int MaglevHashing::pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) {
  const Ipv4 addr = flow.client.addr;
  // ip_vs_mh_get_port: the source port of TCP, UDP (and SCTP); 0 for anything else.
  const uint16_t port = use_port_ && flow.proto != Proto::Icmp ? flow.client.port : 0;
  const auto usable = [&](int at) {
    return at >= 0 && at < static_cast<int>(dests.size()) && dests[at].available();
  };
  const uint32_t first = maglev_hash(kMaglevKey1, addr, port, 0) % kMaglevTableSize;
  const int at = table_[first];
  if (at < 0) return -1;
  if (usable(at)) return at;
  if (!fallback_) return -1;
  // ip_vs_mh_get_fallback: hash again with offsets first, first + 1, ... (mod the size) as the
  // offset term, until an entry's server is available.
  for (uint32_t k = 0; k < kMaglevTableSize; ++k) {
    const uint32_t offset = (first + k) % kMaglevTableSize;
    const int next = table_[maglev_hash(kMaglevKey1, addr, port, offset) % kMaglevTableSize];
    if (next < 0) break;
    if (usable(next)) return next;
  }
  return -1;
}

}  // namespace

VSD_REGISTER_SCHEDULER("mh", MaglevHashing);

}  // namespace vsd
