// Running a DUT's commands (vsadm, ipvsadm, an external box's templates): argv with a text on
// standard input, standard output and error collected together.
#pragma once

#include <string>
#include <vector>

#include "dut/dut.h"

namespace vslab::dut {

// Never raises SIGPIPE in the caller when the program exits without reading all of `input`,
// and never blocks on a program that writes much before it has read everything.
Result run_with_input(const std::vector<std::string>& argv, const std::string& input);

}  // namespace vslab::dut
