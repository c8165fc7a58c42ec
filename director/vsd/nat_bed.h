// vsd's own black-box tests: topologies/nat.toml up and vsd started in it, as a program.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vsd {

// `vsadm --counters` as name -> value.
inline std::map<std::string, uint64_t> parse_counters(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string name;
  uint64_t value;
  while (in >> name >> value) out[name] = value;
  return out;
}

class NatBed {
 public:
  explicit NatBed(std::vector<std::string> vsd_args = {})
      : live_(parse()), dut_(VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY, std::move(vsd_args)) {
    dut_.start(live_);
  }
  vslab::topo::LiveTopology& live() { return live_; }
  vslab::dut::BuiltinDut& dut() { return dut_; }

 private:
  static vslab::topo::Topology parse() {
    auto parsed =
        vslab::topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/nat.toml");
    if (!parsed.ok()) throw std::runtime_error("topologies/nat.toml does not parse");
    return *parsed.topology;
  }
  vslab::topo::LiveTopology live_;
  vslab::dut::BuiltinDut dut_;
};

}  // namespace vsd
