#include "dut/run.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "os/child_process.h"
#include "os/unique_fd.h"

namespace vslab::dut {

Result run_with_input(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return {-1, "nothing to run"};
  // Standard input is a socket, not a pipe, so that MSG_NOSIGNAL keeps a program that exits
  // early from killing the harness with SIGPIPE.
  os::FdPair in, out;
  try {
    in = os::make_socket_pair(SOCK_STREAM | SOCK_CLOEXEC);
  } catch (const std::system_error& e) {
    return {-1, std::string("socketpair: ") + std::strerror(e.code().value())};
  }
  try {
    out = os::make_pipe(O_CLOEXEC);
  } catch (const std::system_error& e) {
    return {-1, std::string("pipe: ") + std::strerror(e.code().value())};
  }
  os::SpawnOptions options;
  options.stdin_fd = in.second.get();
  options.stdout_fd = out.second.get();
  options.stderr_fd = out.second.get();
  // A ^C is the harness's to handle: a vsadm or ipvsadm it kills would fail a cell falsely.
  options.new_process_group = true;
  os::ChildProcess child;
  try {
    child = os::ChildProcess::spawn(argv, options);
  } catch (const std::system_error& e) {
    return {-1, std::string("fork: ") + std::strerror(e.code().value())};
  }
  in.second.reset();
  out.second.reset();

  Result result;
  std::size_t written = 0;
  os::UniqueFd to_child = std::move(in.first);
  if (input.empty()) to_child.reset();
  for (;;) {
    pollfd fds[2] = {{out.first.get(), POLLIN, 0}, {to_child.get(), POLLOUT, 0}};
    if (poll(fds, to_child ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (to_child && fds[1].revents) {
      ssize_t n = send(to_child.get(), input.data() + written, input.size() - written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      // Done, or the program stopped reading: either way it gets end of file.
      if (written == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) to_child.reset();
    }
    if (fds[0].revents) {
      char buffer[4096];
      ssize_t n = read(out.first.get(), buffer, sizeof buffer);
      if (n > 0) {
        result.output.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // end of output: the program (and all it started) closed it
    }
  }
  to_child.reset();
  out.first.reset();
  result.exit_code = os::exit_code_of(child.wait());
  return result;
}

}  // namespace vslab::dut
