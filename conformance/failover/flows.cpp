#include "failover/flows.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <fmt/core.h>

#include "topology/netns.h"

namespace vslab::failover {
namespace {

using os::UniqueFd;
using std::chrono::milliseconds;

// The upload writes a record every 2 ms (500 kB/s, light for a shared machine, dense enough to
// time a gap to a few ms); the UDP flow a datagram every 10 ms.
constexpr std::size_t kRecord = 1000;
constexpr milliseconds kUploadPace{2};
constexpr milliseconds kUdpPace{10};

sockaddr_in address_of(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1)
    throw std::invalid_argument("not an IPv4 address: " + ip);
  return a;
}

UniqueFd socket_in(const std::string& netns, int type) {
  topo::NetnsGuard in(netns);
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  return fd;
}

UniqueFd bound_in(const std::string& netns, int type, uint16_t port,
                  const std::string& address = "0.0.0.0") {
  UniqueFd fd = socket_in(netns, type);
  int on = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const sockaddr_in any = address_of(address, port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&any), sizeof any) != 0 ||
      (type == SOCK_STREAM && ::listen(fd.get(), 8) != 0))
    throw std::runtime_error(
        fmt::format("bind port {} in {}: {}", port, netns, std::strerror(errno)));
  return fd;
}

int ms_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

uint32_t retransmitted(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 ? info.tcpi_total_retrans : 0;
}

// A TCP connection from the client's namespace to VIP:port, and its other end accepted on
// whichever real server the director picked.
struct TcpPair {
  UniqueFd client, server;
};

