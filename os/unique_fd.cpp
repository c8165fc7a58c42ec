// UniqueFd's close, and the calls that make two descriptors at once.
#include "os/unique_fd.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace vslab::os {

void UniqueFd::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  // Never retried: Linux releases the number even when close reports EINTR, and a retry could
  // close a descriptor another thread has been given meanwhile (close(2), "Dealing with error
  // returns").
  if (old >= 0) ::close(old);
}

FdPair make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

FdPair make_socket_pair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace vslab::os
