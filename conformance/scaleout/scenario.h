// The scale-out scenario (`vslab scaleout`): N directors behind an ECMP router, every one
// running vsd with the same rules. It shows where each flow landed, that a flow finds the same
// real server whichever director takes it, and what became of the flows when one director
// left the route (conformance/README.md, "Scale-out behind ECMP").
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scaleout/outcome.h"

namespace vslab::scaleout {

struct Options {
  std::string topology_file;  // a topology like topologies/ecmp.toml
  int directors = 0;          // the first N directors of the file; 0: all of them
  std::string scheduler = "mh";
  bool sloppy_tcp = true;  // vsd --sloppy-tcp on every director
  int flows = 60;          // TCP flows, and as many UDP flows, through the ECMP route
  int probes = 30;         // UDP flows sent to each director in turn
  uint16_t port = 80;
  std::string vsd_binary, vsadm_binary;
  std::vector<std::string> vsd_args;  // more options for every vsd
};

// The ipvsadm rules every director gets: a TCP and a UDP service on vip:port with the
// scheduler (mh hashes the source port too: -b mh-port), each real server in DR mode.
std::string scaleout_rules(const std::string& vip, uint16_t port, const std::string& scheduler,
                           const std::vector<std::string>& real_servers);

// Why the options do not fit their topology file (it does not parse, is no DR topology with a
// VIP, has fewer directors than asked for), or empty: run_scaleout's first check, which a
// command line makes before anything runs, as a usage mistake.
std::string options_problem(const Options& options);

// Runs the scenario and tears everything down. `progress` hears one line per step. Throws
// std::runtime_error when the bed or the directors do not come up or a step cannot be done:
// no verdict then.
Outcome run_scaleout(const Options& options,
                     const std::function<void(const std::string&)>& progress);

}  // namespace vslab::scaleout
