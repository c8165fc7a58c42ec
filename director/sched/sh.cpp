// sh.cpp: source hashing, as ip_vs_sh.c (spec section 6): a 256-bucket table maps the client's
// address (and with -b sh-port its port) to a real server. The table is dealt out over the
// destination list, newest first, each destination taking as many buckets in a row as its
// weight (one when its weight is 0), round and round, and is rebuilt on every change.
#include <algorithm>
#include <array>
#include <cstdint>

#include "sched/golden_ratio_hash.h"
#include "sched/scheduler.h"

namespace vsd {
namespace {

constexpr uint32_t kBuckets = 256;  // 1 << CONFIG_IP_VS_SH_TAB_BITS (8 by default)

// ip_vs_sh_hashkey: (offset + hash_32(port + address, 8)) & 255, port and address in host
// order, summed in 32 bits; the port is 0 without sh-port. The offset is added after hashing,
// so the fallback walk moves through neighbouring buckets rather than rehashing.
constexpr uint32_t bucket_of(Ipv4 addr, uint16_t port, uint32_t offset) {
  return (offset + golden_ratio_hash(port + addr.value, 8)) & (kBuckets - 1);
}

class SourceHashing final : public Scheduler {
 public:
  explicit SourceHashing(const SchedulerOptions& options)
      : fallback_(has_flag(options, "sh-fallback")), use_port_(has_flag(options, "sh-port")) {
    server_at_.fill(-1);
  }
  void on_change(std::span<const SchedDest> dests) override;
  int pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) override;

 private:
  static bool has_flag(const SchedulerOptions& options, std::string_view flag) {
    return std::find(options.flags.begin(), options.flags.end(), flag) != options.flags.end();
  }

  bool fallback_;
  bool use_port_;
  // List positions, not identities: the caller reports every change and the table is rebuilt.
  std::array<int, kBuckets> server_at_{};
};

// ip_vs_sh_reassign: a destination keeps the next buckets until it has one per unit of
// weight; its count reaching the weight (at once for weight 0) moves on to the next.
void SourceHashing::on_change(std::span<const SchedDest> dests) {
  std::size_t at = 0;
  uint32_t taken = 0;
  for (uint32_t b = 0; b < kBuckets; ++b) {
    if (dests.empty()) {
      server_at_[b] = -1;
      continue;
    }
    server_at_[b] = static_cast<int>(at);
    if (++taken >= dests[at].weight) {
      at = (at + 1) % dests.size();
      taken = 0;
    }
  }
}

int SourceHashing::pick(std::span<const SchedDest> dests, const FlowKey& flow, uint64_t) {
  const Ipv4 addr = flow.client.addr;
  // ip_vs_sh_get_port: the source port of TCP, UDP (and SCTP); 0 for anything else.
  const uint16_t port = use_port_ && flow.proto != Proto::Icmp ? flow.client.port : 0;
  const auto usable = [&](int at) {
    return at >= 0 && at < static_cast<int>(dests.size()) && dests[at].available();
  };
  const uint32_t first = bucket_of(addr, port, 0);
  const int at = server_at_[first];
  if (at < 0) return -1;  // no destinations at all
  if (usable(at)) return at;
  if (!fallback_) return -1;
  // ip_vs_sh_get_fallback walks offsets (first + k) mod 256 for k = 0..255 and adds each to
  // the key's hash again, so the buckets tried are (2 * first + k) mod 256: every bucket,
  // starting from twice the first one, not from the one after it.
  for (uint32_t k = 0; k < kBuckets; ++k) {
    const int next = server_at_[bucket_of(addr, port, (first + k) % kBuckets)];
    if (next < 0) break;
    if (usable(next)) return next;
  }
  return -1;
}

}  // namespace

VSD_REGISTER_SCHEDULER("sh", SourceHashing);

}  // namespace vsd
