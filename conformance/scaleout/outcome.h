// What the scale-out scenario saw, flow by flow, and the verdict it draws: plain values, so that
// the counting and the report are tested without namespaces (outcome_test.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vslab::scaleout {

// One line of `-L -n -c`: pro expire state source virtual destination (docs/ipvs.md 9).
struct ListedConnection {
  std::string proto;  // "TCP", "UDP"
  std::string state;
  std::string client;  // "10.20.0.2:40000"
  std::string virtual_address;
  std::string destination;
};
std::vector<ListedConnection> parse_connection_listing(const std::string& text);

// The same flow (one client port) sent to each director in turn, the route pinned to it.
struct Probe {
  uint16_t client_port = 0;
  std::map<std::string, std::string> server_by_director;  // director -> real server, or "" (none)
  bool consistent() const;
};

// A flow through the ECMP route, before and after a director left it.
struct Flow {
  std::string proto;  // "TCP", "UDP"
  uint16_t client_port = 0;
  std::string director_before, server_before;  // from the listings; the server's own answer
  std::string director_after, server_after;    // server_after empty: error_after says why
  std::string error_after;
  bool moved() const { return director_after != director_before; }
  bool kept() const { return error_after.empty() && server_after == server_before; }
  std::string id() const;  // "TCP :40012"
};

struct Outcome {
  std::string scheduler;
  bool sloppy_tcp = false;
  std::vector<std::string> directors;  // in the route's order
  std::string removed;
  std::vector<Probe> probes;
  std::vector<Flow> flows;
};

struct Figures {
  std::map<std::string, int> tcp_by_director, udp_by_director;  // before the removal
  int inconsistent_probes = 0;
  int moved = 0, moved_kept = 0, broken = 0;
  std::vector<std::string> problems;  // why the scenario fails, one line each
  bool passed() const { return problems.empty(); }
};

// Fails when a probe chose different real servers, when a director took no flow (no spread),
// when no flow moved (the removal tested nothing), and for every flow that lost its server.
Figures figures_of(const Outcome& outcome);
// The human report: the figures, then every broken flow and inconsistent probe.
std::string report_text(const Outcome& outcome, const Figures& figures);

}  // namespace vslab::scaleout
