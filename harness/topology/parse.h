// Reads a topology TOML file into a Topology, checking everything iproute2 would reject and
// everything that would leave the topology half-wired. Every problem is reported as
// "FILE:LINE:COLUMN: message".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "topology/model.h"

namespace vslab::topo {

struct ParseResult {
  std::optional<Topology> topology;  // set only when errors is empty
  std::vector<std::string> errors;   // "FILE:LINE:COLUMN: message", in file order
  bool ok() const { return errors.empty(); }
};

ParseResult parse_topology(std::string_view text, const std::string& source_name);
ParseResult parse_topology_file(const std::string& path);

// The same checks the parser makes, for names that come from elsewhere (the CLI).
bool is_valid_node_name(std::string_view name);       // [A-Za-z0-9_-], 1..32 bytes
bool is_valid_interface_name(std::string_view name);  // [A-Za-z0-9_.-], 1..15, not . or ..

}  // namespace vslab::topo
