// Port numbers by service name and back (/etc/services), as ipvsadm uses them: "-t VIP:http"
// on input, ":http" in listings without -n. Thread-safe (the *_r lookups).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/addr.h"

namespace vsd::ctl {

std::optional<uint16_t> port_by_name(std::string_view name, Proto proto);
// The service name of the port, or its number when it has none.
std::string port_name_or_number(uint16_t port, Proto proto);

}  // namespace vsd::ctl
