// vsadm's end of the control socket.
#include "ctl/client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "ctl/protocol.h"
#include "ctl/result.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vsd::ctl {
namespace {

// Long enough for a restore of a large table, short enough that a wedged vsd is noticed.
constexpr int kAnswerTimeoutSeconds = 60;

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

// Reads the response line; false with errno set when the read fails.
bool receive_line(int fd, std::string& line) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = vslab::os::read_some(fd, buffer, sizeof buffer);
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

  const vslab::os::UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) return failed(std::string("vsadm: socket: ") + std::strerror(errno));
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return unreachable(socket_path, errno);
  }
  const timeval timeout{kAnswerTimeoutSeconds, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  if (!vslab::os::send_all(socket.get(), dump_json(request) + "\n")) {
    return failed("vsadm: sending to vsd at " + socket_path + ": " + std::strerror(errno));
  }
  ::shutdown(socket.get(), SHUT_WR);  // one request per connection
  std::string line;
  if (!receive_line(socket.get(), line)) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return failed("vsadm: no answer from vsd at " + socket_path + " within " +
                    std::to_string(kAnswerTimeoutSeconds) + " s");
    }
    return failed("vsadm: reading from vsd at " + socket_path + ": " + std::strerror(errno));
  }
  return decode(socket_path, line);
}

}  // namespace vsd::ctl
