// The addresses the director namespace's own kernel answers for: every IPv4 address on its
// interfaces, and the subnet broadcasts. vsd leaves what is addressed to them, and is not a
// service, to the kernel (the exception path, docs/design.md "The director host keeps its own
// network"); read off the per-packet path, looked up on it.
#pragma once

#include <algorithm>
#include <vector>

#include "net/addr.h"

namespace vsd {

class HostAddresses {
 public:
  HostAddresses() = default;
  HostAddresses(std::vector<Ipv4> local, std::vector<Ipv4> broadcast);

  // The namespace's interfaces now (getifaddrs), the loopback's included; throws on failure.
  static HostAddresses read_from_kernel();

  // An address of one of the host's interfaces; a few entries, so a binary search of a
  // sorted vector, no hashing.
  bool contains(Ipv4 address) const {
    return std::binary_search(local_.begin(), local_.end(), address);
  }
  const std::vector<Ipv4>& local() const { return local_; }          // sorted, unique
  const std::vector<Ipv4>& broadcast() const { return broadcast_; }  // sorted, unique
  bool operator==(const HostAddresses&) const = default;

 private:
  std::vector<Ipv4> local_;
  std::vector<Ipv4> broadcast_;
};

}  // namespace vsd
