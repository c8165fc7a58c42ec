// vsadm's end of the control socket.
#include "ctl/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "ctl/protocol.h"
#include "ctl/result.h"

namespace vsd::ctl {
namespace {

// Long enough for a restore of a large table, short enough that a wedged vsd is noticed.
constexpr int kAnswerTimeoutSeconds = 60;

class Socket {
 public:
  Socket() : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

Reply failed(const std::string& message) {
  return Reply{kExitUsage, "", message, nullptr};
}

Reply unreachable(const std::string& path, int error) {
  std::string why = std::strerror(error);
  if (error == EACCES || error == EPERM) {
    return failed("vsadm: cannot reach vsd at " + path + ": " + why +
                  " (you must be root, or allowed to write to the socket)");
  }
  return failed("vsadm: cannot reach vsd at " + path + ": " + why + "; is vsd running?");
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads the response line; false with errno set when the read fails.
bool receive_line(int fd, std::string& line) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    line.append(buffer, static_cast<std::size_t>(n));
    const std::size_t newline = line.find('\n');
    if (newline != std::string::npos) {
      line.resize(newline);
      return true;
    }
  }
}

Reply decode(const std::string& path, const std::string& line) {
  nlohmann::json body = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const bool well_formed = body.is_object() && body.contains("exit") &&
                           body["exit"].is_number_integer() &&
                           (!body.contains("output") || body["output"].is_string()) &&
                           (!body.contains("error") || body["error"].is_string());
  if (!well_formed) {
    if (line.empty()) return failed("vsadm: vsd at " + path + " closed the connection unanswered");
    return failed("vsadm: bad response from vsd at " + path + ": " + line.substr(0, 200));
  }
  Reply reply;
  reply.exit = body["exit"].get<int>();
  reply.output = body.value("output", "");
  reply.error = body.value("error", "");
  reply.body = std::move(body);
  return reply;
}

}  // namespace

Reply send_request(const std::string& socket_path, const nlohmann::json& request) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof address.sun_path) {
    return failed("vsadm: bad socket path '" + socket_path + "' (empty or longer than " +
                  std::to_string(sizeof address.sun_path - 1) + " bytes)");
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());

  Socket socket;
  if (socket.fd() < 0) return failed(std::string("vsadm: socket: ") + std::strerror(errno));
  if (::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return unreachable(socket_path, errno);
  }
  const timeval timeout{kAnswerTimeoutSeconds, 0};
  ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  if (!send_all(socket.fd(), dump_json(request) + "\n")) {
    return failed("vsadm: sending to vsd at " + socket_path + ": " + std::strerror(errno));
  }
  ::shutdown(socket.fd(), SHUT_WR);  // one request per connection
  std::string line;
  if (!receive_line(socket.fd(), line)) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return failed("vsadm: no answer from vsd at " + socket_path + " within " +
                    std::to_string(kAnswerTimeoutSeconds) + " s");
    }
    return failed("vsadm: reading from vsd at " + socket_path + ": " + std::strerror(errno));
  }
  return decode(socket_path, line);
}

}  // namespace vsd::ctl
