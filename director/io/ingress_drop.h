// Keeps the director namespace's kernel away from the frames vsd takes: an nftables netdev
// ingress chain on each data port. It runs after the AF_PACKET tap, so vsd still sees every
// frame; the chain only decides whether the kernel sees it too. It drops what vsd takes (its
// services, its local addresses, forwarded traffic, VIPs the host does not hold), so the kernel
// neither answers for a VIP (RST, ICMP) nor spends the sender's core on its IP stack
// (docs/design.md, docs/benchmarking.md: 0.46 -> 0.72 of raw), and passes the rest of the
// host's own traffic (ARP, IPv6, its addresses, multicast and broadcast): the exception path.
//
// Each port's chain is in a table of its own (io/ingress_tables.h) that this process's netlink
// socket owns: the kernel deletes it when vsd ends however it ends, so a dead vsd black-holes
// no port, and refuses it to any other process, so a second vsd cannot take a port that a live
// one serves (docs/design.md "A dead vsd must not leave its ports black-holed").
#pragma once

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/host_addresses.h"
#include "io/ingress_tables.h"
#include "io/nft_session.h"
#include "net/addr.h"

namespace vsd {

// What the chain drops before it lets the host's addresses through.
struct IngressServices {
  struct Port {
    Ipv4 addr;
    Proto proto = Proto::Tcp;
    uint16_t port = 0;
    auto operator<=>(const Port&) const = default;
  };
  struct Address {
    Ipv4 addr;
    Proto proto = Proto::Tcp;
    auto operator<=>(const Address&) const = default;
  };
  // A mark rule that gives a fwmark service its packets: addresses, protocol, port range.
  struct Range {
    Ipv4 network;
    uint8_t prefix_len = 32;
    Proto proto = Proto::Tcp;
    uint16_t port_min = 0, port_max = 65535;
    auto operator<=>(const Range&) const = default;
  };
  std::vector<Port> ports;         // VIP:vport of each service
  std::vector<Address> addresses;  // every port of a protocol: port-0 services, local addresses
  std::vector<Range> marked;       // what fwmark services take
  bool operator==(const IngressServices&) const = default;
};

// The port another live process's table holds: a second vsd on a port a vsd serves.
class PortTaken : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class IngressDrop {
 public:
  // Removes the leftover tables that hook these interfaces (ingress_tables.h), then claims
  // each interface with a table of its own, passing the host's addresses (none: only ARP,
  // IPv6, multicast and broadcast reach the kernel), all in one transaction. Throws
  // PortTaken naming the port (and the owner's pid) when a live process holds one, else
  // std::runtime_error with nft's message.
  explicit IngressDrop(const std::vector<std::string>& ifnames, const HostAddresses& host = {});
  ~IngressDrop();  // the kernel deletes the tables as the session's socket closes
  IngressDrop(const IngressDrop&) = delete;
  IngressDrop& operator=(const IngressDrop&) = delete;

  // What the constructor found and deleted before it claimed the ports, for the log.
  const std::vector<IngressTable>& leftovers_removed() const { return leftovers_; }

  // Each rewrites the sets of every port's table in one nft transaction, so no frame meets a
  // half-written set; from any thread. Empty on success, else nft's message.
  std::string set_services(const IngressServices& services);
  std::string set_host(const HostAddresses& host);

  // The nft scripts it runs, for logs and tests; `owner_pid` goes into each table's comment.
  static std::string ruleset(const std::vector<std::string>& ifnames,
                             const IngressServices& services, const HostAddresses& host,
                             int owner_pid);
  static std::string set_update(const std::vector<std::string>& ifnames,
                                const IngressServices& services, const HostAddresses& host);

 private:
  std::string apply_locked();
  // Why the claim failed: the port another process owns, else nft's own words.
  [[noreturn]] void explain_failed_claim(const std::string& nft_message);

  std::mutex mutex_;  // one command at a time through the session
  NftSession nft_;
  std::vector<std::string> ifnames_;
  std::vector<IngressTable> leftovers_;
  IngressServices services_;
  HostAddresses host_;
};

}  // namespace vsd