TcpPair connect_through(const FlowTargets& t, uint16_t port, std::vector<UniqueFd>& listeners,
                        Clock::time_point deadline) {
  TcpPair pair;
  pair.client = socket_in(t.client_netns, SOCK_STREAM);
  const sockaddr_in vip = address_of(t.vip, port);
  if (::connect(pair.client.get(), reinterpret_cast<const sockaddr*>(&vip), sizeof vip) != 0 &&
      errno != EINPROGRESS)
    throw std::runtime_error(
        fmt::format("connect to {}:{}: {}", t.vip, port, std::strerror(errno)));
  std::vector<pollfd> fds;
  for (auto& l : listeners) fds.push_back({l.get(), POLLIN, 0});
  while (!pair.server) {
    if (::poll(fds.data(), fds.size(), ms_until(deadline)) <= 0)
      throw std::runtime_error(
          fmt::format("no real server accepted a connection to {}:{} in time", t.vip, port));
    for (auto& p : fds)
      if (p.revents & POLLIN)
        pair.server.reset(::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  }
  pollfd out{pair.client.get(), POLLOUT, 0};
  int error = 0;
  socklen_t len = sizeof error;
  if (::poll(&out, 1, ms_until(deadline)) != 1 ||
      ::getsockopt(pair.client.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0)
    throw std::runtime_error(fmt::format("connect to {}:{}: {}", t.vip, port,
                                         error ? std::strerror(error) : "timed out"));
  int on = 1;
  ::setsockopt(pair.client.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  return pair;
}

int64_t ticks(Clock::time_point t) {
  return t.time_since_epoch().count();
}

// The longest interval between two arrivals that ends after `event`, counting from the last
// arrival at or before it; nothing when none came after.
std::optional<double> longest_gap(const std::vector<Clock::time_point>& arrivals,
                                  Clock::time_point event) {
  std::optional<double> gap;
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    if (arrivals[i] <= event) continue;
    double ms = std::chrono::duration<double, std::milli>(arrivals[i] - arrivals[i - 1]).count();
    gap = std::max(gap.value_or(0.0), ms);
  }
  return gap;
}

std::string error_text(int error) {
  return error == ECONNRESET ? "connection reset" : std::strerror(error);
}

}  // namespace

struct FlowSet::Upload {
  TcpPair pair;
  std::mutex mutex;
  std::vector<Clock::time_point> arrivals;  // each read that completed a record
  std::atomic<int64_t> last_arrival{0};
  std::atomic<bool> ended{false};
  bool client_reset = false, server_reset = false;
  uint32_t retrans = 0;
  std::string detail;

  void run(const std::atomic<bool>& stop) {
    std::vector<char> record(kRecord, 'u'), buffer(64 * 1024);
    std::size_t partial = 0;
    bool writing = true;
    auto next = Clock::now();
    while (!stop.load() && !ended.load()) {
      if (writing && Clock::now() >= next) {
        // A full buffer (the path is down) is not an error: the record waits for the next turn.
        ssize_t n = ::send(pair.client.get(), record.data(), record.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
          client_reset |= errno == ECONNRESET || errno == EPIPE;
          detail += "client send: " + error_text(errno) + "; ";
          writing = false;
        }
        next += kUploadPace;
      }
      retrans = std::max(retrans, retransmitted(pair.client.get()));
      pollfd p{pair.server.get(), POLLIN, 0};
      ::poll(&p, 1, writing ? std::max(1, ms_until(next)) : 5);
      if (!(p.revents & (POLLIN | POLLERR | POLLHUP))) {
        if (!writing) ended = true;  // nothing more can come
        continue;
      }
      ssize_t n = ::recv(pair.server.get(), buffer.data(), buffer.size(), 0);
      if (n > 0) {
        partial += std::size_t(n);
        if (partial >= kRecord) {
          partial %= kRecord;
          const auto now = Clock::now();
          std::lock_guard lock(mutex);
          arrivals.push_back(now);
          last_arrival = ticks(now);
        }
      } else if (n == 0 || errno != EAGAIN) {
        server_reset |= n < 0 && errno == ECONNRESET;
        detail += n == 0 ? "server saw the end of the stream; "
                         : "server recv: " + error_text(errno) + "; ";
        ended = true;
      }
    }
  }
};

struct FlowSet::Idle {
  TcpPair pair;
  std::optional<double> gap_ms;
  bool client_reset = false, server_reset = false;
  std::string detail;

  // One request and its echo: the real server's side echoes what it reads.
  bool exchange(Clock::time_point deadline) {
    const char request[] = "after the failover";
    const auto sent_at = Clock::now();
    if (::send(pair.client.get(), request, sizeof request, MSG_NOSIGNAL) < 0) {
      client_reset |= errno == ECONNRESET || errno == EPIPE;
      detail += "client send: " + error_text(errno) + "; ";
      return false;
    }
    char buffer[256];
    while (Clock::now() < deadline) {
      pollfd fds[2] = {{pair.client.get(), POLLIN, 0}, {pair.server.get(), POLLIN, 0}};
      ::poll(fds, 2, ms_until(deadline));
      if (fds[1].revents) {
        ssize_t n = ::recv(pair.server.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
          ::send(pair.server.get(), buffer, std::size_t(n), MSG_NOSIGNAL);
        } else if (n == 0 || errno != EAGAIN) {
          server_reset |= n < 0 && errno == ECONNRESET;
          detail += n == 0 ? "server saw the end of the stream; "
                           : "server recv: " + error_text(errno) + "; ";
          return false;
        }
      }
      if (fds[0].revents) {
        ssize_t n = ::recv(pair.client.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
          gap_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
          return true;
        }
        if (n == 0 || errno != EAGAIN) {
          client_reset |= n < 0 && errno == ECONNRESET;
          detail += n == 0 ? "client saw the end of the stream; "
                           : "client recv: " + error_text(errno) + "; ";
          return false;
        }
      }
    }
    detail += "no echo before the deadline; ";
    return false;
  }
};

struct FlowSet::Udp {
  UniqueFd client;
  std::vector<UniqueFd> servers;
  std::mutex mutex;
  std::vector<Clock::time_point> arrivals;
  std::vector<bool> echoed;  // by sequence number
  uint64_t sent = 0;
  std::atomic<int64_t> last_arrival{0};
  std::string detail;

  void send_one() {
    uint64_t seq = sent;
    if (::send(client.get(), &seq, sizeof seq, 0) == ssize_t(sizeof seq)) {
      std::lock_guard lock(mutex);
      ++sent;
      echoed.push_back(false);
    }
  }
  void serve_and_collect(int timeout_ms) {
    std::vector<pollfd> fds{{client.get(), POLLIN, 0}};
    for (auto& s : servers) fds.push_back({s.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
    uint64_t seq = 0;
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n =
          ::recvfrom(fds[i].fd, &seq, sizeof seq, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n == ssize_t(sizeof seq))
        ::sendto(fds[i].fd, &seq, sizeof seq, 0, reinterpret_cast<const sockaddr*>(&from), len);
    }
    if (!fds[0].revents) return;
    while (true) {
      ssize_t n = ::recv(client.get(), &seq, sizeof seq, 0);
      if (n < 0) {
        // An ICMP error for an earlier datagram (port unreachable): said once, the flow goes on.
        if (errno != EAGAIN && detail.find(error_text(errno)) == std::string::npos)
          detail += "client recv: " + error_text(errno) + "; ";
        if (errno == EAGAIN) return;
        continue;
      }
      const auto now = Clock::now();
      std::lock_guard lock(mutex);
      if (n == ssize_t(sizeof seq) && seq < echoed.size() && !echoed[seq]) {
        echoed[seq] = true;
        arrivals.push_back(now);
        last_arrival = ticks(now);
      }
    }
  }
  void run(const std::atomic<bool>& stop) {
    auto next = Clock::now();
    while (!stop.load()) {
      if (Clock::now() >= next) {
        send_one();
        next += kUdpPace;
      }
      serve_and_collect(std::max(1, ms_until(next)));
    }
  }
  uint64_t missing() {
    std::lock_guard lock(mutex);
    return uint64_t(std::count(echoed.begin(), echoed.end(), false));
  }
};

FlowSet::FlowSet(const FlowTargets& t, std::chrono::milliseconds setup)
    : upload_(std::make_unique<Upload>()),
      idle_(std::make_unique<Idle>()),
      udp_(std::make_unique<Udp>()) {
  const auto deadline = Clock::now() + setup;
  std::vector<UniqueFd> upload_listeners, idle_listeners;
  for (const auto& ns : t.server_netns) {
    upload_listeners.push_back(bound_in(ns, SOCK_STREAM, t.upload_port));
    idle_listeners.push_back(bound_in(ns, SOCK_STREAM, t.idle_port));
    udp_->servers.push_back(bound_in(ns, SOCK_DGRAM, t.udp_port, t.udp_bind));
  }
  upload_->pair = connect_through(t, t.upload_port, upload_listeners, deadline);
  idle_->pair = connect_through(t, t.idle_port, idle_listeners, deadline);
  if (!idle_->exchange(deadline))
    throw std::runtime_error("the idle connection's first echo failed: " + idle_->detail);
  idle_->gap_ms.reset();
  udp_->client = socket_in(t.client_netns, SOCK_DGRAM);
  const sockaddr_in vip = address_of(t.vip, t.udp_port);
  if (::connect(udp_->client.get(), reinterpret_cast<const sockaddr*>(&vip), sizeof vip) != 0)
    throw std::runtime_error(fmt::format("udp connect: {}", std::strerror(errno)));
  upload_thread_ = std::thread([this] { upload_->run(stop_); });
  udp_thread_ = std::thread([this] { udp_->run(stop_); });
  // Established: both flows carried traffic end to end.
  if (!progressed_since(Clock::now(), deadline)) {
    stop_ = true;
    upload_thread_.join();
    udp_thread_.join();
    throw std::runtime_error(fmt::format(
        "the upload ({} records arrived) and the UDP flow ({} echoes) did not both start through "
        "the VIP: {}{}",
        upload_->arrivals.size(), udp_->arrivals.size(), upload_->detail, udp_->detail));
  }
}

FlowSet::~FlowSet() {
  stop_ = true;
  if (upload_thread_.joinable()) upload_thread_.join();
  if (udp_thread_.joinable()) udp_thread_.join();
}

bool FlowSet::progressed_since(Clock::time_point since, Clock::time_point deadline) const {
  while (true) {
    if (upload_->last_arrival.load() > ticks(since) && udp_->last_arrival.load() > ticks(since))
      return true;
    if (Clock::now() >= deadline) return false;
    ::poll(nullptr, 0, 5);
  }
}

bool FlowSet::settled_since(Clock::time_point since) const {
  const bool upload = upload_->ended.load() || upload_->last_arrival.load() > ticks(since);
  return upload && udp_->last_arrival.load() > ticks(since);
}

void FlowSet::poke_idle(Clock::time_point deadline) {
  idle_->exchange(deadline);
}

std::vector<std::string> FlowSet::client_ends() const {
  std::vector<std::string> ends;
  for (int fd : {upload_->pair.client.get(), idle_->pair.client.get(), udp_->client.get()}) {
    sockaddr_in own{};
    socklen_t size = sizeof own;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&own), &size) != 0)
      throw std::runtime_error(std::string("getsockname: ") + std::strerror(errno));
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &own.sin_addr, text, sizeof text);
    ends.push_back(fmt::format("{}:{}", text, ntohs(own.sin_port)));
  }
  return ends;
}

