#include "sync/sync_bed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/data_dir.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::sync {
using os::UniqueFd;

namespace {

constexpr std::chrono::seconds kSocketWait{10};

sockaddr_in ipv4(const std::string& address, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
    throw std::invalid_argument("not an IPv4 address: " + address);
  return a;
}

UniqueFd socket_in(const std::string& netns, int type) {
  topo::NetnsGuard in(netns);
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error("socket failed");
  int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  return fd;
}

void bind_to(int fd, const std::string& address, uint16_t port) {
  auto a = ipv4(address, port);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error(fmt::format("bind {}:{} failed", address, port));
}

bool readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

uint16_t peer_port(int fd) {
  sockaddr_in a{};
  socklen_t length = sizeof a;
  getpeername(fd, reinterpret_cast<sockaddr*>(&a), &length);
  return ntohs(a.sin_port);
}

int seconds_of(const std::string& mm_ss) {
  auto colon = mm_ss.find(':');
  if (colon == std::string::npos) throw std::runtime_error("no mm:ss: " + mm_ss);
  return std::stoi(mm_ss.substr(0, colon)) * 60 + std::stoi(mm_ss.substr(colon + 1));
}

}  // namespace

std::string ListedConn::str() const {
  return fmt::format("{} {:02}:{:02} {} {} {} {}", protocol, expire_s / 60, expire_s % 60, state,
                     source, virtual_address, destination);
}

std::vector<ListedConn> parse_connection_listing(const std::string& text) {
  std::vector<ListedConn> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line.starts_with("IPVS connection entries") || line.starts_with("pro "))
      continue;
    std::istringstream words(line);
    ListedConn c;
    std::string expire;
    if (!(words >> c.protocol >> expire >> c.state >> c.source >> c.virtual_address >>
          c.destination))
      throw std::runtime_error("not a connection line: '" + line + "'");
    c.expire_s = seconds_of(expire);
    entries.push_back(std::move(c));
  }
  return entries;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    poll(nullptr, 0, 100);  // a listing costs the guest a command: ten a second at most
  }
  return true;
}

SyncBed::SyncBed(bool with_vsd, std::string vsd_binary, std::string vsadm_binary) {
  auto parsed = topo::parse_topology_file((topo::topology_dir() / "sync.toml").string());
  if (!parsed.ok())
    throw std::runtime_error("topologies/sync.toml: " +
                             (parsed.errors.empty() ? std::string() : parsed.errors.front()));
  kernel_ = std::make_unique<dut::qemu::QemuKernelDut>();
  kernel_->set_role(kKernelNode);
  live_ = std::make_unique<topo::LiveTopology>(std::move(*parsed.topology), topo::BringUpOptions{});
  kernel_->start(*live_);
  if (with_vsd) {
    vsd_ = std::make_unique<dut::BuiltinDut>(std::move(vsd_binary), std::move(vsadm_binary));
    vsd_->start(*live_);
  }
}

SyncBed::~SyncBed() {
  tcp_listeners_.clear();
  udp_servers_.clear();
  if (vsd_) vsd_->stop();
  kernel_->stop();
  live_.reset();
}

dut::BuiltinDut& SyncBed::vsd() {
  if (!vsd_) throw std::logic_error("SyncBed: started without vsd");
  return *vsd_;
}

void SyncBed::restore(const std::string& rules) {
  auto k = kernel_->restore(rules);
  if (!k.ok()) throw std::runtime_error("the kernel refused the rules: " + k.output);
  if (vsd_) {
    auto v = vsd_->restore(rules);
    if (!v.ok()) throw std::runtime_error("vsd refused the rules: " + v.output);
  }
}

std::string SyncBed::kernel_shell(const std::string& script) {
  auto r = kernel_->shell(script);
  if (!r.ok())
    throw std::runtime_error(
        fmt::format("in the guest, exit {}: {}\nscript:\n{}", r.exit_code, r.output, script));
  return r.output;
}

std::string SyncBed::vsd_admin(const std::vector<std::string>& args) {
  auto r = vsd().admin(args);
  if (!r.ok()) throw std::runtime_error(fmt::format("vsadm exit {}: {}", r.exit_code, r.output));
  return r.output;
}

void SyncBed::route_through(const std::string& node) {
  const bool kernel = node == kKernelNode;
  kernel_shell(kernel ? fmt::format("ip addr replace {}/32 dev eth0", kVip)
                      : fmt::format("ip addr del {}/32 dev eth0 2>/dev/null || true", kVip));
  auto mac = live_->exec(node, {"cat", "/sys/class/net/eth0/address"});
  if (!mac.ok()) throw std::runtime_error("no MAC for " + node + ": " + mac.output);
  std::string lladdr = mac.output.substr(0, mac.output.find_first_of(" \n"));
  auto neigh = live_->exec("router", {"ip", "neigh", "replace", kVip, "lladdr", lladdr, "dev",
                                      "eth1", "nud", "permanent"});
  if (!neigh.ok()) throw std::runtime_error("router neighbour: " + neigh.output);
  const std::string gateway = kernel ? "192.168.10.3" : "192.168.10.2";
  for (const char* rs : {"rs1", "rs2"}) {
    auto route = live_->exec(rs, {"ip", "route", "replace", "default", "via", gateway});
    if (!route.ok()) throw std::runtime_error(std::string(rs) + " route: " + route.output);
  }
}

