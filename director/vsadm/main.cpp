// vsadm: ipvsadm's command line for vsd. Parses locally (so a bad command line is reported even
// when vsd is down), sends the command to vsd over its control socket, prints what comes back
// and exits with ipvsadm's exit code. -R sends standard input as one all-or-nothing restore.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/client.h"
#include "ctl/command.h"
#include "ctl/protocol.h"

namespace {

struct Invocation {
  std::vector<std::string> args;  // ipvsadm's arguments, --socket removed
  std::string socket_path;
};

// Takes "--socket PATH" / "--socket=PATH" out of argv; the rest is ipvsadm's. An option value
// that happens to be "--socket" (as in "-s --socket") is not expected in practice.
std::optional<Invocation> read_invocation(int argc, char** argv, std::string& error) {
  Invocation inv;
  const char* from_env = std::getenv("VSD_SOCKET");
  inv.socket_path =
      from_env != nullptr && *from_env != '\0' ? from_env : vsd::ctl::kDefaultSocketPath;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word == "--") {  // everything after belongs to ipvsadm's syntax
      inv.args.insert(inv.args.end(), argv + i, argv + argc);
      break;
    }
    if (word == "--socket") {
      if (i + 1 >= argc) {
        error = "vsadm: --socket needs a path";
        return std::nullopt;
      }
      inv.socket_path = argv[++i];
    } else if (word.rfind("--socket=", 0) == 0) {
      inv.socket_path = word.substr(9);
    } else {
      inv.args.push_back(word);
    }
  }
  return inv;
}

int finish(const vsd::ctl::Reply& reply) {
  std::cout << reply.output << std::flush;
  if (!reply.error.empty()) std::cerr << reply.error << '\n';
  return reply.exit;
}

// vsadm --sysctl [NAME[=VALUE]]: every setting, one, or one set.
int sysctl(const Invocation& inv) {
  if (inv.args.size() > 2) {
    std::cerr << "vsadm: --sysctl takes one NAME or NAME=VALUE\n";
    return vsd::ctl::kExitUsage;
  }
  if (inv.args.size() == 1)
    return finish(vsd::ctl::send_request(inv.socket_path, vsd::ctl::sysctl_request()));
  const std::string& word = inv.args[1];
  if (word.find('=') == std::string::npos)
    return finish(vsd::ctl::send_request(inv.socket_path, vsd::ctl::sysctl_request(word)));
  auto assignment = vsd::split_assignment(word);
  if (!assignment) {
    std::cerr << "vsadm: --sysctl " << word << ": expected NAME or NAME=VALUE\n";
    return vsd::ctl::kExitUsage;
  }
  return finish(vsd::ctl::send_request(
      inv.socket_path, vsd::ctl::sysctl_request(assignment->first, assignment->second)));
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  auto inv = read_invocation(argc, argv, error);
  if (!inv) {
    std::cerr << error << '\n';
    return vsd::ctl::kExitUsage;
  }

  // vsd's own counters (drops per reason, ports, ARP, connection table): not an ipvsadm
  // command, so not parsed as one.
  if (inv->args.size() == 1 && inv->args[0] == "--counters")
    return finish(vsd::ctl::send_request(inv->socket_path, vsd::ctl::counters_request()));

  // vsd's net.ipv4.vs settings: vsd's addition, not an ipvsadm command either.
  if (!inv->args.empty() && inv->args[0] == "--sysctl") return sysctl(*inv);

  auto command = vsd::ctl::parse_command(inv->args);
  if (!command.ok()) {
    std::cerr << command.failure().message << '\n';
    return command.failure().exit_code;
  }
  switch (command.value().op) {
    case vsd::ctl::Op::Help:
      std::cout << vsd::ctl::usage_text();
      return 0;
    case vsd::ctl::Op::Version:
      std::cout << vsd::ctl::version_text();
      return 0;
    case vsd::ctl::Op::Restore: {
      const std::string text{std::istreambuf_iterator<char>(std::cin),
                             std::istreambuf_iterator<char>()};
      return finish(vsd::ctl::send_request(inv->socket_path, vsd::ctl::restore_request(text)));
    }
    default: {
      // Streamed: a listing of a million connections is printed as it arrives.
      auto print = [](std::string_view piece) {
        std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size()));
      };
      return finish(
          vsd::ctl::send_request(inv->socket_path, vsd::ctl::apply_request(inv->args), print));
    }
  }
}
