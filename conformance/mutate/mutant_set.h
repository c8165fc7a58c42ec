// The mutant set of `vslab mutate`: realistic faults in vsd, each a one-place source edit (or a
// vsd --test-fault), read from a TOML file (conformance/mutate/mutants.toml documents the keys).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vslab::mutate {

struct Mutant {
  std::string id;         // unique, [a-z0-9-]
  std::string section;    // of spec/ipvs-semantics.md, e.g. "2 NAT"
  std::string behaviour;  // what a director with this fault gets wrong, in a few words
  // The edit: in `file` (relative to the source root), `find` must occur exactly once and is
  // replaced by `replace`. Empty file for a test-fault mutant.
  std::string file, find, replace;
  std::string test_fault;  // a vsd --test-fault name instead of an edit
  // Words (any of them, case-insensitive) a failure that catches this fault should show, so
  // that the reader knows the bug from the CI log: "ttl", "checksum", "mac".
  std::vector<std::string> names;
  std::string equivalent;  // why no director behaviour changes; such a mutant is not run
  bool quick = false;      // in the CI slice (--quick)
};

// Parses the text; throws std::invalid_argument with every mistake, one "FILE:LINE:COLUMN:
// message" line each (unknown keys, duplicate ids, a mutant with both or neither of an edit and
// a test fault).
std::vector<Mutant> parse_mutants(std::string_view text, const std::string& source_name);

// `source` with the mutant's edit, or nothing when `find` does not occur exactly once (the
// source moved on: the mutant is stale). `occurrences` says how often it was found.
std::optional<std::string> apply_edit(std::string_view source, const Mutant& mutant,
                                      int& occurrences);

}  // namespace vslab::mutate
