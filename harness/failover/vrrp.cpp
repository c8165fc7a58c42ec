#include "failover/vrrp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vslab::failover {

std::string keepalived_config(const std::string& router_name, const VrrpInstance& instance) {
  std::string addresses;
  for (const auto& a : instance.addresses)
    addresses += fmt::format("    {} dev {}\n", a.cidr, a.dev);
  // Version 3 for an advertisement interval under a second; gratuitous ARPs again 1 s after
  // becoming master, for a neighbour that missed the first ones.
  return fmt::format(
      "global_defs {{\n"
      "  router_id {0}\n"
      "  vrrp_version 3\n"
      "  vrrp_garp_master_delay 1\n"
      "  vrrp_garp_master_repeat 3\n"
      "}}\n"
      "vrrp_instance VSLAB {{\n"
      "  state BACKUP\n"
      "  interface {1}\n"
      "  virtual_router_id {2}\n"
      "  priority {3}\n"
      "  advert_int {4}.{5:02d}\n"
      "  virtual_ipaddress {{\n{6}  }}\n"
      "}}\n",
      router_name, instance.interface, instance.virtual_router_id, instance.priority,
      instance.advert_centiseconds / 100, instance.advert_centiseconds % 100, addresses);
}

Keepalived::Keepalived(std::string netns, std::string files_dir, std::string name,
                       VrrpInstance instance)
    : netns_(std::move(netns)),
      files_dir_(std::move(files_dir)),
      name_(std::move(name)),
      instance_(std::move(instance)) {}

std::string Keepalived::binary() {
  for (const char* path :
       {"/usr/sbin/keepalived", "/sbin/keepalived", "/usr/local/sbin/keepalived"})
    if (access(path, X_OK) == 0) return path;
  return {};
}

void Keepalived::start() {
  const std::string program = binary();
  if (program.empty()) throw std::runtime_error("keepalived is not installed");
  std::filesystem::create_directories(files_dir_);
  const auto file = [&](const std::string& suffix) {
    return (std::filesystem::path(files_dir_) / ("keepalived-" + name_ + suffix)).string();
  };
  const std::string config = file(".conf");
  std::ofstream(config) << keepalived_config("vslab_" + name_, instance_);
  // -n: stays in front (its VRRP child beside it), -l: logs to its standard error; pid files of
  // its own so that two keepalived on one machine do not take each other for a running one.
  std::vector<std::string> argv{"ip",
                                "netns",
                                "exec",
                                netns_,
                                program,
                                "-n",
                                "-l",
                                "-D",
                                "--vrrp",
                                "-f",
                                config,
                                "-p",
                                file(".pid"),
                                "-r",
                                file("-vrrp.pid"),
                                "-c",
                                file("-checkers.pid")};
  const os::UniqueFd log_fd(
      open(file(".log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  const os::UniqueFd null_fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log_fd || !null_fd) throw std::runtime_error("cannot create " + file(".log"));
  os::SpawnOptions options;
  options.stdin_fd = null_fd.get();
  options.stdout_fd = log_fd.get();
  options.stderr_fd = log_fd.get();
  options.new_process_group = true;
  options.parent_death_signal = SIGKILL;
  process_ = os::ChildProcess::spawn(argv, options);
  // It has read its config once it says so; a config it refuses ends it first.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log().find("Startup complete") == std::string::npos) {
    if (process_.has_exited())
      throw std::runtime_error("keepalived in " + netns_ + " exited:\n" + log());
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("keepalived in " + netns_ + " did not start within 10 s:\n" + log());
    poll(nullptr, 0, 20);
  }
}

void Keepalived::kill() noexcept {
  process_.kill_and_reap();
}

std::string Keepalived::log() const {
  std::ifstream in((std::filesystem::path(files_dir_) / ("keepalived-" + name_ + ".log")).string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool holds_address(const std::string& netns, const std::string& address) {
  auto r =
      topo::run_command({"ip", "-n", netns, "-o", "-4", "addr", "show", "to", address + "/32"});
  return r.ok() && !r.output.empty();
}

namespace {

// A gratuitous ARP request (sender and target the address) from the interface, as keepalived
// sends one on becoming master: the neighbours' caches move to this MAC.
std::string announce(const std::string& netns, const FloatingAddress& a) {
  topo::NetnsGuard in(netns);
  const os::UniqueFd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!fd) return "packet socket: " + std::string(std::strerror(errno));
  // Two requests: the MAC and the index share the request's union.
  ifreq hw{}, req{};
  std::strncpy(hw.ifr_name, a.dev.c_str(), IFNAMSIZ - 1);
  std::strncpy(req.ifr_name, a.dev.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd.get(), SIOCGIFHWADDR, &hw) != 0 || ioctl(fd.get(), SIOCGIFINDEX, &req) != 0)
    return a.dev + ": " + std::strerror(errno);
  std::array<uint8_t, 6> mac{};
  std::memcpy(mac.data(), hw.ifr_hwaddr.sa_data, 6);
  in_addr ip{};
  if (inet_pton(AF_INET, a.address().c_str(), &ip) != 1) return "not an IPv4 address: " + a.cidr;
  std::array<uint8_t, 42> frame{};
  std::memset(frame.data(), 0xff, 6);
  std::memcpy(frame.data() + 6, mac.data(), 6);
  const uint8_t head[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
  std::memcpy(frame.data() + 12, head, sizeof head);
  std::memcpy(frame.data() + 22, mac.data(), 6);
  std::memcpy(frame.data() + 28, &ip, 4);
  std::memcpy(frame.data() + 38, &ip, 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = req.ifr_ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  if (sendto(fd.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to),
             sizeof to) != ssize_t(frame.size()))
    return "gratuitous ARP on " + a.dev + ": " + std::strerror(errno);
  return {};
}

}  // namespace

std::string take_addresses(const std::string& netns,
                           const std::vector<FloatingAddress>& addresses) {
  for (const auto& a : addresses) {
    if (!holds_address(netns, a.address())) {
      auto r = topo::run_command({"ip", "-n", netns, "addr", "add", a.cidr, "dev", a.dev});
      if (!r.ok()) return "ip addr add " + a.cidr + " dev " + a.dev + ": " + r.output;
    }
    if (auto error = announce(netns, a); !error.empty()) return error;
  }
  return {};
}

std::string release_addresses(const std::string& netns,
                              const std::vector<FloatingAddress>& addresses) {
  for (const auto& a : addresses) {
    if (!holds_address(netns, a.address())) continue;
    auto r = topo::run_command({"ip", "-n", netns, "addr", "del", a.cidr, "dev", a.dev});
    if (!r.ok()) return "ip addr del " + a.cidr + " dev " + a.dev + ": " + r.output;
  }
  return {};
}

}  // namespace vslab::failover
