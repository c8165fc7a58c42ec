// How a run shows its cells as they finish: on a terminal a progress bar with the failures
// above it, elsewhere (a CI log) one line per cell; -q keeps only failures and errors, -v adds
// every cell on a terminal and the whole failure text. Colour only where wanted (use_colour).
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

#include "matrix/cell.h"

namespace vslab::matrix {

enum class Verbosity { Quiet, Normal, Verbose };

// --color=always|never|auto: auto is colour on a terminal unless NO_COLOR is set (and not
// empty); always and never override NO_COLOR, as a command line overrides the environment.
bool use_colour(const std::string& when, bool tty);

// "PASS  nat/rr/rewrite/tcp  0.05 s", with the reason of a skip, the first line of a failure
// or error (all of it when verbose), coloured by verdict when colour is on.
std::string cell_line(const CellResult& r, bool colour, bool verbose);

class CellConsole {
 public:
  CellConsole(std::ostream& out, bool tty, bool colour, Verbosity verbosity)
      : out_(out), tty_(tty), colour_(colour), verbosity_(verbosity) {}
  void start(std::size_t total);
  void finished(const CellResult& r);
  // Clears the progress bar, so that what follows starts on a clean line.
  void end();

 private:
  void draw_bar();

  std::ostream& out_;
  bool tty_, colour_;
  Verbosity verbosity_;
  std::size_t total_ = 0, done_ = 0, failed_ = 0, errors_ = 0;
};

}  // namespace vslab::matrix
