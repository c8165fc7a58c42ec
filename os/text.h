// Text helpers shared by the commands (one copy, so that a unity batch of their files compiles;
// CMakeLists.txt).
#pragma once

#include <string>

namespace vslab::os {

// The first line of `text` (all of it when it has no newline): a child's error in one line.
inline std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

}  // namespace vslab::os
