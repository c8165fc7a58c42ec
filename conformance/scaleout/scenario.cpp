#include "scaleout/scenario.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/dut.h"
#include "scaleout/traffic.h"
#include "topology/live.h"
#include "topology/parse.h"

namespace vslab::scaleout {

namespace {

constexpr int kConnectTimeoutMs = 5000;
constexpr int kAnswerTimeoutMs = 3000;

std::string first_ipv4(const topo::Node& node) {
  for (const auto& i : node.interfaces)
    for (const auto& a : i.addresses)
      if (!a.is_v6) return a.address;
  throw std::runtime_error("node '" + node.name + "' has no IPv4 address");
}

// The nodes whose role is PREFIX<k>, by k: director1, director2... or rs1, rs2...
std::vector<const topo::Node*> numbered(const topo::Topology& t, const std::string& prefix) {
  std::map<int, const topo::Node*> by_number;
  for (const auto& n : t.nodes) {
    if (n.role.size() <= prefix.size() || n.role.compare(0, prefix.size(), prefix) != 0) continue;
    const auto digits = n.role.substr(prefix.size());
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      by_number[std::stoi(digits)] = &n;
  }
  std::vector<const topo::Node*> out;
  for (const auto& [k, n] : by_number) out.push_back(n);
  return out;
}

const topo::Node& role(const topo::Topology& t, const std::string& name) {
  const auto* n = t.find_role(name);
  if (!n) throw std::runtime_error("topology '" + t.name + "' has no " + name + " node");
  return *n;
}

// A director's view of a flow: which flows its listing holds, by protocol and client port.
using Listed = std::set<std::pair<std::string, uint16_t>>;

Listed listed_flows(dut::Dut& director, const std::string& client_address) {
  const auto r = director.admin({"-L", "-n", "-c"});
  if (!r.ok()) throw std::runtime_error("-L -n -c failed: " + r.output);
  Listed out;
  const std::string prefix = client_address + ":";
  for (const auto& c : parse_connection_listing(r.output))
    if (c.client.rfind(prefix, 0) == 0)
      out.insert({c.proto, static_cast<uint16_t>(std::stoi(c.client.substr(prefix.size())))});
  return out;
}

class Bed {
 public:
  Bed(const Options& o, const std::function<void(const std::string&)>& progress)
      : options_(o), progress_(progress) {
    if (auto why = options_problem(o); !why.empty()) throw std::runtime_error(why);
    const auto t = *topo::parse_topology_file(o.topology_file).topology;
    vip_ = *t.lvs.vip;
    auto directors = numbered(t, "director");
    const int n = o.directors == 0 ? int(directors.size()) : o.directors;
    directors.resize(n);
    for (const auto* d : directors) {
      director_names_.push_back(d->name);
      director_roles_.push_back(d->role);
      director_addresses_.push_back(first_ipv4(*d));
    }
    for (const auto* rs : numbered(t, "rs")) {
      servers_.push_back(rs->name);
      server_addresses_.push_back(first_ipv4(*rs));
    }
    if (servers_.empty()) throw std::runtime_error("topology '" + t.name + "' has no rs1 node");
    client_ = role(t, "client").name;
    client_address_ = first_ipv4(role(t, "client"));
    router_ = role(t, "router").name;

    progress_(fmt::format("bringing up {} with {} directors", t.name, n));
    live_ = std::make_unique<topo::LiveTopology>(t);
    auto vsd_args = o.vsd_args;
    if (o.sloppy_tcp) vsd_args.push_back("--sloppy-tcp");
    const auto rules = scaleout_rules(vip_, o.port, o.scheduler, server_addresses_);
    for (std::size_t i = 0; i < director_names_.size(); ++i) {
      auto d = std::make_unique<dut::BuiltinDut>(o.vsd_binary, o.vsadm_binary, vsd_args);
      d->set_role(director_roles_[i]);
      d->start(*live_);
      if (auto r = d->restore(rules); !r.ok())
        throw std::runtime_error(director_names_[i] + " refused the rules: " + r.output);
      directors_.push_back(std::move(d));
    }
    route_over(director_addresses_);
    std::vector<NameServers::Server> named;
    for (const auto& rs : servers_) named.push_back({rs, live_->netns(rs)});
    name_servers_ = std::make_unique<NameServers>(named, vip_, o.port);
  }

