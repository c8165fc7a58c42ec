#include "conn/defence.h"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace vsd {

void Defence::update(Sysctls& s, int64_t available_pages) {
  const int64_t threshold = s.amemthresh;
  const bool short_of_memory = available_pages < threshold;

  switch (s.drop_entry) {
    case 1:
      drop_entry_ = short_of_memory;
      if (short_of_memory) s.drop_entry = 2;
      break;
    case 2:
      drop_entry_ = short_of_memory;
      if (!short_of_memory) s.drop_entry = 1;
      break;
    case 3:
      drop_entry_ = true;
      break;
    default:
      drop_entry_ = false;
  }

  // The rate for a shortage is threshold / shortfall: one in 2 at half the threshold left.
  const auto shortage_rate = [&] {
    return static_cast<int32_t>(threshold / (threshold - available_pages));
  };
  switch (s.drop_packet) {
    case 1:
      if (short_of_memory) {
        drop_rate_ = drop_counter_ = shortage_rate();
        s.drop_packet = 2;
      } else {
        drop_rate_ = 0;
      }
      break;
    case 2:
      if (short_of_memory) {
        drop_rate_ = drop_counter_ = shortage_rate();
      } else {
        drop_rate_ = 0;
        s.drop_packet = 1;
      }
      break;
    case 3:
      drop_rate_ = s.am_droprate;  // the counter goes on from where it is
      break;
    default:
      drop_rate_ = 0;
  }

  // The tables switch only when the mode crosses 2 (old_secure_tcp): a mode that stays on
  // or off changes nothing.
  bool change = false;
  switch (s.secure_tcp) {
    case 0:
      change = old_secure_tcp_ >= 2;
      break;
    case 1:
      if (short_of_memory) {
        change = old_secure_tcp_ < 2;
        s.secure_tcp = 2;
      } else {
        change = old_secure_tcp_ >= 2;
      }
      break;
    case 2:
      if (short_of_memory) {
        change = old_secure_tcp_ < 2;
      } else {
        change = old_secure_tcp_ >= 2;
        s.secure_tcp = 1;
      }
      break;
    case 3:
      change = old_secure_tcp_ < 2;
      break;
    default:
      break;
  }
  old_secure_tcp_ = s.secure_tcp;
  if (change) secure_tcp_ = s.secure_tcp > 1;
}

std::optional<int64_t> available_pages_from_meminfo(std::string_view meminfo, int64_t page_bytes) {
  std::optional<int64_t> free_kb, buffers_kb;
  while (!meminfo.empty()) {
    const auto eol = meminfo.find('\n');
    std::string_view line = meminfo.substr(0, eol);
    meminfo = eol == std::string_view::npos ? std::string_view() : meminfo.substr(eol + 1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, colon);
    std::optional<int64_t>* into = key == "MemFree"   ? &free_kb
                                   : key == "Buffers" ? &buffers_kb
                                                      : nullptr;
    if (!into) continue;
    std::string_view rest = line.substr(colon + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    int64_t kb = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kb);
    if (ec != std::errc() || std::string_view(end, rest.data() + rest.size()) != " kB")
      return std::nullopt;
    *into = kb;
  }
  if (!free_kb || !buffers_kb || page_bytes < 1024) return std::nullopt;
  return (*free_kb + *buffers_kb) / (page_bytes / 1024);
}

std::optional<int64_t> available_pages() {
  std::ifstream in("/proc/meminfo");
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return available_pages_from_meminfo(text.str(), sysconf(_SC_PAGESIZE));
}

}  // namespace vsd
