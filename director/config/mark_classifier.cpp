#include "config/mark_classifier.h"

namespace vsd {

MarkClassifier::MarkClassifier(const std::vector<MarkRule>& rules) {
  for (const MarkRule& r : rules) {
    const uint8_t protos = r.proto == MarkProto::Tcp   ? kTcp
                           : r.proto == MarkProto::Udp ? kUdp
                                                       : uint8_t(kTcp | kUdp);
    const Match match{r.dport_min, r.dport_max, protos, r.mark};
    // The mask is the all-ones address cut to the prefix, so one routine serves both families.
    IpAddr ones = IpAddr::zero(r.family());
    ones.bytes.fill(0xff);
    const IpAddr mask = ones.prefix(r.prefix_len);
    const IpAddr net = r.dest.prefix(r.prefix_len);
    if (r.family() == Family::V4)
      entries_.push_back({match, net.v4().value, mask.v4().value});
    else
      entries6_.push_back({match, net.bytes, mask.bytes});
  }
}

}  // namespace vsd
