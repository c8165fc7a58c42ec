// vsadm's side of the control protocol (protocol.h): send one request to vsd, get its reply.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

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

// The same as a streamed request (protocol.h): every piece of output, the response line's
// included, goes to on_output as it arrives (so Reply::output stays empty), in order.
using OutputSink = std::function<void(std::string_view piece)>;
Reply send_request(const std::string& socket_path, nlohmann::json request,
                   const OutputSink& on_output);

}  // namespace vsd::ctl
