// The control channel to the qemu-kernel guest: a virtio-serial port that qemu connects to a
// Unix socket the harness listens on. The guest's /init (guest-init.sh) runs one shell script
// per request and answers with its exit code and output; no guest networking is involved.
//
//   host -> guest:  VSLAB <id> <script, base64>\n
//   guest -> host:  VSLAB <id> <exit code> <stdout and stderr, base64>\n
//   guest, once:    VSLAB READY <kernel release>\n
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "dut/dut.h"
#include "os/unique_fd.h"

namespace vslab::dut::qemu {

std::string base64_encode(std::string_view bytes);
// Throws std::invalid_argument on a character outside the alphabet.
std::string base64_decode(std::string_view text);

class GuestChannel {
 public:
  using Clock = std::chrono::steady_clock;

  // Listens on `socket_path` (replacing a stale file there) for qemu to connect.
  explicit GuestChannel(std::string socket_path);
  ~GuestChannel();
  GuestChannel(const GuestChannel&) = delete;
  GuestChannel& operator=(const GuestChannel&) = delete;

  const std::string& socket_path() const { return path_; }
  // Waits for qemu's connection, then for the guest's READY line; returns the kernel release.
  // Throws std::runtime_error at the deadline or when qemu closes the channel.
  std::string wait_ready(Clock::time_point deadline);
  // Runs `script` with the guest's sh. Never throws: a dead or silent guest is exit code -1
  // with the reason as output.
  Result run(const std::string& script, std::chrono::milliseconds timeout);

 private:
  // One line without its newline; throws at the deadline or at end of stream.
  std::string read_line(Clock::time_point deadline);

  std::string path_;
  os::UniqueFd listen_fd_;
  os::UniqueFd fd_;
  std::string buffered_;
  unsigned long next_id_ = 1;
};

}  // namespace vslab::dut::qemu
