#include "dut/run.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vslab::dut {

Result run_with_input(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) return {-1, "nothing to run"};
  // Standard input is a socket, not a pipe, so that MSG_NOSIGNAL keeps a program that exits
  // early from killing the harness with SIGPIPE.
  int in[2], out[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0)
    return {-1, std::string("socketpair: ") + std::strerror(errno)};
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    return {-1, std::string("pipe: ") + std::strerror(errno)};
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[1], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execvp(args[0], args.data());
    dprintf(STDERR_FILENO, "%s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(in[1]);
  close(out[1]);
  if (pid < 0) {
    close(in[0]);
    close(out[0]);
    return {-1, std::string("fork: ") + std::strerror(errno)};
  }

  Result result;
  std::size_t written = 0;
  int to_child = in[0];
  if (input.empty()) {
    close(to_child);
    to_child = -1;
  }
  for (;;) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {to_child, POLLOUT, 0}};
    if (poll(fds, to_child >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (to_child >= 0 && fds[1].revents) {
      ssize_t n = send(to_child, input.data() + written, input.size() - written,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) written += static_cast<std::size_t>(n);
      // Done, or the program stopped reading: either way it gets end of file.
      if (written == input.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close(to_child);
        to_child = -1;
      }
    }
    if (fds[0].revents) {
      char buffer[4096];
      ssize_t n = read(out[0], buffer, sizeof buffer);
      if (n > 0) {
        result.output.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;  // end of output: the program (and all it started) closed it
    }
  }
  if (to_child >= 0) close(to_child);
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace vslab::dut
