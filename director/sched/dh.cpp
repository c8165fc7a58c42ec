// dh.cpp: destination hashing, as ip_vs_dh.c (spec section 6): a 256-bucket table maps the
// packet's destination address (the VIP for a plain service) to a real server. The table is
// dealt out over the destination list, newest first, one bucket each round and round again,
// and rebuilt on every change; a bucket whose server is unavailable gives nothing.
#include <array>
#include <cstdint>

#include "sched/golden_ratio_hash.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

constexpr uint32_t kBuckets = 256;  // 1 << CONFIG_IP_VS_DH_TAB_BITS (8 by default)

// ip_vs_dh_hashkey in Linux 6.1: hash_32 of the address in host order, 8 bits (the top byte
// of the 32-bit golden-ratio product); older kernels kept the low byte of address *
// 2654435761, which puts most addresses in another bucket.
constexpr uint32_t bucket_of(Ipv4 addr) {
  return golden_ratio_hash(addr.value, 8);
}

// ip_vs_dh_reassign gives each bucket the next destination of the list, one apiece whatever
// the weight (unlike sh, dh does not repeat entries by weight), so bucket b holds list position
// b mod N. Positions are kept rather than identities: the caller reports every change of the
// list, and the table is rebuilt each time. The kernel's dh has add_dest and del_dest
// callbacks but no upd_dest; an edit leaves the list's order and length alone, so rebuilding
// then deals the same table.
class DestinationHashing final : public Scheduler {
 public:
  void on_change(std::span<const SchedDest> dests) override {
    for (uint32_t b = 0; b < kBuckets; ++b)
      server_at_[b] = dests.empty() ? -1 : static_cast<int>(b % dests.size());
  }
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override {
    const int at = server_at_[bucket_of(flow.virtual_addr.addr)];
    if (at < 0 || at >= static_cast<int>(dests.size()) || !dests[at].available()) return -1;
    return at;
  }

 private:
  std::array<int, kBuckets> server_at_ = make_empty();
  static constexpr std::array<int, kBuckets> make_empty() {
    std::array<int, kBuckets> empty{};
    empty.fill(-1);
    return empty;
  }
};

}  // namespace

VSD_REGISTER_SCHEDULER("dh", DestinationHashing);

}  // namespace vsd
