// One copy of the source tree and one build tree for every mutant of a `vslab mutate` run: the
// copy is brought up to date with the source by content (so a run after an edit rebuilds only
// what changed), each mutant's edit is applied, vsd rebuilt incrementally, the binary kept and
// the edit reverted.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "mutate/mutant_set.h"
#include "mutate/overlay.h"

namespace vslab::mutate {

struct BuildResult {
  enum class Outcome { Built, Stale, Failed } outcome = Outcome::Failed;
  std::string binary;  // the kept vsd (Built)
  std::string detail;  // why stale or failed: the occurrences, the compiler's last lines
};

class Workspace {
 public:
  // `work_dir` is the build tree and holds src/ (the copy), bin/<mutant>/vsd and runs/. `log`
  // gets a line per step. `seed_build`, when not empty, is a Release build of the source (the
  // one vslab runs from) that the mutants are built on top of (overlay.h) if it can serve.
  Workspace(std::string source_root, std::string work_dir, int build_jobs,
            std::function<void(const std::string&)> log, std::string seed_build = {});

  // Syncs the copy; then either takes the seed build's vsd as the unmutated one, or configures
  // the build tree when it has none and builds the unmutated vsd there. Throws
  // std::runtime_error with the build's output when that fails.
  std::string prepare();
  // Edit, build, keep, revert. A test-fault mutant gets the unmutated binary.
  BuildResult build(const Mutant& mutant);

 private:
  bool build_vsd(std::string& output);
  std::string keep_binary(const std::string& from, const std::string& name);

  std::string source_, work_, src_, build_, seed_;
  std::optional<OverlayBuild> overlay_;
  int jobs_;
  std::function<void(const std::string&)> log_;
  std::string baseline_;
};

}  // namespace vslab::mutate