  // The router's route to the VIP: over these directors (ECMP), or one of them alone.
  void route_over(const std::vector<std::string>& addresses) {
    std::vector<std::string> argv{"ip", "route", "replace", vip_ + "/32"};
    if (addresses.size() == 1)
      argv.insert(argv.end(), {"via", addresses[0]});
    else
      for (const auto& a : addresses) argv.insert(argv.end(), {"nexthop", "via", a});
    if (auto r = live_->exec(router_, argv); !r.ok())
      throw std::runtime_error("the router refused " + topo::shell_quote(argv) + ": " + r.output);
  }

  // Each probe flow through each director alone, the route pinned to it. Each director meets
  // the flows in an order of its own, as directors behind ECMP never see the same sequence (a
  // scheduler that follows arrival order is not consistent by accident).
  std::vector<Probe> probe_each_director() {
    progress_(fmt::format("sending {} UDP flows to each director in turn", options_.probes));
    probe_flows_ = open_udp_flows(live_->netns(client_), vip_, options_.port, options_.probes);
    auto& flows = probe_flows_;
    std::vector<Probe> probes(flows.size());
    for (std::size_t i = 0; i < flows.size(); ++i) probes[i].client_port = flows[i].port;
    for (std::size_t d = 0; d < director_names_.size(); ++d) {
      route_over({director_addresses_[d]});
      std::vector<ClientFlow*> order;
      const std::size_t start = d * flows.size() / director_names_.size();
      for (std::size_t k = 0; k < flows.size(); ++k)
        order.push_back(&flows[(start + k) % flows.size()]);
      const auto answers = ask_each(order, kAnswerTimeoutMs);
      for (std::size_t k = 0; k < order.size(); ++k)
        probes[(start + k) % flows.size()].server_by_director[director_names_[d]] =
            answers[k].server;
    }
    route_over(director_addresses_);
    return probes;
  }

  std::vector<Flow> flows_through_ecmp(std::string& removed) {
    progress_(fmt::format("opening {} TCP connections and {} UDP flows through the ECMP route",
                          options_.flows, options_.flows));
    auto tcp = open_tcp_flows(live_->netns(client_), vip_, options_.port, options_.flows,
                              kConnectTimeoutMs);
    auto udp = open_udp_flows(live_->netns(client_), vip_, options_.port, options_.flows);
    std::vector<ClientFlow*> all;
    std::vector<Flow> flows;
    auto add = [&](const char* proto, ClientFlow& f) {
      all.push_back(&f);
      Flow flow;
      flow.proto = proto;
      flow.client_port = f.port;
      flows.push_back(flow);
    };
    for (auto& f : tcp) add("TCP", f);
    for (auto& f : udp) add("UDP", f);

    // A flow's director is the one that lists its port: a UDP port listed before its flow
    // sent anything would make every director that lists it look like the flow's (the TCP
    // flows' handshakes have made their entries already).
    const auto listed_unsent = listings();
    for (const auto& f : flows)
      for (std::size_t d = 0; d < director_names_.size() && f.proto == "UDP"; ++d)
        if (listed_unsent[d].contains({f.proto, f.client_port}))
          throw std::runtime_error(fmt::format("{} is listed by {} before it sent anything", f.id(),
                                               director_names_[d]));
    const auto before = ask_each(all, kAnswerTimeoutMs);
    const auto listed_before = listings();
    removed = director_names_.front();
    progress_(removed + " leaves the route; every flow sends again");
    route_over({director_addresses_.begin() + 1, director_addresses_.end()});
    const auto after = ask_each(all, kAnswerTimeoutMs);
    const auto listed_after = listings();

    for (std::size_t i = 0; i < flows.size(); ++i) {
      auto& f = flows[i];
      const std::pair<std::string, uint16_t> key{f.proto, f.client_port};
      f.server_before = before[i].error.empty() ? before[i].server : "(" + before[i].error + ")";
      for (std::size_t d = 0; d < director_names_.size(); ++d)
        if (listed_before[d].contains(key)) f.director_before = director_names_[d];
      // Where it went: the director that listed it only after; none new, it stayed where it
      // was unless it broke (a director that answered it with a RST lists nothing).
      f.server_after = after[i].server;
      f.error_after = after[i].error;
      for (std::size_t d = 0; d < director_names_.size(); ++d)
        if (listed_after[d].contains(key) && !listed_before[d].contains(key))
          f.director_after = director_names_[d];
      if (f.director_after.empty() && f.error_after.empty()) f.director_after = f.director_before;
    }
    return flows;
  }

