// Traffic for vsd's flood tests (syn_flood_test.cpp, arp_flood_test.cpp): echo servers in a real
// server's namespace, an established UDP flow and TCP connection from the client's, a new client
// timed from a given moment, and floods of spoofed frames sent through an AF_PACKET TX ring
// (vsd's own PacketSocket), paced to what the receiver takes.
// Sockets are opened inside their namespace and used from any thread afterwards.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fwd/bytes.h"
#include "fwd/checksum.h"
#include "io/packet_socket.h"
#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vsd::flood {

using Clock = std::chrono::steady_clock;
using vslab::os::UniqueFd;

struct Endpoint4 {
  std::string addr;
  uint16_t port = 0;
  sockaddr_in sockaddr() const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, addr.c_str(), &a.sin_addr) != 1)
      throw std::invalid_argument("not an IPv4 address: " + addr);
    return a;
  }
};

inline UniqueFd socket_in(const std::string& netns, int type) {
  vslab::topo::NetnsGuard in(netns);
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  // Room for seconds of the flows: a thread of this busy test process that is not scheduled
  // for a while must not lose datagrams at its own socket.
  int bytes = 8 << 20;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
  return fd;
}

inline bool wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}

// A TCP connect that gives up after timeout_ms; false on refusal, reset or timeout.
inline bool connect_within(int fd, const Endpoint4& to, int timeout_ms) {
  const sockaddr_in a = to.sockaddr();
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0) return true;
  if (errno != EINPROGRESS) return false;
  if (!wait_for(fd, POLLOUT, timeout_ms)) return false;
  int error = 0;
  socklen_t len = sizeof error;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
}

// TCP and UDP echo on a real server, each in its own namespace's stack.
class EchoServers {
 public:
  EchoServers(const std::string& netns, const Endpoint4& tcp, const Endpoint4& udp)
      : listener_(socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK)),
        udp_(socket_in(netns, SOCK_DGRAM | SOCK_NONBLOCK)) {
    int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const sockaddr_in t = tcp.sockaddr(), u = udp.sockaddr();
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&t), sizeof t) != 0 ||
        ::listen(listener_.get(), 64) != 0 ||
        ::bind(udp_.get(), reinterpret_cast<const sockaddr*>(&u), sizeof u) != 0)
      throw std::runtime_error(std::string("echo servers: ") + std::strerror(errno));
    thread_ = std::thread([this] { run(); });
  }
  ~EchoServers() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    std::vector<UniqueFd> conns;
    char buffer[2048];
    while (!stop_) {
      std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}};
      for (auto& c : conns) fds.push_back({c.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN)
        if (int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC); fd >= 0)
          conns.emplace_back(fd);
      if (fds[1].revents & POLLIN) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        for (ssize_t n; (n = ::recvfrom(udp_.get(), buffer, sizeof buffer, 0,
                                        reinterpret_cast<sockaddr*>(&from), &len)) > 0;
             len = sizeof from)
          ::sendto(udp_.get(), buffer, std::size_t(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n > 0) (void)!::write(fds[i].fd, buffer, std::size_t(n));
        if (n <= 0) conns[i - 2] = UniqueFd();
      }
      std::erase_if(conns, [](const UniqueFd& c) { return !c; });
    }
  }

  UniqueFd listener_, udp_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One datagram a millisecond, numbered; the echoes counted.
class UdpFlow {
 public:
  UdpFlow(const std::string& netns, const Endpoint4& to)
      : fd_(socket_in(netns, SOCK_DGRAM | SOCK_NONBLOCK)) {
    const sockaddr_in a = to.sockaddr();
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error(std::string("udp connect: ") + std::strerror(errno));
  }
  ~UdpFlow() { stop(); }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Stops sending, then waits up to a second for the echoes still on their way.
  void stop() {
    if (!thread_.joinable()) return;
    stop_ = true;
    thread_.join();
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    while (echoed_ < sent_ && Clock::now() < deadline)
      if (wait_for(fd_.get(), POLLIN, 50)) drain();
  }
  uint64_t sent() const { return sent_; }
  uint64_t echoed() const { return echoed_; }

