// vsadm's side of the control protocol (protocol.h): send one request to vsd, get its reply.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace vsd::ctl {

inline constexpr const char* kDefaultSocketPath = "/run/vsd/vsd.sock";

struct Reply {
  int exit = 0;
  std::string output;   // for stdout, as is
  std::string error;    // for stderr, one message without the final newline
  nlohmann::json body;  // the whole response (holds "state" for op state); null on failure
};

// Never throws. When vsd cannot be reached the reply says so in `error` with exit 2, like
// ipvsadm's "Can't initialize ipvs" ("vsadm: cannot reach vsd at PATH: ...; is vsd running?").
Reply send_request(const std::string& socket_path, const nlohmann::json& request);

}  // namespace vsd::ctl
