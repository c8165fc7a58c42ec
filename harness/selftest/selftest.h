// The harness's self-test: crafted TCP, UDP and ICMP frames sent by the client of
// topologies/selftest.toml must reach the server exactly as a Linux router forwards them
// (MACs rewritten, TTL - 1, nothing else changed), and the server's echo reply must come back;
// the same over IPv6 where the topology gives client and server IPv6 addresses (hop limit - 1,
// a fragment forwarded as it is, the ICMPv6 echo reply), the router resolving its neighbours
// by NDP.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <tins/tins.h>

#include "check/check.h"
#include "port/port.h"
#include "topology/live.h"

namespace vslab::selftest {

struct Row {
  std::string check;
  std::string port;
  check::CheckResult result;
};

// The row of `check`, seen on `port`.
inline Row row(std::string check, const port::Port& port, check::CheckResult result) {
  return {std::move(check), port.label(), std::move(result)};
}

// The selftest topology, up, with capture running on the client's and the server's ports.
class SelftestBed {
 public:
  SelftestBed(const std::string& topology_file, const std::string& case_name,
              std::filesystem::path failure_dir = check::default_failure_dir());

  topo::LiveTopology& topology() { return *live_; }
  port::Port& client_port() { return *client_; }
  port::Port& server_port() { return *server_; }
  check::FrameChecker& checker() { return *checker_; }

  std::string client_ip() const { return client_ip_; }
  std::string server_ip() const { return server_ip_; }
  // The router's MACs on the client's and on the server's link, as the topology sets them.
  std::string router_client_side_mac() const { return router_client_mac_; }
  std::string router_server_side_mac() const { return router_server_mac_; }

  // A frame from the client to the router, addressed to the server.
  Tins::EthernetII client_frame(const Tins::PDU& l4, uint8_t ttl = 64) const;
  // What the server must receive for it: the router's MAC as source, the server's as
  // destination, the TTL one less.
  expect::FrameExpectation routed_to_server(const Tins::EthernetII& sent) const;

  Row tcp_syn_is_routed();
  Row udp_is_routed();
  Row udp_zero_checksum_stays_zero();
  Row icmp_echo_is_routed();
  Row echo_reply_comes_back();
  Row nothing_else_reaches_server();
  std::vector<Row> reachability();

  // IPv6 (selftest_ipv6.cpp); empty addresses where the topology has none, and then no rows.
  std::string client_ip6() const { return client_ip6_; }
  std::string server_ip6() const { return server_ip6_; }
  Row tcp6_syn_is_routed();
  Row udp6_fragment_is_routed();
  Row echo6_reply_comes_back();
  std::vector<Row> ipv6_rows();

  std::vector<Row> run_all();

 private:
  std::unique_ptr<topo::LiveTopology> live_;
  std::unique_ptr<port::Port> client_, server_;
  std::unique_ptr<check::FrameChecker> checker_;
  std::string client_ip_, server_ip_, router_client_mac_, router_server_mac_;
  std::string client_ip6_, server_ip6_;
};

// The terminal table, ending with "N passed, N failed".
std::string format_table(const std::vector<Row>& rows);

}  // namespace vslab::selftest