void SyncBed::listen(const std::vector<uint16_t>& tcp_ports,
                     const std::vector<uint16_t>& udp_ports) {
  for (const char* rs : {"rs1", "rs2"}) {
    const std::string netns = live_->netns(rs);
    for (uint16_t port : tcp_ports) {
      auto fd = socket_in(netns, SOCK_STREAM);
      bind_to(fd.get(), "0.0.0.0", port);
      if (::listen(fd.get(), 64) != 0) throw std::runtime_error("listen failed");
      tcp_listeners_.emplace_back(rs, std::move(fd));
    }
    for (uint16_t port : udp_ports) {
      auto fd = socket_in(netns, SOCK_DGRAM);
      bind_to(fd.get(), "0.0.0.0", port);
      udp_servers_.emplace_back(rs, std::move(fd));
    }
  }
}

TcpFlow SyncBed::connect(uint16_t client_port, uint16_t port) {
  TcpFlow flow;
  flow.client = socket_in(live_->netns("client"), SOCK_STREAM);
  flow.client_port = client_port;
  int on = 1;
  setsockopt(flow.client.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  bind_to(flow.client.get(), kClient, client_port);
  auto vip = ipv4(kVip, port);
  timeval timeout{static_cast<time_t>(kSocketWait.count()), 0};
  setsockopt(flow.client.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (::connect(flow.client.get(), reinterpret_cast<const sockaddr*>(&vip), sizeof vip) != 0)
    throw std::runtime_error(fmt::format("connect {}:{} -> {}:{} failed: {}", kClient, client_port,
                                         kVip, port, strerror(errno)));
  const auto end = std::chrono::steady_clock::now() + kSocketWait;
  while (std::chrono::steady_clock::now() < end) {
    for (auto& [rs, listener] : tcp_listeners_) {
      if (!readable(listener.get(), std::chrono::milliseconds(0))) continue;
      UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!accepted) continue;
      if (peer_port(accepted.get()) != client_port) continue;  // an older flow's retry
      flow.server = std::move(accepted);
      flow.server_node = rs;
      return flow;
    }
    poll(nullptr, 0, 10);
  }
  throw std::runtime_error(fmt::format("no real server accepted {}:{}", kClient, client_port));
}

void SyncBed::send(TcpFlow& flow, std::size_t bytes) {
  std::string data(bytes, 'x');
  if (::send(flow.client.get(), data.data(), data.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(data.size()))
    throw std::runtime_error("client send failed");
  std::size_t got = 0;
  char buffer[4096];
  while (got < bytes) {
    if (!readable(flow.server.get(), kSocketWait))
      throw std::runtime_error(fmt::format("{} did not receive the segment", flow.server_node));
    auto n = recv(flow.server.get(), buffer, sizeof buffer, 0);
    if (n <= 0) throw std::runtime_error("server recv failed");
    got += static_cast<std::size_t>(n);
  }
}

void SyncBed::close_client(TcpFlow& flow) {
  shutdown(flow.client.get(), SHUT_WR);
  char c;
  if (!readable(flow.server.get(), kSocketWait) || recv(flow.server.get(), &c, 1, 0) != 0)
    throw std::runtime_error(flow.server_node + " did not see the client's FIN");
}

void SyncBed::close_both(TcpFlow& flow) {
  close_client(flow);
  flow.server.reset();
  char c;
  if (!readable(flow.client.get(), kSocketWait) || recv(flow.client.get(), &c, 1, 0) != 0)
    throw std::runtime_error("the client did not see the server's FIN");
  flow.client.reset();
}

UdpFlow SyncBed::udp(uint16_t client_port, uint16_t port) {
  UdpFlow flow;
  flow.client = socket_in(live_->netns("client"), SOCK_DGRAM);
  flow.client_port = client_port;
  bind_to(flow.client.get(), kClient, client_port);
  auto vip = ipv4(kVip, port);
  if (::connect(flow.client.get(), reinterpret_cast<const sockaddr*>(&vip), sizeof vip) != 0)
    throw std::runtime_error("UDP connect failed");
  return flow;
}

void SyncBed::send(UdpFlow& flow) {
  if (::send(flow.client.get(), "x", 1, 0) != 1) throw std::runtime_error("UDP send failed");
  const auto end = std::chrono::steady_clock::now() + kSocketWait;
  while (std::chrono::steady_clock::now() < end) {
    for (auto& [rs, fd] : udp_servers_) {
      if (!readable(fd.get(), std::chrono::milliseconds(0))) continue;
      char buffer[64];
      sockaddr_in from{};
      socklen_t length = sizeof from;
      auto n =
          recvfrom(fd.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
      if (n > 0 && ntohs(from.sin_port) == flow.client_port) {
        flow.server_node = rs;
        return;
      }
    }
    poll(nullptr, 0, 10);
  }
  throw std::runtime_error(
      fmt::format("no real server got the datagram from port {}", flow.client_port));
}

}  // namespace vslab::sync
