// One owner for a file descriptor: closed exactly once, when its owner goes, unless released.
#pragma once

#include <utility>

namespace vslab::os {

class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  // Gives the descriptor up without closing it; this owner is empty afterwards.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes what is held (if anything) and holds fd instead.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// Both ends of a pipe2(2) or a socketpair(2), each with its own owner.
struct FdPair {
  UniqueFd first, second;
};

// pipe2(flags): first is the read end, second the write end. Throws std::system_error.
FdPair make_pipe(int flags);
// socketpair(AF_UNIX, type): two connected ends. Throws std::system_error.
FdPair make_socket_pair(int type);

}  // namespace vslab::os
