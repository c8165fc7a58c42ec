// Keeps the director namespace's kernel away from the frames vsd takes: an nftables netdev
// ingress chain with policy drop on each data port. It runs after the AF_PACKET tap, so vsd
// still sees every frame, while the kernel neither answers for a VIP (RST, ICMP) nor spends
// the sender's core on its IP stack (docs/design.md, docs/benchmarking.md: 0.46 -> 0.72 of raw).
#pragma once

#include <string>
#include <vector>

namespace vsd {

class IngressDrop {
 public:
  // Installs table "netdev vsd" with one drop chain per interface; throws with nft's message.
  explicit IngressDrop(const std::vector<std::string>& ifnames);
  ~IngressDrop();  // removes the table
  IngressDrop(const IngressDrop&) = delete;
  IngressDrop& operator=(const IngressDrop&) = delete;

  // The nft script it installs, for logs and tests.
  static std::string ruleset(const std::vector<std::string>& ifnames);
};

}  // namespace vsd
