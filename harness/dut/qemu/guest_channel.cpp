#include "dut/qemu/guest_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "os/interrupt.h"
#include "os/whole_io.h"

namespace vslab::dut::qemu {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int milliseconds_until(GuestChannel::Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - GuestChannel::Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for fd to become readable; false at the deadline.
bool readable_before(int fd, GuestChannel::Clock::time_point deadline) {
  for (;;) {
    pollfd pfd{fd, POLLIN, 0};
    int ready = poll(&pfd, 1, milliseconds_until(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    // A guest boots for tens of seconds under TCG: a ^C must not wait for it.
    os::throw_if_interrupted();
  }
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    text += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return text;
}

std::string base64_decode(std::string_view text) {
  std::string bytes;
  std::uint32_t group = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    auto value = kAlphabet.find(c);
    if (value == std::string_view::npos)
      throw std::invalid_argument(fmt::format("not base64: character {:?}", c));
    group = (group << 6) | static_cast<std::uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((group >> bits) & 0xff);
    }
  }
  return bytes;
}

GuestChannel::GuestChannel(std::string socket_path) : path_(std::move(socket_path)) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path_.size() >= sizeof address.sun_path)
    throw std::runtime_error("control socket path too long: " + path_);
  std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
  unlink(path_.c_str());
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_ ||
      bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      listen(listen_fd_.get(), 1) != 0)
    throw std::runtime_error(fmt::format("cannot listen on {}: {}", path_, std::strerror(errno)));
}

GuestChannel::~GuestChannel() {
  fd_.reset();
  listen_fd_.reset();
  unlink(path_.c_str());
}

std::string GuestChannel::wait_ready(Clock::time_point deadline) {
  if (!fd_) {
    if (!readable_before(listen_fd_.get(), deadline))
      throw std::runtime_error("qemu did not connect to the control socket " + path_);
    fd_.reset(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd_) throw std::runtime_error(std::string("accept: ") + std::strerror(errno));
  }
  for (;;) {
    std::istringstream words(read_line(deadline));
    std::string magic, ready, release;
    words >> magic >> ready >> release;
    if (magic == "VSLAB" && ready == "READY") return release;
  }
}

std::string GuestChannel::read_line(Clock::time_point deadline) {
  for (;;) {
    auto end = buffered_.find('\n');
    if (end != std::string::npos) {
      std::string line = buffered_.substr(0, end);
      buffered_.erase(0, end + 1);
      return line;
    }
    if (!readable_before(fd_.get(), deadline))
      throw std::runtime_error("the guest did not answer in time");
    std::array<char, 65536> chunk;
    ssize_t n = read(fd_.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("the guest closed the control channel (qemu exited?)");
    buffered_.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

Result GuestChannel::run(const std::string& script, std::chrono::milliseconds timeout) {
  if (!fd_) return {-1, "qemu-kernel guest: not started"};
  const unsigned long id = next_id_++;
  const std::string request = fmt::format("VSLAB {} {}\n", id, base64_encode(script));
  if (!os::send_all(fd_.get(), request))
    return {-1, std::string("qemu-kernel guest: send: ") + std::strerror(errno)};
  const auto deadline = Clock::now() + timeout;
  try {
    for (;;) {
      std::istringstream words(read_line(deadline));
      std::string magic, answer_id, code, output;
      words >> magic >> answer_id >> code >> output;
      // A reply to an earlier request that timed out is not this one's.
      if (magic != "VSLAB" || answer_id != std::to_string(id)) continue;
      return {std::stoi(code), base64_decode(output)};
    }
  } catch (const std::exception& e) {
    return {-1, fmt::format("qemu-kernel guest: {} (request {}, {} ms)", e.what(), id,
                            timeout.count())};
  }
}

}  // namespace vslab::dut::qemu
