#include "scaleout/traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include <fmt/core.h>

#include "topology/netns.h"

namespace vslab::scaleout {

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in socket_address(const std::string& address, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    throw std::runtime_error("not an IPv4 address: " + address);
  return sa;
}

os::UniqueFd open_socket(int type) {
  os::UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  return fd;
}

uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string error_name(int error) {
  switch (error) {
    case ECONNRESET:
    case EPIPE:
      return "reset";
    case ECONNREFUSED:
      return "refused";
    default:
      return std::strerror(error);
  }
}

// A question is "?N\n", N the ask's number; its answer "NAME ?N\n" names the real server and
// the question it answers.
std::string question_of(uint64_t ask) {
  return fmt::format("?{}\n", ask);
}

std::string answer_of(const std::string& name, std::string_view question) {
  std::string answer = name + " " + std::string(question);
  if (answer.back() != '\n') answer += '\n';
  return answer;
}

}  // namespace

NameServers::NameServers(const std::vector<Server>& servers, const std::string& address,
                         uint16_t port) {
  const auto sa = socket_address(address, port);
  for (const auto& s : servers) {
    const topo::NetnsGuard inside(s.netns);
    Listening l{s.name, open_socket(SOCK_STREAM), open_socket(SOCK_DGRAM)};
    const int on = 1;
    setsockopt(l.tcp.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    for (int fd : {l.tcp.get(), l.udp.get()})
      if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
        throw std::runtime_error(
            fmt::format("{}: bind {}:{}: {}", s.name, address, port, std::strerror(errno)));
    if (listen(l.tcp.get(), 1024) != 0)
      throw std::runtime_error(s.name + ": listen: " + std::strerror(errno));
    listening_.push_back(std::move(l));
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  stop_read_.reset(pipe_fds[0]);
  stop_write_.reset(pipe_fds[1]);
  thread_ = std::thread([this] { serve(); });
}

NameServers::~NameServers() {
  stop_write_.reset();  // the end of file on the pipe stops the thread
  if (thread_.joinable()) thread_.join();
}

void NameServers::serve() {
  struct Accepted {
    os::UniqueFd fd;
    std::string name;
    std::string unanswered;  // the start of a question whose end has not come yet
  };
  std::vector<Accepted> accepted;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({stop_read_.get(), POLLIN, 0});
    for (const auto& l : listening_) {
      fds.push_back({l.tcp.get(), POLLIN, 0});
      fds.push_back({l.udp.get(), POLLIN, 0});
    }
    for (const auto& a : accepted) fds.push_back({a.fd.get(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if (fds[0].revents) return;
    char buf[512];
    for (std::size_t i = 0; i < listening_.size(); ++i) {
      const auto& l = listening_[i];
      if (fds[1 + 2 * i].revents & POLLIN)
        for (int fd;
             (fd = accept4(l.tcp.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;)
          accepted.push_back({os::UniqueFd(fd), l.name, {}});
      if (fds[2 + 2 * i].revents & POLLIN) {
        sockaddr_in from{};
        socklen_t len = sizeof from;
        for (ssize_t n; (n = recvfrom(l.udp.get(), buf, sizeof buf, 0,
                                      reinterpret_cast<sockaddr*>(&from), &len)) >= 0;) {
          const auto answer = answer_of(l.name, std::string_view(buf, std::size_t(n)));
          sendto(l.udp.get(), answer.data(), answer.size(), 0,
                 reinterpret_cast<const sockaddr*>(&from), len);
          len = sizeof from;
        }
      }
    }
    const std::size_t first = 1 + 2 * listening_.size();
    std::vector<Accepted> open;
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      auto& a = accepted[i];
      if (i + first < fds.size() && fds[i + first].revents) {
        const ssize_t n = recv(a.fd.get(), buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) continue;  // closed or reset: drop it
        if (n > 0) {
          a.unanswered.append(buf, std::size_t(n));
          std::string answers;
          for (std::size_t end; (end = a.unanswered.find('\n')) != std::string::npos;) {
            answers += answer_of(a.name, std::string_view(a.unanswered).substr(0, end + 1));
            a.unanswered.erase(0, end + 1);
          }
          send(a.fd.get(), answers.data(), answers.size(), MSG_NOSIGNAL);
        }
      }
      open.push_back(std::move(a));
    }
    accepted = std::move(open);
  }
}

std::vector<ClientFlow> open_tcp_flows(const std::string& netns, const std::string& address,
                                       uint16_t port, int count, int timeout_ms) {
  const auto sa = socket_address(address, port);
  std::vector<ClientFlow> flows;
  {
    const topo::NetnsGuard inside(netns);
    for (int i = 0; i < count; ++i) flows.push_back({open_socket(SOCK_STREAM), 0});
  }
  for (auto& f : flows) {
    if (connect(f.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 &&
        errno != EINPROGRESS)
      throw std::runtime_error(
          fmt::format("connect to {}:{}: {}", address, port, std::strerror(errno)));
    f.port = local_port(f.fd.get());
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<std::string> failed;
  for (auto& f : flows) {
    pollfd pfd{f.fd.get(), POLLOUT, 0};
    int error = 0;
    socklen_t len = sizeof error;
    if (poll(&pfd, 1, ms_left(deadline)) <= 0)
      error = ETIMEDOUT;
    else
      getsockopt(f.fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error) failed.push_back(fmt::format(":{} {}", f.port, error_name(error)));
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += " " + f;
    throw std::runtime_error(fmt::format("{} of {} TCP connections to {}:{} did not open:{}",
                                         failed.size(), count, address, port, list));
  }
  return flows;
}

std::vector<ClientFlow> open_udp_flows(const std::string& netns, const std::string& address,
                                       uint16_t port, int count) {
  const auto sa = socket_address(address, port);
  std::vector<ClientFlow> flows;
  const topo::NetnsGuard inside(netns);
  for (int i = 0; i < count; ++i) {
    ClientFlow f{open_socket(SOCK_DGRAM), 0};
    if (connect(f.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
      throw std::runtime_error(
          fmt::format("UDP connect to {}:{}: {}", address, port, std::strerror(errno)));
    f.port = local_port(f.fd.get());
    flows.push_back(std::move(f));
  }
  return flows;
}

std::vector<Answer> ask_each(const std::vector<ClientFlow*>& flows, int timeout_ms) {
  // Every ask has a number of its own, which the answers carry back: an answer that came too
  // late for an earlier ask (a loaded machine) is still on its way, or waits in the socket,
  // and must not pass for this ask's.
  static std::atomic<uint64_t> asks{0};
  const std::string question = question_of(++asks);
  const std::string answer_tail = " " + question;
  std::vector<Answer> answers(flows.size());
  std::vector<bool> waiting(flows.size(), false);
  std::vector<std::string> received(flows.size());
  for (std::size_t i = 0; i < flows.size(); ++i) {
    if (send(flows[i]->fd.get(), question.data(), question.size(), MSG_NOSIGNAL) ==
        ssize_t(question.size()))
      waiting[i] = true;
    else
      answers[i].error = error_name(errno);
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < flows.size(); ++i)
      if (waiting[i]) {
        fds.push_back({flows[i]->fd.get(), POLLIN, 0});
        which.push_back(i);
      }
    if (fds.empty()) break;
    const int left = ms_left(deadline);
    if (left == 0 || poll(fds.data(), fds.size(), left) <= 0) {
      for (auto i : which) answers[i].error = fmt::format("no answer within {} ms", timeout_ms);
      break;
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!fds[k].revents) continue;
      const auto i = which[k];
      char buf[256];
      const ssize_t n = recv(flows[i]->fd.get(), buf, sizeof buf, 0);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0) {
        waiting[i] = false;
        answers[i].error = n == 0 ? "closed" : error_name(errno);
        continue;
      }
      // UDP: one answer a datagram; TCP: answers one after another in the stream.
      auto& in = received[i];
      in.append(buf, std::size_t(n));
      for (std::size_t end; waiting[i] && (end = in.find('\n')) != std::string::npos;) {
        const std::string line = in.substr(0, end + 1);
        in.erase(0, end + 1);
        if (line.size() > answer_tail.size() &&
            line.compare(line.size() - answer_tail.size(), answer_tail.size(), answer_tail) == 0) {
          answers[i].server = line.substr(0, line.size() - answer_tail.size());
          waiting[i] = false;
        }
      }
    }
  }
  return answers;
}

}  // namespace vslab::scaleout
