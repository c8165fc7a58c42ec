#include "vsd/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace vsd {
namespace {
constexpr std::size_t kMaxRequest = 4 << 20;  // a -R of tens of thousands of lines fits
}

ControlServer::ControlServer(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path)
    throw std::runtime_error("control socket path too long: " + path_);
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  unlink(path_.c_str());  // a socket left by a killed vsd
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  // Root only from the first moment: the umask applies to the socket bind creates.
  mode_t old_mask = umask(0177);
  int rc = bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old_mask);
  if (rc != 0 || listen(listen_fd_, 16) != 0)
    throw std::runtime_error("control socket " + path_ + ": " + std::strerror(rc ? err : errno));
}

ControlServer::~ControlServer() {
  if (listen_fd_ >= 0) close(listen_fd_);
  unlink(path_.c_str());
}

void ControlServer::serve_one(const std::function<std::string(const std::string&)>& handler) {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  // A client that stalls must not stall forwarding for long.
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  std::string request;
  char buf[65536];
  while (request.find('\n') == std::string::npos && request.size() < kMaxRequest) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string response = handler(request.substr(0, request.find('\n'))) + "\n";
  std::size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  close(fd);
}

}  // namespace vsd
