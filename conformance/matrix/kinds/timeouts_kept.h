// The director's TCP/UDP timeouts (`--set tcp tcpfin udp`, `-L --timeout`) outlive a cell: a
// kind that changes them puts back what it found, not the spec's defaults, so that a director
// whose defaults are wrong still shows it in the cells after.
#pragma once

#include <vector>

#include "matrix/bed.h"

namespace vslab::matrix::kinds {

// The three values `-L --timeout` prints (tcp tcpfin udp); empty when it prints no such line.
std::vector<int> listed_timeouts(MatrixBed& mb);

// Reads the timeouts when made; puts them back by put_back() or at the latest when destroyed.
class TimeoutsKept {
 public:
  explicit TimeoutsKept(MatrixBed& mb) : mb_(mb), found_(listed_timeouts(mb)) {}
  ~TimeoutsKept();
  TimeoutsKept(const TimeoutsKept&) = delete;
  TimeoutsKept& operator=(const TimeoutsKept&) = delete;
  const std::vector<int>& found() const { return found_; }
  void put_back();

 private:
  MatrixBed& mb_;
  std::vector<int> found_;
  bool put_back_ = false;
};

}  // namespace vslab::matrix::kinds