  std::vector<Listed> listings() {
    std::vector<Listed> out;
    for (auto& d : directors_) out.push_back(listed_flows(*d, client_address_));
    return out;
  }

  const std::vector<std::string>& director_names() const { return director_names_; }

 private:
  const Options& options_;
  const std::function<void(const std::string&)>& progress_;
  std::string vip_, client_, client_address_, router_;
  std::vector<std::string> director_names_, director_roles_, director_addresses_;
  std::vector<std::string> servers_, server_addresses_;
  // Torn down in reverse: the servers' thread, the directors, then the namespaces.
  std::unique_ptr<topo::LiveTopology> live_;
  std::vector<std::unique_ptr<dut::BuiltinDut>> directors_;
  std::unique_ptr<NameServers> name_servers_;
  // The probes' sockets stay open to the end, so that no flow opened later gets a probe's
  // client port: every director holds an entry for each probe (UDP's 300 s), and a flow on
  // such a port would be listed everywhere before it sent anything.
  std::vector<ClientFlow> probe_flows_;
};

}  // namespace

std::string options_problem(const Options& o) {
  auto parsed = topo::parse_topology_file(o.topology_file);
  if (!parsed.ok()) {
    std::string errors;
    for (const auto& e : parsed.errors) errors += "\n" + e;
    return "the topology does not parse:" + errors;
  }
  const auto& t = *parsed.topology;
  if (t.lvs.mode != "dr" || !t.lvs.vip)
    return "topology '" + t.name + "' is not a DR topology with a VIP";
  const auto directors = numbered(t, "director").size();
  const int n = o.directors == 0 ? int(directors) : o.directors;
  if (n < 2 || n > int(directors))
    return fmt::format(
        "topology '{}' has {} director nodes (roles director1, director2...); {} asked for, "
        "and ECMP needs two or more",
        t.name, directors, n);
  return {};
}

std::string scaleout_rules(const std::string& vip, uint16_t port, const std::string& scheduler,
                           const std::vector<std::string>& real_servers) {
  // mh and sh hash the source address alone unless told to take the port too; one client's
  // flows would all meet one real server.
  const bool hashes = scheduler == "mh" || scheduler == "sh";
  std::string out = "-C\n";
  for (const char* proto : {"-t", "-u"}) {
    const std::string service = fmt::format("{} {}:{}", proto, vip, port);
    out += fmt::format("-A {} -s {}{}\n", service, scheduler,
                       hashes ? " -b " + scheduler + "-port" : "");
    for (const auto& rs : real_servers)
      out += fmt::format("-a {} -r {}:{} -g -w 1\n", service, rs, port);
  }
  return out;
}

Outcome run_scaleout(const Options& options,
                     const std::function<void(const std::string&)>& progress) {
  Bed bed(options, progress);
  Outcome outcome;
  outcome.scheduler = options.scheduler;
  outcome.sloppy_tcp = options.sloppy_tcp;
  outcome.directors = bed.director_names();
  outcome.probes = bed.probe_each_director();
  outcome.flows = bed.flows_through_ecmp(outcome.removed);
  return outcome;
}

}  // namespace vslab::scaleout
