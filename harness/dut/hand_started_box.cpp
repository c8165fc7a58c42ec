#include "dut/hand_started_box.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fmt/core.h>

#include "dut/schedulers.h"
#include "os/unique_fd.h"
#include "topology/handover.h"
#include "topology/netns.h"
#include "topology/script.h"

namespace vslab::dut {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kNetnsPrefix = "xdut-";

void must(const std::vector<std::string>& argv) {
  auto result = topo::run_command(argv);
  if (!result.ok())
    throw std::runtime_error(
        fmt::format("hand-started box: `{}` failed: {}", topo::shell_quote(argv), result.output));
}

// The vsd whose pid a box's vsd.pid holds, SIGKILLed: one revived by a failover config's
// command is no child of ours and would outlive the namespace. Only a process named vsd.
void kill_recorded_vsd(const std::string& dir) {
  std::ifstream in(dir + "/vsd.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (std::getline(comm, name) && name == "vsd") ::kill(pid, SIGKILL);
}

// A box of a test process that died without its destructor (kill -9, a CTest timeout) leaves
// its namespace, and with it the veths to this namespace: remove those of dead processes, so
// that their names are free again. Only names of this file's making are touched.
void remove_boxes_of_dead_processes() {
  for (const auto& name : topo::list_netns()) {
    if (name.rfind(kNetnsPrefix, 0) != 0) continue;
    auto rest = name.substr(kNetnsPrefix.size());
    auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    int pid = 0;
    try {
      pid = std::stoi(rest.substr(0, dash));
    } catch (const std::exception&) {
      continue;
    }
    if (pid <= 0 || std::filesystem::exists("/proc/" + std::to_string(pid))) continue;
    kill_recorded_vsd("/run/" + name);
    topo::delete_netns(name);
    std::error_code ec;
    std::filesystem::remove_all("/run/" + name, ec);
  }
}

}  // namespace

std::string quoted_toml(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string built_vsd_binary() {
  return VSLAB_VSD_BINARY;
}

std::string built_vsadm_binary() {
  return VSLAB_VSADM_BINARY;
}

HandStartedBox::HandStartedBox(const topo::Node& director, std::vector<std::string> vsd_args,
                               std::string vsd_binary, std::string vsadm_binary)
    : vsd_(std::move(vsd_binary)), vsadm_(std::move(vsadm_binary)), vsd_args_(std::move(vsd_args)) {
  for (const auto& iface : director.interfaces) port_names_.push_back(iface.name);
  // The pid keeps processes that CTest runs in parallel apart; the sequence, boxes of one.
  static std::atomic<int> sequence{0};
  const int n = ++sequence;
  netns_ = fmt::format("{}{}-{}", kNetnsPrefix, getpid(), n);
  dir_ = "/run/" + netns_;
  if (director.interfaces.size() > 26)
    throw std::invalid_argument("hand-started box: more than 26 director interfaces");
  for (std::size_t i = 0; i < director.interfaces.size(); ++i)
    ports_[director.interfaces[i].name] =
        fmt::format("xd{}{}-{}", n, char('a' + i), getpid());  // at most 15 bytes
  remove_boxes_of_dead_processes();
  for (const auto& [ifname, here] : ports_)
    if (topo::read_link_state(here))
      throw std::runtime_error(fmt::format(
          "hand-started box: {} exists already: remove it with `ip link del {}`", here, here));
  try {
    build(director);
    start_vsd();
  } catch (...) {
    clean_up();
    throw;
  }
}

HandStartedBox::~HandStartedBox() {
  clean_up();
}

const std::string& HandStartedBox::root_interface(const std::string& director_ifname) const {
  return ports_.at(director_ifname);
}

std::string HandStartedBox::mac(const std::string& director_ifname) const {
  auto shown = topo::run_command(
      {"ip", "netns", "exec", netns_, "cat", "/sys/class/net/" + director_ifname + "/address"});
  if (!shown.ok())
    throw std::runtime_error("hand-started box: no interface " + director_ifname + ": " +
                             shown.output);
  return shown.output.substr(0, shown.output.find('\n'));
}

std::string HandStartedBox::log() const {
  std::ifstream in(dir_ + "/vsd.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool HandStartedBox::vsd_running() const {
  return vsd_process_.owns() && !vsd_process_.has_exited();
}

void HandStartedBox::build(const topo::Node& director) {
  std::filesystem::create_directories(dir_);
  must({"ip", "netns", "add", netns_});
  made_netns_ = true;
  // As the topology does for a namespace without IPv6 addresses: no router solicitations.
  // With them, IPv6 on and no duplicate address detection, so they are usable at once.
  if (!topo::uses_ipv6(director))
    must({"ip", "netns", "exec", netns_, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
          "net.ipv6.conf.default.disable_ipv6=1"});
  else
    must({"ip", "netns", "exec", netns_, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0",
          "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.all.accept_dad=0",
          "net.ipv6.conf.default.accept_dad=0"});
  must({"ip", "-n", netns_, "link", "set", "lo", "up"});
  for (const auto& iface : director.interfaces) {
    const auto& here = ports_.at(iface.name);
    must({"ip", "link", "add", here, "type", "veth", "peer", "name", iface.name, "netns", netns_});
    // As a NIC left up by its owner: giving it back must bring it up again.
    must({"ip", "link", "set", here, "up"});
  }
  auto onoff = [](bool on) { return std::string(on ? "on" : "off"); };
  for (const auto& iface : director.interfaces) {
    // The box keeps its own MAC; MTU and offloads are what the topology asks of the node.
    must({"ip", "-n", netns_, "link", "set", iface.name, "mtu", std::to_string(iface.mtu)});
    const auto& o = iface.offloads;
    must({"ip", "netns", "exec", netns_, "ethtool", "-K", iface.name, "tx", onoff(o.tx_checksum),
          "rx", onoff(o.rx_checksum), "tso", onoff(o.tso), "gso", onoff(o.gso), "gro",
          onoff(o.gro)});
    for (const auto& address : iface.addresses) {
      std::vector<std::string> argv{"ip",  "-n",          netns_, "addr",
                                    "add", address.str(), "dev",  iface.name};
      if (address.is_v6) argv.push_back("nodad");
      must(argv);
    }
    must({"ip", "-n", netns_, "link", "set", iface.name, "up"});
  }
  for (const auto& address : director.loopback_addresses) {
    std::vector<std::string> argv{"ip", "-n", netns_, "addr", "add", address.str(), "dev", "lo"};
    if (address.is_v6) argv.push_back("nodad");
    must(argv);
  }
  for (const auto& [key, value] : director.sysctls)
    must({"ip", "netns", "exec", netns_, "sysctl", "-qw", key + "=" + value});
  for (const auto& route : director.routes) {
    std::vector<std::string> argv{"ip"};
    if (route.is_v6) argv.push_back("-6");
    argv.insert(argv.end(), {"-n", netns_, "route", "add", route.to});
    if (route.via) argv.insert(argv.end(), {"via", *route.via});
    if (route.dev) argv.insert(argv.end(), {"dev", *route.dev});
    must(argv);
  }
}

// As director/README.md says: `ip netns exec NS vsd --port eth0 [--port eth1] --socket S &`.
// vsd puts the ingress drop on its ports itself.
std::vector<std::string> HandStartedBox::vsd_argv() const {
  std::vector<std::string> argv{"ip", "netns", "exec", netns_, vsd_, "--socket", socket()};
  for (const auto& name : port_names_) argv.insert(argv.end(), {"--port", name});
  argv.insert(argv.end(), vsd_args_.begin(), vsd_args_.end());
  return argv;
}

void HandStartedBox::start_vsd() {
  const auto argv = vsd_argv();
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("hand-started box: pipe failed");
  os::UniqueFd output(out[0]), output_end(out[1]);
  const std::string log_path = dir_ + "/vsd.log";
  os::UniqueFd log_fd(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log_fd) throw std::runtime_error("hand-started box: cannot create " + log_path);
  os::SpawnOptions options;
  options.stdout_fd = output_end.get();
  options.stderr_fd = log_fd.get();
  // vsd goes with the test, also when the test is killed (ip netns exec execs it in place).
  options.parent_death_signal = SIGTERM;
  options.new_process_group = true;  // a terminal's ^C is the harness's to pass on
  try {
    vsd_process_ = os::ChildProcess::spawn(argv, options);
  } catch (const std::system_error&) {
    throw std::runtime_error("hand-started box: fork failed");
  }
  output_end.reset();
  log_fd.reset();
  // Ready is a line vsd prints once its ports and control socket are open.
  std::string said;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (said.find("vsd: ready") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{output.get(), POLLIN, 0};
    char buffer[256];
    ssize_t n = 0;
    if (left.count() > 0 && poll(&pfd, 1, int(left.count())) > 0)
      n = read(output.get(), buffer, sizeof buffer);
    if (n <= 0) {
      throw std::runtime_error("hand-started box: vsd did not say it was ready within 10 s:\n" +
                               log());
    }
    said.append(buffer, size_t(n));
  }
  // ip netns exec execs vsd in place: the pid is vsd's.
  std::ofstream(dir_ + "/vsd.pid") << vsd_process_.pid() << "\n";
}

std::string HandStartedBox::kill_command(const std::vector<std::string>& floating_cidrs) const {
  std::string command;
  for (const auto& cidr : floating_cidrs)
    for (const auto& name : port_names_)
      command += fmt::format("ip -n {} addr del {} dev {} 2>/dev/null; ", netns_, cidr, name);
  return command + fmt::format("kill -KILL \"$(cat {}/vsd.pid)\"", dir_);
}

std::string HandStartedBox::revive_command() const {
  const std::string vsadm = topo::shell_quote({vsadm_, "--socket", socket()});
  // Polled, not waited for blindly: the socket answers once vsd is ready.
  return fmt::format(
      "{} </dev/null >/dev/null 2>>{}/vsd.log & echo $! >{}/vsd.pid; n=0; "
      "until {} -L -n >/dev/null 2>&1; do n=$((n+1)); [ $n -le 200 ] || exit 1; sleep 0.05; done",
      topo::shell_quote(vsd_argv()), dir_, dir_, vsadm);
}

std::string HandStartedBox::take_vip_command() const {
  return fmt::format(
      "ip -n {0} addr replace {{cidr}} dev {{dev}} && ip netns exec {0} busybox arping -q -U -c 1 "
      "-I "
      "{{dev}} {{address}}",
      netns_);
}

std::string HandStartedBox::release_vip_command() const {
  return fmt::format("ip -n {} addr del {{cidr}} dev {{dev}} 2>/dev/null || true", netns_);
}

void HandStartedBox::clean_up() noexcept {
  try {
    vsd_process_.stop(SIGTERM);
    kill_recorded_vsd(dir_);
    // The veths go with the namespace their box ends are in, wherever the other ends are
    // (still lent to a topology whose owner died, too).
    if (made_netns_) topo::delete_netns(netns_);
    made_netns_ = false;
    for (const auto& [ifname, here] : ports_)
      if (topo::read_link_state(here)) topo::run_command({"ip", "link", "del", here});
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } catch (...) {
  }
}

std::string external_config_text(const HandStartedBox& box) {
  const std::string vsadm = topo::shell_quote({box.vsadm_binary(), "--socket", box.socket()});
  std::string ports;
  for (const auto& [ifname, here] : box.ports())
    ports += fmt::format("{} = {}\n", ifname, quoted_toml(here));
  std::string schedulers;
  for (auto name : kKernel61Schedulers) schedulers += quoted_toml(std::string(name)) + ", ";
  schedulers += quoted_toml(std::string(kTwosScheduler));
  return fmt::format(R"([dut]
name = "vsd by hand"
restore = {}
admin = {}
[ports]          # topology director interface -> existing interface in the root namespace
{}[claims]
modes = ["nat", "dr", "tun", "fullnat"]
schedulers = [{}]
)",
                     quoted_toml(vsadm + " -R"), quoted_toml(vsadm + " {args}"), ports, schedulers);
}

std::string write_external_config(const HandStartedBox& box) {
  const std::string path = box.dir() + "/dut.toml";
  std::ofstream out(path);
  out << external_config_text(box);
  out.close();
  if (!out) throw std::runtime_error("hand-started box: cannot write " + path);
  return path;
}

}  // namespace vslab::dut
