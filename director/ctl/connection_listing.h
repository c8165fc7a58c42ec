// -L -c as an Answer (ctl/protocol.h): the connection entries fetched a chunk at a time from the
// target and formatted as each chunk comes, so that no step holds the data plane or the control
// thread for long, and a streamed answer sends each chunk as it is made.
#pragma once

#include <memory>

#include "ctl/command.h"
#include "ctl/protocol.h"

namespace vsd::ctl {

// stream: one {"output":...} line per chunk of text, then the response line; otherwise the
// whole listing in the response line's "output".
std::unique_ptr<Answer> make_connection_listing(ControlTarget& target, const ListOptions& options,
                                                bool stream);

}  // namespace vsd::ctl
