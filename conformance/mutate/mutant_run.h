// Running the suite against one vsd binary, as `vslab mutate` does for each mutant: the
// conformance matrix (`vslab conform --dut builtin --vsd BIN`), then the pcap fixtures
// (`vslab replay ... --vsd BIN`), stopped at the first failing cell: the mutant is killed.
#pragma once

#include <string>
#include <vector>

namespace vslab::mutate {

struct SuiteOptions {
  std::string vslab;                  // this program
  std::string filter;                 // conform --filter, empty for the whole matrix
  std::vector<std::string> fixtures;  // case folders for replay; none skips that step
};

struct SuiteResult {
  enum class Outcome { Passed, Failed, Error } outcome = Outcome::Error;
  std::string cell;    // the first failing cell or case ("nat/rr/rewrite/udp")
  std::string detail;  // its failure text
  std::string error;   // Error: why no verdict (vslab's own exit status and output)
};

// `run_dir` receives the JSON reports and failure pcaps; `test_fault` (may be empty) is passed
// to vsd through a --dut-config file there.
SuiteResult run_suite(const SuiteOptions& options, const std::string& vsd,
                      const std::string& test_fault, const std::string& run_dir);

}  // namespace vslab::mutate
