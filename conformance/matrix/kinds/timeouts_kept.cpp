#include "matrix/kinds/timeouts_kept.h"

#include <exception>
#include <sstream>
#include <string>

namespace vslab::matrix::kinds {

std::vector<int> listed_timeouts(MatrixBed& mb) {
  const std::string out = mb.bed().admin({"-L", "--timeout"}).output;
  const auto colon = out.find("):");
  if (colon == std::string::npos) return {};
  std::istringstream in(out.substr(colon + 2));
  std::vector<int> values(3);
  for (int& v : values)
    if (!(in >> v)) return {};
  return values;
}

TimeoutsKept::~TimeoutsKept() {
  try {
    put_back();
  } catch (const std::exception&) {
    // The DUT is gone; the bed's own teardown reports that.
  }
}

void TimeoutsKept::put_back() {
  if (found_.size() != 3 || put_back_) return;
  put_back_ = true;
  mb_.bed().admin(
      {"--set", std::to_string(found_[0]), std::to_string(found_[1]), std::to_string(found_[2])});
}

}  // namespace vslab::matrix::kinds
