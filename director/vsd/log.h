// vsd's log: lines on stderr with a level; never called per packet (the data plane counts).
#pragma once

#include <string>

namespace vsd {
void set_log_level(const std::string& level);  // error, warn, info, debug
void log_error(const std::string& line);
void log_warn(const std::string& line);
void log_info(const std::string& line);
void log_debug(const std::string& line);
}  // namespace vsd
