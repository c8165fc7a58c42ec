// The differential test behind `vslab diff`: what DUT A delivered for some inputs becomes a
// case whose expectations are exactly A's frames; replaying it on DUT B compares B's frames
// with A's field by field, and the first that differs is the report. Works for any two
// DutSpecs; the callers run A (a matrix cell on its bed, or a case replayed with observe).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "dut/dut.h"
#include "replay/case.h"
#include "replay/run.h"
#include "topology/model.h"

namespace vslab::replay {

// What one DUT did with a run's inputs: the rules, the frames the hosts sent (in order, port =
// node name) and every frame they received (ARP and IPv6 left out).
struct Observed {
  std::string topology;  // a name: topologies/<name>.toml
  std::string rules;     // ipvsadm save format
  std::vector<AdminStep> admin;
  std::vector<InputFrame> sent, received;
  bool quiet_hosts = true;  // as the run had them (Case::quiet_hosts)
};

// The fields in which two correct directors may differ, for a frame that arrived on `port`;
// every other field of B's frame must equal A's. Kept small, and documented in
// conformance/README.md ("What vslab diff ignores"):
// - ip.id and ip.df of an ICMP message (echo reply, port unreachable, fragmentation needed):
//   the director's own stack picks them (spec 3 gives TTL and TOS only);
// - payload of an ICMP error: how much of the offending packet is quoted (the quoted header
//   fields, quoted.*, are still compared);
// - ip.id of an IPIP packet without DF: "a fresh non-zero value" (spec 2, TUN);
// - ip6.frag.id of an IPv6 fragment: the director cut it (ip6_fragment) and picked the id;
// - l4.sport of a FULLNAT packet to a real server (from a local address): lport is the
//   director's choice (spec 2, FULLNAT), checked to lie in 1024..65535.
std::vector<Mask> unspecified_fields(std::span<const uint8_t> frame, const std::string& port,
                                     const topo::Topology& topology);

// A's run as a case: A's inputs, and each frame A's hosts received as an expectation on its
// port (after the inputs sent before it arrived; masks: unspecified_fields), nothing else
// allowed anywhere. A FULLNAT lport is captured, and the real server's later frames to it are
// patched to B's choice. An IPv6 flow label that A chose (non-zero, sent by no host) is
// expected non-zero, and the same in every frame where A's was the same (the first captures
// B's, the others expect it).
CaseToWrite case_of_run(const Observed& a, const topo::Topology& topology,
                        const std::string& description);

struct DiffResult {
  enum class Kind { Same, Diff, Skip, Error };
  Kind kind = Kind::Error;
  std::string line;            // "SAME id", "DIFF id: ...", "SKIP id: ...", "ERROR id: ..."
  std::string report;          // DIFF: the first differing frame field by field, and the pcaps
  bool b_unavailable = false;  // SKIP because B cannot run here at all
};

struct DiffPlaces {
  std::filesystem::path dir;  // <dir>/A: A's run as a case; <dir>/B: B's frames (on a DIFF)
  std::filesystem::path topologies_dir;
};

// Writes A's run as a case into places.dir/A, replays it on B (on `b_session` when given, else
// on a session of its own) and compares. `a_name` and `b_name` name the DUTs in the report;
// `note` is added to a DIFF's report (e.g. that A itself failed the cell). Never throws.
// places.dir is removed unless the result is a DIFF.
DiffResult diff_against(const std::string& id, const Observed& a, const topo::Topology& topology,
                        const DiffPlaces& places, const dut::DutSpec& b, const std::string& a_name,
                        const std::string& b_name, const std::string& note = "",
                        ReplaySession* b_session = nullptr);

// A case folder on A (observed), then diff_against B.
DiffResult diff_case(const Case& c, const dut::DutSpec& a, const dut::DutSpec& b,
                     const DiffPlaces& places);

}  // namespace vslab::replay
