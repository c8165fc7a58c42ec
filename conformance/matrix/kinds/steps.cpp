#include "matrix/kinds/steps.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what) {
  mb.bed().client().port->send(sent);
  int rs = mb.server_reached(sent, 2s);
  if (rs != 0) return rs;
  // Nothing matched: show the diff against what a real server did receive, if one did (ARP
  // and IPv6 are the kernels' own chatter, not the director's forwarding).
  auto received = [&](int i) {
    const auto& frames = mb.bed().rs(i).port->captured();
    return std::any_of(frames.begin(), frames.end(), [](const port::CapturedFrame& c) {
      return !c.claimed && !check::is_neighbour_noise(c.bytes);
    });
  };
  for (int i = 1; i <= 3; ++i)
    if (received(i)) {
      f.check(
          mb.bed().checker().expect_frame(*mb.bed().rs(i).port, mb.at_real_server(sent, i), 10ms),
          what);
      return 0;
    }
  f.require(false, what + ": no real server received it");
  return 0;
}

std::vector<uint64_t> listed_stats(const std::string& listing, const std::string& address) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string first, addr;
    if (!(in >> first >> addr) || addr != address) continue;
    std::vector<uint64_t> values(5);
    for (auto& v : values)
      if (!(in >> v)) return {};
    return values;
  }
  return {};
}

}  // namespace vslab::matrix::kinds
