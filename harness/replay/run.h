// Replaying a case on a DUT: the case's topology up, the DUT started in it with the case's
// rules, the input frames injected in order, every expectation checked on its ports and
// nothing else allowed where the case says so. Failures write pcaps as harness checks do.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "port/port.h"
#include "replay/case.h"

namespace vslab::replay {

struct ReplayOptions {
  dut::DutSpec dut;
  std::filesystem::path pcap_dir;  // failure pcaps: <pcap_dir>/<case name>/
  // Keep what the ports sent and received (ReplayOutcome::sent, received): `vslab diff`.
  bool observe = false;
};

// The first check that did not hold, as data: which expected frame, on which port, and how
// the closest frame that did arrive there differs (`vslab diff` prints it as A against B).
struct Mismatch {
  int expectation = 0;   // 1-based; 0: a frame no expectation allowed arrived (no_other)
  std::string port;      // node name
  bool arrived = false;  // some frame arrived on `port` to compare with
  std::vector<expect::FieldCheck> fields;  // every field of the expected and the closest frame
  // When nothing arrived on `port`: the port where an unclaimed frame did, and its comparison.
  std::string elsewhere;
  std::vector<expect::FieldCheck> elsewhere_fields;
};

struct ReplayOutcome {
  // Error: no verdict, the topology or the DUT did not come up.
  enum class Kind { Pass, Fail, Skip, Error };
  Kind kind = Kind::Fail;
  // "PASS name", "FAIL name: diff", "SKIP name: reason", "ERROR name: what broke"
  std::string line;
  std::string report;                // for failures: the full field diffs and pcap paths
  std::optional<Mismatch> mismatch;  // a failed frame check (not a refused rule or the like)
  bool dut_unavailable = false;      // a SKIP because the DUT cannot run here at all
  // With ReplayOptions::observe: what the hosts' ports sent (patches applied) and received
  // (ARP and IPv6 left out), each in the order it happened, up to where the run ended.
  std::vector<InputFrame> sent, received;
};

// A topology up with a DUT started in it and its hosts' ports open, for one case after another
// of that topology (`vslab diff` keeps B's per mode, as the matrix keeps A's bed): each case
// restores its rules over what the last one left (-C first) and sees only its own frames, so
// cases that use virtual ports no earlier case used meet a director with no history for them.
class ReplaySession {
 public:
  // Throws dut::DutUnavailable when the DUT cannot run here, another exception when the
  // topology or the DUT does not come up.
  ReplaySession(const topo::Topology& topology, const dut::DutSpec& dut, bool quiet_hosts = true);
  ~ReplaySession();
  ReplaySession(const ReplaySession&) = delete;
  ReplaySession& operator=(const ReplaySession&) = delete;
  const dut::Dut& dut() const;
  // Runs a case of the session's topology (its quiet_hosts is the session's). Never throws.
  ReplayOutcome run(const Case& c, const ReplayOptions& options);

  struct Parts;

 private:
  std::unique_ptr<Parts> parts_;
};

// Runs one loaded case on a session of its own. Never throws: what goes wrong is a FAIL (or a SKIP
// when the DUT cannot run here or does not claim the case's mode).
ReplayOutcome replay_case(const Case& c, const ReplayOptions& options);

// The expected frame of `x` as checked on `port` (roles, "port" and variables resolved);
// throws std::invalid_argument when it cannot be built (the base frame does not parse).
class Roles;
expect::FrameExpectation build_expectation(const Expectation& x, const std::string& port,
                                           const Roles& roles,
                                           const std::map<std::string, std::string>& variables);
// What `ports` sent, in the order it was sent, as the inputs of a case (write_case), each named
// by port_name (a node name; conformance/mode_bed.cpp labels its ports "<node>-<ifname>").
std::vector<InputFrame> sent_frames(const std::vector<port::Port*>& ports,
                                    const std::function<std::string(const port::Port&)>& port_name);

// A mask with literal values on an expectation: what `vslab conform` can build its
// expectations with, so that the masks it writes into a case are the ones it checked.
void apply_mask(expect::FrameExpectation& want, const Mask& mask);
// An input frame with the case's patches applied (checksums recomputed).
std::vector<uint8_t> patched_input(const std::vector<uint8_t>& frame,
                                   const std::vector<std::pair<std::string, Value>>& set,
                                   const std::string& port, const Roles& roles,
                                   const std::map<std::string, std::string>& variables);

}  // namespace vslab::replay