 private:
  void drain() {
    uint64_t seq;
    while (::recv(fd_.get(), &seq, sizeof seq, 0) == ssize_t(sizeof seq)) ++echoed_;
  }
  void run() {
    auto next = Clock::now();
    while (!stop_) {
      uint64_t seq = sent_;
      if (::send(fd_.get(), &seq, sizeof seq, 0) == ssize_t(sizeof seq)) ++sent_;
      drain();
      next += std::chrono::milliseconds(1);
      const auto left = next - Clock::now();
      if (left > std::chrono::milliseconds(0))
        wait_for(fd_.get(), POLLIN,
                 int(std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    }
  }

  UniqueFd fd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> sent_{0}, echoed_{0};
};

// A TCP connection made before the flood, then 8 bytes out and back every 5 ms.
class TcpFlow {
 public:
  TcpFlow(const std::string& netns, const Endpoint4& to)
      : fd_(socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK)) {
    connected_ = connect_within(fd_.get(), to, 3000);
  }
  ~TcpFlow() { stop(); }
  bool connected() const { return connected_; }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint64_t echoed() const { return echoed_; }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  double longest_wait_ms() const { return longest_ms_; }

 private:
  void run() {
    while (!stop_ && error_.empty()) {
      uint64_t seq = echoed_, back = 0;
      const auto asked = Clock::now();
      if (::send(fd_.get(), &seq, sizeof seq, MSG_NOSIGNAL) != ssize_t(sizeof seq)) {
        error_ = std::string("send: ") + std::strerror(errno);
        break;
      }
      std::size_t got = 0;
      while (got < sizeof back && error_.empty()) {
        if (!wait_for(fd_.get(), POLLIN, 5000)) {
          error_ = "no echo within 5 s";
          break;
        }
        ssize_t n = ::read(fd_.get(), reinterpret_cast<char*>(&back) + got, sizeof back - got);
        if (n <= 0) error_ = n == 0 ? "closed" : std::string("read: ") + std::strerror(errno);
        if (n > 0) got += std::size_t(n);
      }
      if (!error_.empty()) break;
      if (back != seq) error_ = "echo out of order";
      longest_ms_ = std::max(
          longest_ms_, std::chrono::duration<double, std::milli>(Clock::now() - asked).count());
      ++echoed_;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // pacing, not waiting on vsd
    }
  }

  UniqueFd fd_;
  bool connected_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> echoed_{0};
  std::string error_;
  double longest_ms_ = 0;
};

// From now until a new client's connection is made and echoes a byte; nothing after 3 s.
inline std::optional<Clock::duration> time_to_serve(const std::string& netns, const Endpoint4& to) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(3);
  while (Clock::now() < deadline) {
    UniqueFd fd = socket_in(netns, SOCK_STREAM | SOCK_NONBLOCK);
    const int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (!connect_within(fd.get(), to, std::max(left, 1))) continue;
    char byte = 'x';
    if (::send(fd.get(), &byte, 1, MSG_NOSIGNAL) != 1) continue;
    if (wait_for(fd.get(), POLLIN, 1000) && ::read(fd.get(), &byte, 1) == 1)
      return Clock::now() - start;
  }
  return std::nullopt;
}

// Frames of 60 bytes made by build(i, frame) for i = 0..count-1, through a TX ring on ifname in
// netns, paced at `pps`, and never more than `window` frames ahead of what the receiver has
// taken (drained(): its count since the flood began), so that the receiver's RX ring never
// overflows: what is lost then is the receiver's doing. Throws when the receiver takes nothing
// for 5 s. Returns how many were sent.
class FrameFlood {
 public:
  FrameFlood(const std::string& netns, const std::string& ifname) {
    vslab::topo::NetnsGuard in(netns);
    socket_ = std::make_unique<PacketSocket>(ifname, 1500);
  }
  Mac mac() const { return socket_->mac(); }

  template <class Build, class Drained>
  uint64_t send(uint32_t count, double pps, uint64_t window, Build&& build, Drained&& drained) {
    std::array<uint8_t, 60> frame{};
    const auto start = Clock::now();
    uint64_t sent = 0, taken = 0;
    for (uint32_t i = 0; i < count; ++i) {
      build(i, frame);
      while (!socket_->queue(frame)) socket_->flush();  // the TX ring is full: hand it over
      ++sent;
      if (i % 256 != 255) continue;
      socket_->flush();
      const auto stalled = Clock::now() + std::chrono::seconds(5);
      while (sent > taken + window) {
        taken = drained();
        if (sent <= taken + window) break;
        if (Clock::now() > stalled) throw std::runtime_error("the receiver stopped taking frames");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // pacing to the receiver
      }
      const auto due = start + std::chrono::nanoseconds(uint64_t(double(sent) * 1e9 / pps));
      if (due > Clock::now()) std::this_thread::sleep_until(due);  // pacing to the rate
    }
    socket_->flush();
    return sent;
  }

 private:
  std::unique_ptr<PacketSocket> socket_;
};

// SYN number i of a flood from base + i (port 1024 + i % 60000) to vip:port.
inline void build_syn(std::array<uint8_t, 60>& f, uint32_t i, const Mac& from, const Mac& to,
                      Ipv4 base, Ipv4 vip, uint16_t port) {
  using fwd::store_be16;
  using fwd::store_be32;
  f.fill(0);
  std::copy(to.bytes.begin(), to.bytes.end(), f.begin());
  std::copy(from.bytes.begin(), from.bytes.end(), f.begin() + 6);
  store_be16(f, 12, 0x0800);
  std::span<uint8_t> ip(f.data() + 14, 20), tcp(f.data() + 34, 20);
  const Ipv4 source = Ipv4::from_host(base.value + i);
  ip[0] = 0x45;
  store_be16(ip, 2, 40);
  store_be16(ip, 4, uint16_t(i));
  ip[8] = 64;
  ip[9] = 6;
  store_be32(ip, 12, source.value);
  store_be32(ip, 16, vip.value);
  store_be16(ip, 10, fwd::ipv4_header_checksum(ip));
  store_be16(tcp, 0, uint16_t(1024 + i % 60000));
  store_be16(tcp, 2, port);
  store_be32(tcp, 4, i * 2654435761u);
  tcp[12] = 0x50;
  tcp[13] = 0x02;  // SYN
  store_be16(tcp, 14, 64240);
  store_be16(tcp, 16, fwd::tcp_checksum(source, vip, tcp));
}

}  // namespace vsd::flood
