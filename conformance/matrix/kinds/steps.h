// Steps that several scenario kinds take: the rules' roomy weights, and a client's frame sent
// and looked for at the real servers.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <tins/tins.h>

#include "matrix/bed.h"
#include "matrix/kinds/kind.h"

namespace vslab::matrix::kinds {

// Weights for cells that are not about load: large enough that the cell's own connections never
// make a server overflow (ovf) or count as overloaded (lblc, lblcr).
inline const std::vector<int> kRoomy{100, 100, 100};

// Sends `sent` and expects it at some real server, rewritten as the mode does; returns which
// (0: none, noted in `f` under `what`).
int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what);

// The five counters of a `-L -n --stats --exact` line whose address is `address` (the service
// line "TCP  VIP:vport" or a destination line "  -> RIP:rport"), empty when there is none.
std::vector<uint64_t> listed_stats(const std::string& listing, const std::string& address);

// Re-reads what `read` returns until it equals `want` or `patience` has passed (the kernel's
// totals come from an estimator that runs every 2 s: spec 9); the last reading.
template <typename T>
T read_until(const std::function<T()>& read, const T& want, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  T got = read();
  while (got != want && std::chrono::steady_clock::now() < deadline) {
    // A polling interval, not a synchronisation.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = read();
  }
  return got;
}

}  // namespace vslab::matrix::kinds
