#include "matrix/console.h"

#include <cstdlib>

#include <fmt/format.h>

namespace vslab::matrix {
namespace {

constexpr const char* kRed = "\033[31m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kReset = "\033[0m";

std::string word_of(Outcome o) {
  switch (o) {
    case Outcome::Pass:
      return "PASS";
    case Outcome::Fail:
      return "FAIL";
    case Outcome::Error:
      return "ERROR";
    case Outcome::Skip:
      return "SKIP";
    case Outcome::NotRun:
      return "NOTRUN";
  }
  return "?";
}

const char* colour_of(Outcome o) {
  switch (o) {
    case Outcome::Pass:
      return kGreen;
    case Outcome::Fail:
    case Outcome::Error:
      return kRed;
    default:
      return kYellow;
  }
}

}  // namespace

bool use_colour(const std::string& when, bool tty) {
  if (when == "always") return true;
  if (when == "never") return false;
  const char* no_colour = std::getenv("NO_COLOR");
  return tty && (no_colour == nullptr || *no_colour == '\0');
}

std::string cell_line(const CellResult& r, bool colour, bool verbose) {
  std::string word = fmt::format("{:<6}", word_of(r.outcome));
  if (colour) word = colour_of(r.outcome) + word + kReset;
  std::string line = fmt::format("{} {}  {:.2f} s", word, r.cell.id(), r.seconds);
  if (r.detail.empty() || r.outcome == Outcome::Pass) return line;
  if (verbose && r.detail.find('\n') != std::string::npos) {
    std::string indented;
    for (std::size_t start = 0; start < r.detail.size();) {
      auto end = r.detail.find('\n', start);
      if (end == std::string::npos) end = r.detail.size();
      indented += "\n    " + r.detail.substr(start, end - start);
      start = end + 1;
    }
    return line + indented;
  }
  return line + "  " + r.detail.substr(0, r.detail.find('\n'));
}

void CellConsole::start(std::size_t total) {
  total_ = total;
  if (tty_ && verbosity_ != Verbosity::Quiet) draw_bar();
}

void CellConsole::finished(const CellResult& r) {
  ++done_;
  failed_ += r.outcome == Outcome::Fail;
  errors_ += r.outcome == Outcome::Error;
  const bool problem = r.outcome == Outcome::Fail || r.outcome == Outcome::Error;
  // A CI log gets every cell; a terminal the failures above its bar, or every cell with -v.
  bool print =
      problem || verbosity_ == Verbosity::Verbose || (!tty_ && verbosity_ == Verbosity::Normal);
  if (tty_ && verbosity_ != Verbosity::Quiet) out_ << "\r\033[K";
  if (print) out_ << cell_line(r, colour_, verbosity_ == Verbosity::Verbose) << "\n";
  if (tty_ && verbosity_ != Verbosity::Quiet) draw_bar();
  out_ << std::flush;
}

void CellConsole::end() {
  if (tty_ && verbosity_ != Verbosity::Quiet) out_ << "\r\033[K" << std::flush;
}

void CellConsole::draw_bar() {
  constexpr std::size_t kWidth = 30;
  const std::size_t filled = total_ ? done_ * kWidth / total_ : kWidth;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  std::string tally;
  if (failed_) tally += fmt::format(", {} failed", failed_);
  if (errors_) tally += fmt::format(", {} errors", errors_);
  if (colour_ && !tally.empty()) tally = kRed + tally + kReset;
  out_ << fmt::format("[{}] {}/{} cells{}", bar, done_, total_, tally);
}

}  // namespace vslab::matrix
