#include "vsd/workers.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "io/flow_steering.h"
#include "io/idle_spin.h"
#include "vsd/log.h"

namespace vsd {

std::vector<uint32_t> server_side_addresses(const RuleSet& rules) {
  std::vector<uint32_t> out;
  for (const Service& s : rules.services) {
    if (s.family() != Family::V4) continue;
    if (s.key.fwmark == 0) out.push_back(s.key.vip.addr.v4().value);
    for (const Destination& d : s.destinations)
      if (d.addr.family() == Family::V4) out.push_back(d.addr.addr.v4().value);
    for (Ipv4 local : s.local_addresses) out.push_back(local.value);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> local_addresses(const RuleSet& rules) {
  std::vector<uint32_t> out;
  for (const Service& s : rules.services)
    for (Ipv4 local : s.local_addresses) out.push_back(local.value);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string refused_with_workers(const RuleSet& rules, uint32_t workers) {
  if (workers <= 1) return "";
  if (auto n = server_side_addresses(rules).size() + 2 * local_addresses(rules).size();
      n > kMaxSteeringAddresses)
    return std::to_string(n) + " VIPs, real-server and (twice) local addresses: vsd --workers " +
           std::to_string(workers) + " steers flows by at most " +
           std::to_string(kMaxSteeringAddresses) + "; run vsd with --workers 1";
  return "";
}

ArpListener::ArpListener(const std::string& ifname, int ifindex) {
  fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ARP)));
  if (!fd_) throw std::runtime_error("port " + ifname + ": ARP socket: " + std::strerror(errno));
  // The ARP requests the workers send themselves are not news to them.
  int one = 1;
  setsockopt(fd_.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ARP);
  addr.sll_ifindex = ifindex;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("port " + ifname + ": bind ARP socket: " + std::strerror(errno));
}

ssize_t ArpListener::receive() {
  sockaddr_ll from{};
  socklen_t len = sizeof from;
  for (;;) {
    const ssize_t n =
        recvfrom(fd_.get(), buffer_, sizeof buffer_, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0 && from.sll_pkttype == PACKET_OUTGOING) continue;
    return n;
  }
}

FlowSteering::FlowSteering(const std::vector<std::vector<PacketSocket*>>& ports,
                           const RuleSet& rules)
    : owners_(ports.front()), workers_(uint32_t(ports.size())) {
  const auto program =
      steering_program(server_side_addresses(rules), local_addresses(rules), workers_);
  for (std::size_t p = 0; p < owners_.size(); ++p) {
    const uint16_t group = owners_[p]->make_fanout(program);
    for (std::size_t w = 1; w < ports.size(); ++w) ports[w][p]->join_fanout(group);
  }
}

// The addresses of every rule set given, each once.
void FlowSteering::set(const std::vector<const RuleSet*>& rules) {
  std::vector<uint32_t> server_side, locals;
  for (const RuleSet* r : rules) {
    auto s = server_side_addresses(*r);
    server_side.insert(server_side.end(), s.begin(), s.end());
    auto l = local_addresses(*r);
    locals.insert(locals.end(), l.begin(), l.end());
  }
  for (auto* v : {&server_side, &locals}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  const auto program = steering_program(server_side, locals, workers_);
  for (PacketSocket* port : owners_) port->set_fanout_program(program);
}

std::string FlowSteering::before(const RuleSet& now, const RuleSet& next) {
  if (auto why = refused_with_workers(next, workers_); !why.empty()) return why;
  try {
    try {
      set({&now, &next});
    } catch (const std::invalid_argument&) {
      // Both sets together do not fit: the next one's alone, a moment early.
      set({&next});
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

void FlowSteering::after(const RuleSet& next) {
  try {
    set({&next});
  } catch (const std::exception& e) {
    log_error(std::string("vsd: ") + e.what());
  }
}

Worker::Worker(std::vector<std::unique_ptr<PacketSocket>> ports,
               std::chrono::microseconds idle_spin)
    : ports_(std::move(ports)), idle_spin_(idle_spin) {
  for (const auto& port : ports_) arp_.emplace_back(port->name(), port->ifindex());
  stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

void Worker::set_dataplane(std::unique_ptr<Dataplane> dataplane) {
  dataplane_ = std::move(dataplane);
  dataplane_->set_answers_arp(false);
}

Worker::~Worker() {
  stop();
}

void Worker::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(stop_fd_.get(), &one, sizeof one) != sizeof one)
      log_error("vsd: cannot stop a worker");
    thread_.join();
  }
}

void Worker::start() {
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& e) {
      log_error(std::string("vsd: worker: ") + e.what());
    }
    calls_.close();
  });
}

// vsd's main loop (main.cpp) without the signals: a batch from each port, the flush and the
// timers, the control thread's calls between two batches; the ARP copies when poll() says
// they wait (no system call per batch for them while frames stream).
void Worker::run() {
  std::vector<pollfd> fds;
  for (auto& p : ports_) fds.push_back({p->rx_fd(), POLLIN, 0});
  for (auto& a : arp_) fds.push_back({a.fd(), POLLIN, 0});
  fds.push_back({calls_.fd(), POLLIN, 0});
  fds.push_back({stop_fd_.get(), POLLIN, 0});
  const std::size_t calls_at = fds.size() - 2, stop_at = fds.size() - 1;
  Dataplane& dp = *dataplane_;
  auto serve = [&] {
    bool any = false;
    for (std::size_t i = 0; i < ports_.size(); ++i) {
      any |= ports_[i]->drain(
                 [&](std::span<uint8_t> frame, bool tagged) { dp.handle(i, frame, tagged); },
                 [&](std::span<const uint8_t> frame, LookAhead stage) {
                   dp.prefetch(frame, stage);
                 }) > 0;
    }
    dp.flush();
    dp.tick();
    return any;
  };
  auto frame_waiting = [&] {
    for (const auto& p : ports_)
      if (p->rx_ready()) return true;
    return false;
  };
  const IdleSpin spin{idle_spin_};
  constexpr auto kPollEvery = std::chrono::milliseconds(1);
  bool busy = false;
  for (;;) {
    int n = poll(fds.data(), fds.size(), busy ? 0 : dp.next_timer_ms());
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + strerror(errno));
    if (fds[stop_at].revents & POLLIN) break;
    const auto polled = IdleSpin::Clock::now();
    for (std::size_t i = 0; i < arp_.size(); ++i)
      if (fds[ports_.size() + i].revents & POLLIN)
        arp_[i].drain([&](std::span<uint8_t> frame) { dp.handle(i, frame); });
    busy = serve();
    if (fds[calls_at].revents & POLLIN) calls_.run_pending();
    while (!busy && spin.wait(frame_waiting)) {
      serve();
      busy = IdleSpin::Clock::now() - polled >= kPollEvery;
    }
  }
  dp.flush();
}

}  // namespace vsd
