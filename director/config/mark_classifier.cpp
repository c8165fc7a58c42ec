#include "config/mark_classifier.h"

namespace vsd {

MarkClassifier::MarkClassifier(const std::vector<MarkRule>& rules) {
  entries_.reserve(rules.size());
  for (const MarkRule& r : rules) {
    const uint8_t protos = r.proto == MarkProto::Tcp   ? kTcp
                           : r.proto == MarkProto::Udp ? kUdp
                                                       : uint8_t(kTcp | kUdp);
    const uint32_t mask = r.dest_mask().value;
    entries_.push_back({r.dest.value & mask, mask, r.dport_min, r.dport_max, protos, r.mark});
  }
}

}  // namespace vsd
