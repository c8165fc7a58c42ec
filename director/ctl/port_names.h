// Port numbers by service name and back (/etc/services), as ipvsadm uses them: "-t VIP:http"
// on input, ":http" in listings without -n. Thread-safe (the *_r lookups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/addr.h"

namespace vsd::ctl {

std::optional<uint16_t> port_by_name(std::string_view name, Proto proto);
// The service name of the port, or its number when it has none.
std::string port_name_or_number(uint16_t port, Proto proto);

// The same for many lines: /etc/services read once, when made, rather than once a port (a
// million lines of -L -c would read it three million times). For one listing; one thread.
class PortNames {
 public:
  PortNames();
  // The name, or "" when the port has none (print the number).
  std::string_view name(uint16_t port, Proto proto) const;

 private:
  std::unordered_map<uint32_t, std::string> names_;  // (proto << 16 | port) -> first name
};

}  // namespace vsd::ctl
