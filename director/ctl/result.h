// Expected failures at the control edge (CLI, restore files, socket requests): an ipvsadm exit
// code and one line saying what went wrong, as a value rather than an exception.
#pragma once

#include <ostream>
#include <string>
#include <utility>
#include <variant>

namespace vsd::ctl {

// ipvsadm's exit codes: 2 for a bad command line (its fail(2, ...)), 255 for what the kernel
// refused (process_options returns -1), 1 when a listing cannot be produced (exit(1)).
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 255;
inline constexpr int kExitListing = 1;

struct Failure {
  int exit_code = kExitRefused;
  std::string message;  // one line, no trailing newline; ipvsadm's wording where it has one
  bool operator==(const Failure&) const = default;
};

// For test failure messages.
inline std::ostream& operator<<(std::ostream& os, const Failure& f) {
  return os << "exit " << f.exit_code << ": " << f.message;
}

inline Failure usage_error(std::string message) {
  return {kExitUsage, std::move(message)};
}
inline Failure refused(std::string message) {
  return {kExitRefused, std::move(message)};
}

// A value or the Failure that prevented it (g++ 12 has no std::expected).
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Failure failure) : state_(std::move(failure)) {}

  bool ok() const { return state_.index() == 0; }
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Failure& failure() const { return std::get<1>(state_); }

 private:
  std::variant<T, Failure> state_;
};

}  // namespace vsd::ctl
