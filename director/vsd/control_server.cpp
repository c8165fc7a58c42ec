#include "vsd/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "ctl/protocol.h"
#include "os/whole_io.h"
#include "vsd/log.h"

namespace vsd {
namespace {
// How long a client may take to send its request or read the answer before it is dropped.
constexpr timeval kClientTimeout{3, 0};
}  // namespace

ControlServer::ControlServer(std::string path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path)
    throw std::runtime_error("control socket path too long: " + path_);
  std::error_code ec;
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  stop_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!listen_fd_ || !stop_fd_)
    throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
  unlink(path_.c_str());  // a socket left by a killed vsd
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  // Root only from the first moment: the umask applies to the socket bind creates.
  mode_t old_mask = umask(0177);
  int rc = bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old_mask);
  if (rc != 0 || listen(listen_fd_.get(), 16) != 0)
    throw std::runtime_error("control socket " + path_ + ": " + std::strerror(rc ? err : errno));
  thread_ = std::thread([this] { serve(); });
}

ControlServer::~ControlServer() {
  stop();
  listen_fd_.reset();
  stop_fd_.reset();
  unlink(path_.c_str());
}

void ControlServer::stop() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto ignored = write(stop_fd_.get(), &one, sizeof one);
  thread_.join();
}

void ControlServer::serve() {
  pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0 && errno != EINTR) {
      log_error(std::string("vsd: control socket poll: ") + std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const vslab::os::UniqueFd client(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    serve_client(client.get());
  }
}

void ControlServer::serve_client(int fd) {
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kClientTimeout, sizeof kClientTimeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kClientTimeout, sizeof kClientTimeout);
  std::string request;
  char buf[65536];
  while (request.find('\n') == std::string::npos && request.size() <= ctl::kMaxRequestBytes) {
    ssize_t n = vslab::os::read_some(fd, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string response;
  if (request.find('\n') == std::string::npos) {
    // Too large, cut short or timed out: a partial request is never acted on.
    response = ctl::dump_json({{"ok", false},
                               {"exit", 2},
                               {"output", ""},
                               {"error", "vsd: bad request: incomplete or oversized, ignored"}});
  } else {
    response = handler_(request.substr(0, request.find('\n')));
  }
  response += "\n";
  vslab::os::send_all(fd, response);
}

}  // namespace vsd