std::vector<FlowReport> FlowSet::finish(Clock::time_point event, Clock::time_point moved) {
  stop_ = true;
  upload_thread_.join();
  // The datagrams still in flight get their echo or are lost: the flow stops sending and
  // waits for the missing ones until 300 ms pass.
  udp_thread_.join();
  const auto drain_until = Clock::now() + milliseconds(300);
  while (udp_->missing() > 0 && Clock::now() < drain_until)
    udp_->serve_and_collect(ms_until(drain_until));

  // A flow a reset ended did not go on, whatever was still delivered before the reset.
  auto ended_by_reset = [](FlowReport& r) {
    if (r.client_reset || r.server_reset) {
      r.resumed = false;
      r.gap_ms.reset();
    }
  };
  std::vector<FlowReport> out;
  FlowReport upload;
  upload.flow = "tcp-upload";
  upload.lost = upload_->retrans;
  upload.resumed = upload_->last_arrival.load() > ticks(moved);
  if (upload.resumed) upload.gap_ms = longest_gap(upload_->arrivals, event);
  upload.client_reset = upload_->client_reset;
  upload.server_reset = upload_->server_reset;
  upload.detail = upload_->detail;
  out.push_back(upload);

  FlowReport idle;
  idle.flow = "tcp-idle";
  idle.lost = retransmitted(idle_->pair.client.get());
  idle.gap_ms = idle_->gap_ms;
  idle.resumed = idle_->gap_ms.has_value();
  idle.client_reset = idle_->client_reset;
  idle.server_reset = idle_->server_reset;
  idle.detail = idle_->detail;
  out.push_back(idle);

  FlowReport udp;
  udp.flow = "udp-echo";
  udp.lost = udp_->missing();
  udp.resumed = udp_->last_arrival.load() > ticks(moved);
  if (udp.resumed) udp.gap_ms = longest_gap(udp_->arrivals, event);
  udp.detail = udp_->detail;
  out.push_back(udp);
  for (auto& r : out) {
    ended_by_reset(r);
    if (r.detail.size() >= 2) r.detail.resize(r.detail.size() - 2);
  }
  return out;
}

}  // namespace vslab::failover
