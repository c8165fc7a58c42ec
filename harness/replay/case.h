// A pcap bug report as a folder (fixtures/pcap/README.md): case.toml names the topology, the
// rules, the input pcaps per port with their order and timing, and what is expected where.
// load_case() reads and checks a folder; write_case() writes one (what `vslab conform` and
// `vslab record` use to turn a run into a case). Nothing here touches the kernel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "expect/expectation.h"
#include "port/pcap_file.h"
#include "topology/model.h"

namespace vslab::replay {

enum class Timing {
  Asap,           // every input frame at once, then every expectation
  Recorded,       // the gaps between the inputs' pcap timestamps are kept
  AfterExpected,  // an input frame is sent once the expectations before it were seen
};
std::string timing_name(Timing t);

// A mask of expect::FrameExpectation, by field name ("ip.id", "l4.sport": expect::field_name).
struct Mask {
  enum class Kind { Ignore, AnyOf, InRange, Text };
  std::string field;
  Kind kind = Kind::Ignore;
  std::vector<std::string> values;  // AnyOf: accepted (roles allowed); Text: the one text
  uint64_t lo = 0, hi = 0;          // InRange
  bool operator==(const Mask&) const = default;
};

// A value in `set`: a number, or text that names a role ("client", "vip", "rs1",
// "director:eth1", "port", "$variable") or is a literal address.
using Value = std::variant<int64_t, std::string>;

// One input frame, in global send order (1-based numbers in case.toml).
struct InputFrame {
  std::string port;  // node name
  port::Frame frame;
};

struct Expectation {
  std::vector<std::string> ports;  // any of these (node names); with several, "port" resolves
                                   // to the one being checked
  int after_input = 0;             // checked after this input frame was sent; 0: after the last
  // The expected frame before edits: an input frame (1-based), or a frame of a pcap in the
  // case folder (1-based), readdressed like the inputs.
  std::optional<int> from_input;
  std::string pcap;
  int frame = 1;
  std::vector<std::pair<std::string, Value>> set;  // field edits, in file order
  std::vector<Mask> masks;
  std::map<std::string, std::string> capture;  // variable -> field of the matched frame
  int timeout_ms = 5000;
  std::vector<uint8_t> base;  // filled by load_case: the frame from_input/pcap names
};

// Rewrites run before input `before_input` is sent (e.g. set a server's weight to 0).
// With `until_unlisted` the command is a listing, run again until no line of its output
// holds all those words: a wait for the director to end an entry (a connection a SYN
// rescheduled ends at the next timer tick, spec 5), so that what follows does not depend on
// how long that tick is on the DUT.
struct AdminStep {
  int before_input = 1;
  std::vector<std::string> args;  // one ipvsadm command
  std::vector<std::string> until_unlisted;
  bool operator==(const AdminStep&) const = default;
};

// An input frame's fields set from variables captured earlier (a FULLNAT reply to LIP:lport).
struct Patch {
  int input = 1;
  std::vector<std::pair<std::string, Value>> set;
};

// A capture's own addresses: role -> its address and MAC in the capture, mapped onto the
// topology's (readdress.h).
struct CaptureAddress {
  std::string ip;
  std::string mac;
};

struct Case {
  std::string name;  // the folder's name
  std::filesystem::path dir;
  std::string description;
  std::string topology;  // topologies/<name>.toml
  std::string rules;     // ipvsadm save format
  std::string rules_file;
  Timing timing = Timing::AfterExpected;
  std::vector<std::string> input_files;  // as case.toml lists them (or found: in-*.pcap)
  std::vector<InputFrame> inputs;        // all of them, in send order
  std::vector<Expectation> expectations;
  std::optional<std::vector<std::string>> no_other;  // nothing: every captured port
  int no_other_window_ms = 300;
  std::vector<AdminStep> admin;
  std::vector<Patch> patches;
  std::map<std::string, CaptureAddress> readdress;  // role -> the capture's addresses
  bool quiet_hosts = true;        // the client's and real servers' kernels see no IPv4
  topo::Topology topology_model;  // topologies/<topology>.toml as parsed
};

struct LoadResult {
  std::optional<Case> value;
  std::vector<std::string> errors;  // one line each: "case.toml:LINE:COL: message"
  bool ok() const { return errors.empty() && value.has_value(); }
};

// Reads DIR/case.toml and the pcaps it names (or finds). Every mistake is one line; the pcaps'
// frames are readdressed when the case says so (needs the topology: topologies_dir/<name>.toml).
LoadResult load_case(const std::filesystem::path& dir, const std::filesystem::path& topologies_dir);
// The same from a text, for tests; pcaps are looked up in `dir`.
LoadResult parse_case(std::string_view toml_text, const std::filesystem::path& dir,
                      const std::filesystem::path& topologies_dir);

// What a run saw or meant, to be written as a case (the writer API of `vslab conform`).
struct CaseToWrite {
  std::string description;  // one paragraph: the bug it guards (required)
  std::string topology;     // name
  std::string rules;        // ipvsadm save format
  Timing timing = Timing::AfterExpected;
  std::vector<InputFrame> inputs;  // in the order they were injected
  struct Expected {
    std::vector<std::string> ports;  // any of
    int after_input = 0;
    std::vector<uint8_t> frame;  // the expected frame (written to expect-<ports[0]>.pcap)
    std::vector<Mask> masks;
    std::map<std::string, std::string> capture;  // variable -> field of the matched frame
    int timeout_ms = 5000;
  };
  std::vector<Expected> expected;
  std::vector<Patch> patches;  // inputs set from captured variables (FULLNAT's lport)
  bool quiet_hosts = true;
  std::optional<std::vector<std::string>> no_other;
  std::vector<AdminStep> admin;
};

// Writes DIR/case.toml, in-<port>.pcap and expect-<port>.pcap (DIR is created). Throws
// std::runtime_error "PATH: why" when something cannot be written.
void write_case(const std::filesystem::path& dir, const CaseToWrite& c);

// Field names that masks and `set` accept: expect::field_name of every expect::Field.
std::optional<expect::Field> field_by_name(const std::string& name);

}  // namespace vslab::replay
