#include "topology/live.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/arp_probe.h"
#include "topology/ndp_probe.h"
#include "topology/runs.h"

namespace vslab::topo {

void BringUpOptions::add_external_boxes(const BringUpOptions& other) {
  auto add = [&](const std::string& role, const ExternalBox& box) {
    if (box.ports.empty()) return;
    const bool taken = role == "director" ? !external_director_ports.empty()
                                          : external_boxes.contains(role) &&
                                                !external_boxes.at(role).ports.empty();
    if (taken)
      throw std::invalid_argument("two external boxes lend ports for the node of role " + role);
    if (role == "director") {
      external_director_ports = box.ports;
      external_director_macs = box.macs;
    } else {
      external_boxes[role] = box;
    }
  };
  add("director", {other.external_director_ports, other.external_director_macs});
  for (const auto& [role, box] : other.external_boxes) add(role, box);
}

LiveTopology::LiveTopology(Topology topology, BringUpOptions options)
    : topology_(std::move(topology)),
      naming_{options.prefix.empty() ? new_run_prefix() : options.prefix} {
  if (!options.external_director_ports.empty())
    external_["director"] = std::move(options.external_director_ports);
  if (!options.external_director_macs.empty())
    external_macs_["director"] = std::move(options.external_director_macs);
  for (auto& [role, box] : options.external_boxes) {
    if (role == "director")
      throw std::invalid_argument(
          "the director's external ports go in external_director_ports, not external_boxes");
    if (!box.ports.empty()) external_[role] = std::move(box.ports);
    if (!box.macs.empty()) external_macs_[role] = std::move(box.macs);
  }
  if (!options.prefix.empty())
    if (auto problem = prefix_problem(options.prefix))
      throw std::invalid_argument("run prefix " + *problem);
  // Lent ports are checked, and their state saved, before anything changes.
  for (const auto& place : external_port_places(topology_, naming_, external_)) {
    auto state = read_link_state(place.existing);
    if (!state)
      throw std::runtime_error(
          fmt::format("topology '{}': external port '{}' (for {}:{}) is not an interface of this "
                      "namespace",
                      topology_.name, place.existing, place.node, place.director_ifname));
    handovers_.push_back({place.existing, place.netns, place.moved_name, *state});
  }
  for (const auto& [role, macs] : external_macs_)
    for (const auto& [ifname, mac] : macs)
      if (!external_ports(role).contains(ifname))
        throw std::invalid_argument(
            fmt::format("a MAC is given for {}:{}, which is not an external port", role, ifname));
  // The record comes first, so that a kill at any later point leaves something gc can find,
  // including which ports to give back.
  RunRecord record{naming_.prefix,
                   getpid(),
                   process_start_time(getpid()),
                   topology_.name,
                   topology_.source_file,
                   options.detached,
                   options.from_cli,
                   handovers_,
                   netns_names(topology_, naming_, external_),
                   process_ancestry(getpid())};
  write_run_record(record);
  up_ = true;
  for (const auto& cmd : bring_up_commands(topology_, naming_, external_)) {
    auto result = run_command(cmd.argv);
    if (result.ok()) continue;
    auto teardown_errors = tear_down();
    throw std::runtime_error(
        fmt::format("topology '{}': {} failed\n  command: {}\n  {}{}", topology_.name, cmd.purpose,
                    shell_quote(cmd.argv), result.output.empty() ? "(no output)\n" : result.output,
                    teardown_errors.empty() ? "" : "teardown also failed: " + teardown_errors));
  }
}

LiveTopology::~LiveTopology() {
  if (!released_) tear_down();
}

std::string LiveTopology::external_role(const std::string& node) const {
  for (const auto& [role, ports] : external_) {
    const Node* box = topology_.find_role(role);
    if (box && box->name == node) return role;
  }
  return {};
}

bool LiveTopology::is_external(const std::string& node) const {
  return !external_role(node).empty();
}

const ExternalPorts& LiveTopology::external_ports(const std::string& role) const {
  static const ExternalPorts none;
  auto found = external_.find(role);
  return found == external_.end() ? none : found->second;
}

std::string LiveTopology::netns(const std::string& node) const {
  if (!topology_.find_node(node))
    throw std::invalid_argument(
        fmt::format("topology '{}' has no node '{}'", topology_.name, node));
  if (is_external(node))
    throw std::logic_error(fmt::format(
        "node '{}' of topology '{}' is an external box wired to existing interfaces: it has no "
        "namespace here, so nothing can run or be opened inside it",
        node, topology_.name));
  return naming_.node_netns(node);
}

std::string LiveTopology::mac(const std::string& node, const std::string& ifname) const {
  if (auto role = external_role(node); !role.empty()) return external_mac(role, ifname);
  return interface_mac(topology_, node, ifname);
}

std::string LiveTopology::external_mac(const std::string& role, const std::string& ifname) const {
  std::lock_guard lock(external_macs_mutex_);
  auto& macs = external_macs_[role];
  if (auto known = macs.find(ifname); known != macs.end()) return known->second;
  const Node* box = topology_.find_role(role);
  const Interface* iface = box->find_interface(ifname);
  if (!iface)
    throw std::invalid_argument(
        fmt::format("{} node '{}' has no interface '{}'", role, box->name, ifname));
  const ExternalPorts& ports = external_.at(role);
  auto place = std::find_if(handovers_.begin(), handovers_.end(),
                            [&](const PortHandover& h) { return h.original == ports.at(ifname); });
  std::string address, address6;
  for (const auto& a : iface->addresses) (a.is_v6 ? address6 : address) = a.address;
  // The box answers ARP (or, for an IPv6-only port, neighbour solicitations) for its own
  // address on that segment; the probe goes out of the port it was lent, so no host of the
  // topology sees it.
  std::optional<std::string> learned;
  if (!address.empty() && place != handovers_.end())
    learned = arp_probe(place->netns, place->moved_name, address, std::chrono::seconds(2));
  else if (!address6.empty() && place != handovers_.end())
    learned = ndp_probe(place->netns, place->moved_name, address6, std::chrono::seconds(2));
  if (!learned)
    throw std::runtime_error(fmt::format(
        "the MAC of the external {}'s port {} ({}) is not known: {}; declare it in the "
        "DUT config ([ports] {} = {{ interface = \"{}\", mac = \"xx:xx:xx:xx:xx:xx\" }})",
        role, ifname, ports.at(ifname),
        !address.empty()    ? "no ARP answer for " + address + " within 2 s"
        : !address6.empty() ? "no neighbour advertisement for " + address6 + " within 2 s"
                            : "the topology gives that interface no address to ask for",
        ifname, ports.at(ifname)));
  macs[ifname] = *learned;
  return *learned;
}

CommandResult LiveTopology::exec(const std::string& node,
                                 const std::vector<std::string>& argv) const {
  std::vector<std::string> full{"ip", "netns", "exec", netns(node)};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full);
}

