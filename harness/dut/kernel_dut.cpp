#include "dut/kernel_dut.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/config_reader.h"
#include "dut/run.h"
#include "dut/schedulers.h"
#include "topology/netns.h"

namespace vslab::dut {
namespace {

bool is_executable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

bool on_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return is_executable(program);
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && is_executable(dir + "/" + program)) return true;
  return false;
}

std::string trimmed(const std::string& text) {
  auto end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

}  // namespace

KernelHost KernelHost::real() {
  KernelHost host;
  host.run = run_with_input;
  host.exists = [](const std::string& path) { return access(path.c_str(), F_OK) == 0; };
  host.installed = on_path;
  utsname names{};
  if (uname(&names) == 0) host.kernel_release = names.release;
  return host;
}

KernelConfig parse_kernel_config(std::string_view text, const std::string& source_name) {
  ConfigErrors errors(source_name);
  KernelConfig config;
  if (auto root = parse_config(text, source_name, errors)) {
    reject_unknown_keys(*root, {"ipvsadm"}, "at top level", errors);
    if (auto ipvsadm = optional_string(*root, "ipvsadm", errors)) {
      if (ipvsadm->value.empty())
        errors.add(ipvsadm->pos, "'ipvsadm' is empty: give the program's path or name");
      config.ipvsadm = ipvsadm->value;
    }
  }
  errors.throw_if_any();
  return config;
}

std::string interface_towards_client(const topo::Topology& topology, const std::string& role) {
  const topo::Node* director = topology.find_role(role);
  const topo::Node* client = topology.find_role("client");
  if (!director || !client)
    throw std::runtime_error(
        fmt::format("topology '{}' needs nodes with roles {} and client for the kernel director to "
                    "know where its VIP goes",
                    topology.name, role));
  // Who is wired to whom, and whom each director interface is wired to.
  std::map<std::string, std::set<std::string>> neighbours;
  std::map<std::string, std::set<std::string>> behind;  // director ifname -> nodes
  auto wire = [&](const topo::Endpoint& x, const topo::Endpoint& y) {
    neighbours[x.node].insert(y.node);
    if (x.node == director->name) behind[x.ifname].insert(y.node);
  };
  for (const auto& link : topology.links) {
    wire(link.a, link.b);
    wire(link.b, link.a);
  }
  for (const auto& bridge : topology.bridges)
    for (const auto& x : bridge.ports)
      for (const auto& y : bridge.ports)
        if (!(x == y)) wire(x, y);

  for (const auto& iface : director->interfaces) {
    // Breadth first, never through the director: it would reach every side.
    std::set<std::string> seen{director->name};
    std::deque<std::string> next(behind[iface.name].begin(), behind[iface.name].end());
    while (!next.empty()) {
      std::string node = next.front();
      next.pop_front();
      if (!seen.insert(node).second) continue;
      if (node == client->name) return iface.name;
      for (const auto& n : neighbours[node])
        if (!seen.contains(n)) next.push_back(n);
    }
  }
  throw std::runtime_error(
      fmt::format("topology '{}': no interface of director '{}' leads to "
                  "client '{}'",
                  topology.name, director->name, client->name));
}

KernelDut::KernelDut(KernelConfig config, KernelHost host)
    : config_(std::move(config)), host_(std::move(host)) {}

KernelDut::~KernelDut() {
  stop();
}

bool KernelDut::claims_mode(const std::string& mode) const {
  return mode == "nat" || mode == "dr" || mode == "tun";
}

bool KernelDut::claims_scheduler(const std::string& name) const {
  return is_kernel61_scheduler(name);
}

std::optional<std::string> KernelDut::unavailable_reason(const std::string& netns) const {
  std::vector<std::string> missing;
  // /proc/net is the reader's network namespace: IPVS must be there, not only in ours.
  auto probe = host_.run({"ip", "netns", "exec", netns, "test", "-e", "/proc/net/ip_vs"}, "");
  if (probe.exit_code == 1) {
    const std::string module =
        "/lib/modules/" + host_.kernel_release + "/kernel/net/netfilter/ipvs/ip_vs.ko";
    bool shipped = false;
    for (const char* compression : {"", ".xz", ".zst", ".gz"})
      shipped = shipped || host_.exists(module + compression);
    missing.push_back(
        shipped ? fmt::format("/proc/net/ip_vs missing (the ip_vs module of kernel {} is not "
                              "loaded: modprobe ip_vs)",
                              host_.kernel_release)
                : fmt::format("/proc/net/ip_vs missing (no ip_vs module in kernel {})",
                              host_.kernel_release));
  } else if (!probe.ok()) {
    missing.push_back(
        fmt::format("cannot look into namespace {}: {}", netns, trimmed(probe.output)));
  }
  if (!host_.installed(config_.ipvsadm))
    missing.push_back(config_.ipvsadm + " is not installed (apt-get install ipvsadm)");
  if (missing.empty()) return std::nullopt;
  std::string reason = "kernel IPVS not available: ";
  for (std::size_t i = 0; i < missing.size(); ++i) reason += (i ? "; " : "") + missing[i];
  return reason;
}

