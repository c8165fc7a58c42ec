// What the director reports about itself: per-service and per-destination counters and
// rates, and the connection entries. vsd fills it; vsadm prints it as ipvsadm does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/rules.h"

namespace vsd {

// ipvsadm's --stats columns (totals) or --rate columns (per second, from the estimator).
struct Counters {
  uint64_t conns = 0;
  uint64_t in_packets = 0;
  uint64_t out_packets = 0;
  uint64_t in_bytes = 0;
  uint64_t out_bytes = 0;
  bool operator==(const Counters&) const = default;
};

struct DestinationState {
  IpEndpoint addr;
  uint32_t active = 0;      // ActiveConn: TCP SYN_SENT, SYN_RECV, ESTABLISHED (spec 5)
  uint32_t inactive = 0;    // InActConn
  uint32_t persistent = 0;  // PersistConn: templates
  bool overloaded = false;
  Counters totals;
  Counters rates;
  bool operator==(const DestinationState&) const = default;
};

struct ServiceState {
  ServiceKey key;
  Counters totals;
  Counters rates;
  std::vector<DestinationState> destinations;  // same order as the Service's destinations
  bool operator==(const ServiceState&) const = default;
};

// One line of `ipvsadm -L -n -c`.
struct ConnectionEntry {
  Proto proto = Proto::Tcp;
  uint32_t expires_s = 0;  // seconds left
  std::string state;       // "ESTABLISHED", "NONE" (template), "UDP", "ICMP"...
  IpEndpoint client;       // port 0 for a persistence template
  IpEndpoint virtual_addr;
  IpEndpoint destination;
  // A fwmark persistence template: the kernel keys it with IPPROTO_IP, so it serves every
  // protocol and ipvsadm lists it as "IP", its virtual address being the mark (0.0.0.7:0).
  bool any_protocol = false;
  // A template of a service with a persistence engine: its name ("sip") and the data it was
  // keyed by (the Call-ID), as /proc/net/ip_vs_conn ends the line with them.
  std::string pe_name = {};
  std::string pe_data = {};
  bool operator==(const ConnectionEntry&) const = default;
};

struct DirectorState {
  RuleSet rules;
  std::vector<ServiceState> services;  // same order as rules.services
  std::vector<ConnectionEntry> connections;
  uint32_t connection_table_size = 4096;  // "IP Virtual Server version 1.2.1 (size=4096)"
  bool operator==(const DirectorState&) const = default;
};

}  // namespace vsd
