// Checks that tie expectations to ports, in the manner of PTF's verify_packet: wait for a
// frame on a port that matches an expectation (until a deadline), and verify that no other
// frame arrived. A failed check is a bug report: a field diff against the closest captured
// frame, and pcaps in the fixture layout (in-<port>, expect-<port>, captured-<port>).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "expect/expectation.h"
#include "port/port.h"

namespace vslab::check {

struct CheckResult {
  bool ok = false;
  std::string summary;  // one line
  std::string report;   // summary, then the diff and the pcap paths when it failed
  std::vector<std::string> pcaps;
};

// Frames a check does not count as "other": by default ARP, IPv6 neighbour discovery (router
// and neighbour solicitations and advertisements, redirects), and IPv4 and IPv6 multicast (IGMP,
// MLD), which kernels send whenever they like. An expectation still matches such a frame
// (an expected neighbour advertisement is found); noise only never counts against a check.
using NoiseFilter = std::function<bool(std::span<const uint8_t>)>;
bool is_neighbour_noise(std::span<const uint8_t> frame);

// Where failure pcaps go: $VSLAB_PCAP_DIR, else ./vslab-failures.
std::filesystem::path default_failure_dir();

class FrameChecker {
 public:
  // case_name names the failure folder: <failure_dir>/<case_name>/.
  FrameChecker(std::string case_name, std::vector<port::Port*> ports,
               std::filesystem::path failure_dir = default_failure_dir());

  void set_noise_filter(NoiseFilter filter) { noise_ = std::move(filter); }

  // The capture of a link that a host's frames crossed on their way (the far end of the
  // director's port that faces the host's segment), and how a frame expected at the host looks
  // there. A frame that a bridge or router between drops (a bad header checksum, a wrong
  // destination MAC) then fails naming the field, not as "nothing arrived".
  struct Upstream {
    port::Port* link = nullptr;
    std::string name;  // "the director's link to bridge rsnet (director:eth1)"
    std::function<expect::FrameExpectation(const expect::FrameExpectation&)> at_link;
  };
  void set_upstream(const port::Port& host, Upstream upstream);

  // How the frames on the upstream link of `host` compare with `want` (as expected at the
  // host), judged one hop earlier; nothing when `host` has no upstream. A failed expect_frame
  // adds this to its report by itself.
  struct LinkFinding {
    std::size_t mismatches = 0;  // of the closest frame; SIZE_MAX when the link carried none
    std::string line;            // one line naming the fields that differ
    std::string diff;            // the closest frame's table
    std::vector<std::string> pcaps;
  };
  std::optional<LinkFinding> judge_upstream(const port::Port& host,
                                            const expect::FrameExpectation& want);

  // Waits up to timeout for an unclaimed frame on port that matches want, and claims it.
  CheckResult expect_frame(port::Port& port, const expect::FrameExpectation& want,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Watches the ports for `window` and fails on any unclaimed frame that is not noise.
  CheckResult expect_no_other_frames(
      const std::vector<port::Port*>& ports,
      std::chrono::milliseconds window = std::chrono::milliseconds(200));

  const std::filesystem::path& case_dir() const { return case_dir_; }

  // Every check this checker made, in order, so that a failed run can be written down as a
  // case (fixtures/pcap): where a frame was expected (or none allowed), after how many of the
  // frames the ports sent since the checker was made, and whether it held.
  struct Record {
    std::vector<port::Port*> ports;                // one for a frame; any number for "no other"
    std::optional<expect::FrameExpectation> want;  // none: "no other frame" on `ports`
    std::size_t sent_before = 0;
    bool ok = false;
  };
  const std::vector<Record>& journal() const { return journal_; }
  // A check made elsewhere (a frame matched or looked for by other means) joins the journal.
  void record(port::Port& port, const expect::FrameExpectation& want, bool ok);
  // How many frames the ports sent since the checker was made.
  std::size_t sent_now() const;
  // What the ports sent since the checker was made, oldest first, each with its port.
  std::vector<std::pair<port::Port*, port::Frame>> sent_since_start() const;

 private:
  std::vector<std::string> write_pcaps(port::Port& port, const std::vector<uint8_t>* expected);

  std::string case_name_;
  std::vector<port::Port*> ports_;
  std::vector<std::size_t> sent_at_start_;  // per port of ports_
  std::vector<Record> journal_;
  std::filesystem::path case_dir_;
  NoiseFilter noise_ = is_neighbour_noise;
  std::vector<std::pair<const port::Port*, Upstream>> upstreams_;
};

}  // namespace vslab::check