void KernelDut::start(const topo::LiveTopology& topology) {
  const topo::Node* director = topology.topology().find_role("director");
  if (!director)
    throw std::runtime_error("topology '" + topology.topology().name + "' has no director node");
  start_in(topology.topology(), topology.netns(director->name));
}

void KernelDut::start_in(const topo::Topology& topology, const std::string& director_netns) {
  if (auto reason = unavailable_reason(director_netns)) throw DutUnavailable(*reason);
  if (!topology.lvs.vip)
    throw std::runtime_error(fmt::format(
        "topology '{}' has no [lvs] vip for the kernel director to own", topology.name));
  stop();
  vip_interface_ = interface_towards_client(topology);
  vip_cidr_ = *topology.lvs.vip + "/32";
  netns_ = director_netns;
  // IPVS runs in the kernel's forwarding path: NAT replies from the real servers and DR/TUN
  // requests are forwarded packets. conntrack=1 keeps netfilter's view of IPVS connections,
  // so that rules in the namespace see them as established rather than invalid.
  must_run(in_netns({"sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.vs.conntrack=1"}),
           "forwarding and IPVS conntrack on");
  // A kernel director answers for the VIP as its own address (spec section 3), on the side
  // clients come from.
  must_run({"ip", "-n", netns_, "addr", "replace", vip_cidr_, "dev", vip_interface_},
           "VIP " + vip_cidr_ + " on " + vip_interface_);
  vip6_cidr_ = topology.lvs.vip6 ? *topology.lvs.vip6 + "/128" : std::string();
  if (!vip6_cidr_.empty()) {
    // IPv6 likewise: IPVS forwards it only where the namespace forwards IPv6.
    must_run(in_netns({"sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"}), "IPv6 forwarding on");
    must_run({"ip", "-n", netns_, "addr", "replace", vip6_cidr_, "dev", vip_interface_, "nodad"},
             "VIP " + vip6_cidr_ + " on " + vip_interface_);
  }
  must_run(in_netns({config_.ipvsadm, "-C"}), "an empty IPVS table");
}

Result KernelDut::restore(const std::string& rules) {
  if (netns_.empty()) return {-1, "kernel DUT: restore before start"};
  // ipvsadm -R adds to what is there; the contract is to replace it.
  auto cleared = host_.run(in_netns({config_.ipvsadm, "-C"}), "");
  if (!cleared.ok()) return cleared;
  return host_.run(in_netns({config_.ipvsadm, "-R"}), rules);
}

Result KernelDut::admin(const std::vector<std::string>& args) {
  if (netns_.empty()) return {-1, "kernel DUT: admin before start"};
  std::vector<std::string> argv{config_.ipvsadm};
  argv.insert(argv.end(), args.begin(), args.end());
  return host_.run(in_netns(std::move(argv)), "");
}

Result KernelDut::set_ipvs_sysctl(const std::string& name, const std::string& value) {
  if (netns_.empty()) return {-1, "kernel DUT: set_ipvs_sysctl before start"};
  return host_.run(in_netns({"sh", "-c", ipvs_sysctl_script(name, value)}), "");
}

void KernelDut::stop() {
  if (netns_.empty()) return;
  // Best effort: the topology may be gone already, and its namespace with the table.
  host_.run(in_netns({config_.ipvsadm, "-C"}), "");
  host_.run({"ip", "-n", netns_, "addr", "del", vip_cidr_, "dev", vip_interface_}, "");
  if (!vip6_cidr_.empty())
    host_.run({"ip", "-n", netns_, "addr", "del", vip6_cidr_, "dev", vip_interface_}, "");
  netns_.clear();
}

std::vector<std::string> KernelDut::in_netns(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", netns_});
  return argv;
}

void KernelDut::must_run(const std::vector<std::string>& argv, const std::string& purpose) {
  auto result = host_.run(argv, "");
  if (!result.ok())
    throw std::runtime_error(fmt::format("kernel DUT: {} failed\n  command: {}\n  {}", purpose,
                                         topo::shell_quote(argv), trimmed(result.output)));
}

std::unique_ptr<Dut> make_kernel_dut(const DutSpec& spec) {
  KernelConfig config;
  if (!spec.config_file.empty())
    config = parse_kernel_config(read_config_text(spec.config_file), spec.config_file);
  return std::make_unique<KernelDut>(std::move(config));
}

}  // namespace vslab::dut
