// The director's per-destination connection counters as `vsadm -L -n` lists them (spec 9:
// the ActiveConn and InActConn columns of each "  -> RIP:rport" line), read and checked by
// real server, for any mode bed.
#pragma once

#include <map>
#include <string>

#include "mode_bed.h"

namespace vslab::conformance {

// One destination line of `-L -n`.
struct ListedCounts {
  int active = 0;
  int inactive = 0;
  bool operator==(const ListedCounts&) const = default;
};

// The counts of the destination line "  -> ADDRESS:PORT" of an `-L -n` listing ({-1, -1} when
// the listing has no such line).
ListedCounts listed_counts_of(const std::string& listing, const std::string& destination);

// `-L -n` of the bed's director, by real server (1..3; a server not listed is absent).
std::map<int, ListedCounts> listed_counts(ModeBed& bed);

// Fails unless `-L -n` lists every server of `want` (1..3) with exactly its counts; servers
// not in `want` are not checked. Prints the listing when the test has failed.
void expect_listed_counts(ModeBed& bed, const std::map<int, ListedCounts>& want);

}  // namespace vslab::conformance
