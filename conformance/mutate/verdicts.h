// A mutant's verdict and the table `vslab mutate` prints (and writes as Markdown).
#pragma once

#include <string>
#include <vector>

#include "mutate/mutant_set.h"

namespace vslab::mutate {

// NotRun: the run was interrupted (SIGINT, SIGTERM) before this mutant was judged.
enum class Verdict { Killed, Survived, Stale, BuildFailed, Error, Equivalent, NotRun };

struct MutantResult {
  Mutant mutant;
  Verdict verdict = Verdict::Error;
  std::string cell;    // Killed: the first failing cell or case
  std::string detail;  // Killed: its failure text; otherwise why (stale, build output, error)
  double seconds = 0;  // build and run
};

std::string verdict_name(Verdict v);
// "yes" when the failure text names one of the mutant's `names`, "no" when it names none, "-"
// when the mutant was not killed or lists no names.
std::string names_field(const MutantResult& r);

std::string format_table(const std::vector<MutantResult>& results);
std::string format_markdown(const std::vector<MutantResult>& results);
// "score: K/N killed (P %) ..." over the non-equivalent mutants that built and ran.
std::string format_score(const std::vector<MutantResult>& results);
// 0 when every mutant that ran was killed and none was stale, failed to build or erred (an
// interrupted run exits with its signal's status instead).
int exit_status(const std::vector<MutantResult>& results);

}  // namespace vslab::mutate