bool LiveTopology::ping(const std::string& node, const std::string& address, int deadline_s) const {
  // -w: keep sending until one reply arrives or the deadline passes (the first echo may
  // wait for ARP on each hop).
  return exec(node, {"ping", "-n", "-q", "-c", "1", "-i", "0.2", "-w", std::to_string(deadline_s),
                     address})
      .ok();
}

std::string LiveTopology::tear_down() noexcept {
  if (!up_) return {};
  std::string errors;
  try {
    std::set<std::string> holding;  // namespaces that still hold a lent port
    for (const auto& handover : handovers_) {
      auto given = give_back(handover);
      errors += given.problem;
      if (given.held) holding.insert(handover.netns);
    }
    std::string netns_errors;
    for (const auto& ns : netns_names(topology_, naming_, external_))
      if (netns_exists(ns) && !holding.contains(ns)) netns_errors += delete_netns(ns);
    errors += netns_errors;
    // Kept while something remains, so that gc can retry; a port that vanished (its namespace
    // deleted by hand) cannot be helped by a retry.
    if (netns_errors.empty() && holding.empty()) remove_run_record(naming_.prefix);
    // What programs of the run kept beside it (a DUT's control socket and log).
    std::error_code ec;
    std::filesystem::remove_all(run_files_dir(naming_.prefix), ec);
  } catch (const std::exception& e) {
    errors += e.what();
  }
  up_ = false;
  return errors;
}

}  // namespace vslab::topo
