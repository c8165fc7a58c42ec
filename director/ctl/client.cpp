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

// The lines of a response as they arrive. Each byte is looked at once for the newline, however
// long the response and however it is cut into reads.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  // The next line without its '\n', or what is left before end of file (empty at the end);
  // false with errno set when a read fails.
  bool next(std::string& line) {
    for (;;) {
      const std::size_t newline = buffer_.find('\n', scanned_);
      if (newline != std::string::npos) {
        line.assign(buffer_, start_, newline - start_);
        start_ = scanned_ = newline + 1;
        return true;
      }
      scanned_ = buffer_.size();
      if (eof_) {
        line.assign(buffer_, start_);
        start_ = scanned_;
        return true;
      }
      if (start_ > 0) {  // drop what was handed out before reading more
        buffer_.erase(0, start_);
        scanned_ -= start_;
        start_ = 0;
      }
      char chunk[65536];
      const ssize_t n = vslab::os::read_some(fd_, chunk, sizeof chunk);
      if (n < 0) return false;
      if (n == 0) eof_ = true;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
  std::size_t start_ = 0;    // the first byte not handed out
  std::size_t scanned_ = 0;  // bytes before this hold no newline past start_
  bool eof_ = false;
};

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

// Connects, sends the request and reads lines until the response line; pieces of a streamed
// answer go to on_output.
Reply exchange(const std::string& socket_path, const nlohmann::json& request,
               const OutputSink* on_output) {
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
  LineReader reader(socket.get());
  for (std::string line;;) {
    if (!reader.next(line)) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return failed("vsadm: no answer from vsd at " + socket_path + " within " +
                      std::to_string(kAnswerTimeoutSeconds) + " s");
      }
      return failed("vsadm: reading from vsd at " + socket_path + ": " + std::strerror(errno));
    }
    if (on_output != nullptr && line.rfind(R"({"output":)", 0) == 0) {
      // A piece of a streamed answer; the response line has "exit" and leads with "ok".
      auto piece = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (piece.is_object() && !piece.contains("exit") && piece["output"].is_string()) {
        (*on_output)(piece["output"].get_ref<const std::string&>());
        continue;
      }
    }
    Reply reply = decode(socket_path, line);
    if (on_output != nullptr && !reply.output.empty()) {
      (*on_output)(reply.output);
      reply.output.clear();
    }
    return reply;
  }
}

}  // namespace

Reply send_request(const std::string& socket_path, const nlohmann::json& request) {
  return exchange(socket_path, request, nullptr);
}

Reply send_request(const std::string& socket_path, nlohmann::json request,
                   const OutputSink& on_output) {
  if (request.is_object()) request["stream"] = true;
  return exchange(socket_path, request, &on_output);
}

}  // namespace vsd::ctl
