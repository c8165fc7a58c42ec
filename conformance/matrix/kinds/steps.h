// Steps that several scenario kinds take: the rules' roomy weights, and a client's frame sent
// and looked for at the real servers.
#pragma once

#include <string>
#include <vector>

#include <tins/tins.h>

#include "matrix/bed.h"
#include "matrix/kinds/kind.h"

namespace vslab::matrix::kinds {

// Weights for cells that are not about load: large enough that the cell's own connections never
// make a server overflow (ovf) or count as overloaded (lblc, lblcr).
inline const std::vector<int> kRoomy{100, 100, 100};

// Sends `sent` and expects it at some real server, rewritten as the mode does; returns which
// (0: none, noted in `f` under `what`).
int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what);

}  // namespace vslab::matrix::kinds
