#include "vsd/log.h"

#include <cstdio>
#include <ctime>

namespace vsd {
namespace {
int threshold = 2;  // 0 error, 1 warn, 2 info, 3 debug

void emit(int level, const char* tag, const std::string& line) {
  if (level > threshold) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t;
  gmtime_r(&ts.tv_sec, &t);
  std::fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s\n", t.tm_hour, t.tm_min, t.tm_sec,
               ts.tv_nsec / 1000000, tag, line.c_str());
}
}  // namespace

void set_log_level(const std::string& level) {
  threshold = level == "error" ? 0 : level == "warn" ? 1 : level == "debug" ? 3 : 2;
}
void log_error(const std::string& line) {
  emit(0, "error", line);
}
void log_warn(const std::string& line) {
  emit(1, "warn", line);
}
void log_info(const std::string& line) {
  emit(2, "info", line);
}
void log_debug(const std::string& line) {
  emit(3, "debug", line);
}

}  // namespace vsd
