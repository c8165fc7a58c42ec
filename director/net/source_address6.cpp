#include "net/source_address6.h"

#include <algorithm>
#include <bit>

namespace vsd {
namespace {

bool is_link_local(const Ip6& a) {
  return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

// How many leading bits a and b share.
int shared_bits(const Ip6& a, const Ip6& b) {
  for (std::size_t i = 0; i < 16; ++i)
    if (uint8_t x = a[i] ^ b[i]; x != 0) return int(i) * 8 + std::countl_zero(x);
  return 128;
}

}  // namespace

int policy_label6(const Ip6& a) {
  struct Entry {
    Ip6 prefix;
    int length;
    int label;
  };
  // Linux's default table (the RFC's, with 2001:10::/28 of its own); the longest match wins.
  static const Entry table[] = {
      {{}, 0, 1},
      {{0xfc}, 7, 5},
      {{0xfe, 0xc0}, 10, 11},
      {{0x20, 0x02}, 16, 2},
      {{0x3f, 0xfe}, 16, 12},
      {{0x20, 0x01}, 32, 6},
      {{0x20, 0x01, 0x00, 0x10}, 28, 7},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 4},
      {{}, 96, 3},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 0},
  };
  int best_length = -1, label = 1;
  for (const auto& e : table)
    if (e.length > best_length && same_prefix(a, e.prefix, e.length)) {
      best_length = e.length;
      label = e.label;
    }
  return label;
}

std::optional<Ip6> source_address6(std::span<const SourceCandidate6> candidates,
                                   const Ip6& destination) {
  const bool link_local = is_link_local(destination);
  const int want_label = policy_label6(destination);
  const Ip6Prefix* best = nullptr;
  int best_label_match = -1, best_match = -1;
  for (const auto& candidate : candidates) {
    const Ip6Prefix& c = candidate.address;
    if (is_link_local(c.addr) != link_local) continue;
    if (c.addr == destination) return c.addr;  // rule 1
    const int label_match = candidate.label == want_label ? 1 : 0;
    const int match = std::min(shared_bits(c.addr, destination), c.prefix);
    if (label_match > best_label_match || (label_match == best_label_match && match > best_match)) {
      best = &c;
      best_label_match = label_match;
      best_match = match;
    }
  }
  if (!best) return std::nullopt;
  return best->addr;
}

}  // namespace vsd
