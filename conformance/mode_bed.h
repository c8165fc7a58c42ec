// A mode topology (topologies/<mode>.toml) up, a director under test started in it and
// configured with ipvsadm rules, and capture running on the client's and every real server's
// port. Expectations are written by the tests from the spec and the topology file alone.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "check/check.h"
#include "dut/dut.h"
#include "frames/frame_builder.h"
#include "port/port.h"
#include "topology/live.h"

namespace vslab::conformance {

struct Host {
  std::string node;
  std::string ip;
  std::string mac;  // its own interface's
  port::Port* port = nullptr;
};

class ModeBed {
 public:
  // Brings up topologies/<mode>.toml and starts the DUT (vsd when none is given). With
  // quiet_hosts, the client's and the real servers' kernels see no IPv4 (an ingress drop after
  // the capture tap), so only the frames the tests and the director send are seen.
  ModeBed(const std::string& mode, const std::string& case_name, bool quiet_hosts = true,
          std::unique_ptr<dut::Dut> dut = nullptr);
  ~ModeBed();

  // Throws with the DUT's complaint. The first restore that names the VIP (of either family)
  // also warms the path to it (warm_path_to_vip).
  void restore(const std::string& rules);
  dut::Dut& dut() { return *dut_; }
  // The next case on the same topology: what the ports captured so far is forgotten and
  // failures are filed under the new name.
  void begin_case(const std::string& case_name,
                  const std::filesystem::path& failure_dir = check::default_failure_dir());
  dut::Result admin(const std::vector<std::string>& args);
  // Lists `-L -n -c` until no line holds all of `words` (an entry the director is ending) or
  // the DUT's share of a 5 s deadline passes; false then. The wait joins rule_edits, so a
  // case written from the run waits at the same point.
  bool wait_unlisted(const std::vector<std::string>& words);

  // Since begin_case: the rules last restored, and the commands that changed them afterwards
  // (not listings), each after how many frames the ports had sent: what a case file needs to
  // set the director up the same way.
  struct RuleEdit {
    std::size_t sent_before = 0;
    // How many checks the checker had made: a case cut at a failed check keeps the edits made
    // before it (the frames sent do not tell, when none was sent in between).
    std::size_t checks_before = 0;
    std::vector<std::string> args;
    std::vector<std::string> until_unlisted;  // a wait: replay::AdminStep's
  };
  const std::string& restored_rules() const { return restored_rules_; }
  const std::vector<RuleEdit>& rule_edits() const { return rule_edits_; }
  topo::CommandResult exec(const std::string& node, const std::vector<std::string>& argv) {
    return live_->exec(node, argv);
  }

  const topo::Topology& topology() const { return live_->topology(); }
  std::string vip() const { return *topology().lvs.vip; }
  Host& client() { return client_; }
  Host& rs(int i) { return rs_.at(i - 1); }  // rs1..rs3
  std::vector<port::Port*> rs_ports();
  // MAC of an interface as the topology sets it.
  std::string mac(const std::string& node, const std::string& ifname) const;
  // The client's next hop (the router's interface on the client's link).
  std::string client_gateway_mac() const;

  // A frame from the client to the VIP through the router (TTL `ttl`, ID 0x4242, DF), for the
  // test to add its layer 4 header to: client_frame().tcp(40000, 80).flags(frames::SYN).
  frames::FrameBuilder client_frame(uint8_t ttl = 64) const;
  // The same frame around a layer 4 header built by hand.
  Tins::EthernetII from_client(const Tins::PDU& l4, uint8_t ttl = 64) const;
  // What the client receives when the director's own stack answers from the VIP with a TCP
  // segment (spec 3: TTL 64, DF, ID 0), one router hop later.
  Tins::EthernetII vip_stack_segment_at_client(const Tins::TCP& segment) const;
  check::FrameChecker& checker() { return *checker_; }

  // NAT towards rs`rs` (spec 2) of a frame the client sent: two hops (router, director), so
  // TTL - 2; DNAT to RIP:rport; MACs of the director's inner port and the server.
  expect::FrameExpectation nat_at_real_server(const Tins::EthernetII& sent, int rs,
                                              uint16_t rport) const;
  // Which real server (1..3) received a frame matching want_at(rs), claiming it; 0 when none
  // did before `timeout` (0: only what the ports hold now).
  int claiming_server(const std::function<expect::FrameExpectation(int rs)>& want_at,
                      std::chrono::milliseconds timeout);
  std::string dut_log() const;

  // The best LinkFinding (check.h) of the director's links towards the real servers for a
  // frame expected at rs`rs` as want_at(rs): what the director put on the wire for a frame no
  // real server received. Empty when no real server's link is watched.
  std::optional<check::FrameChecker::LinkFinding> rs_link_finding(
      const std::function<expect::FrameExpectation(int rs)>& want_at);

  // Sends an echo request from the client to the VIP (IPv4, or the topology's vip6) and waits
  // up to `timeout` for the answer, which it claims; whether one came. An echo that is not
  // part_of_case stays out of the inputs a failure case records.
  bool echo_vip(bool ipv6, std::chrono::milliseconds timeout, bool part_of_case = true,
                const std::string& source = "");
  // The same from another IPv4 address of the client's link (a scenario's second client),
  // which the client's host is first made to hold, so that the answer can reach it. A
  // director that spreads clients over cores by their address answers it behind that client's
  // frames, not the first client's.
  bool echo_vip_from(const std::string& source, std::chrono::milliseconds timeout);
  // Makes the client's host hold another IPv4 address of its link (once per bed), so that what
  // the director or the router sends to it is delivered, and no neighbour entry of the router
  // for it has failed before a scenario's first frame from it.
  void hold_client_address(const std::string& source);

 private:
  // The router's first frames to the VIP wait in its neighbour queue while it resolves the
  // VIP, and frames it forwards once the answer is in can overtake them on another core: a
  // burst sent to a fresh bed reached the director out of order. One answered echo leaves the
  // neighbour resolved, as a tester's warm-up does on a real wire.
  void warm_path_to_vip(const std::string& rules);
  std::unique_ptr<topo::LiveTopology> live_;
  std::unique_ptr<dut::Dut> dut_;
  std::vector<std::unique_ptr<port::Port>> ports_;
  Host client_;
  std::vector<Host> rs_;
  // Capture on the far end of each of the director's ports (topo::far_ends): what it
  // transmits, for any DUT, since an external box's port is lent into the same place.
  void open_director_links();
  // A new checker over the hosts' ports that judges at the director's links too.
  void make_checker(const std::string& case_name, const std::filesystem::path& failure_dir);
  struct DirectorLink {
    std::string ifname;  // the director's
    std::string name;    // "the director's link to bridge rsnet (director:eth1)"
    std::unique_ptr<port::Port> port;
  };
  std::vector<DirectorLink> links_;
  std::unique_ptr<check::FrameChecker> checker_;
  std::string restored_rules_;
  std::vector<RuleEdit> rule_edits_;
  bool warm_[2] = {false, false};       // IPv4, IPv6
  std::set<std::string> held_sources_;  // what echo_vip_from added to the client's host
  uint16_t next_echo_id_ = 1;
};

// Skips the calling test unless namespaces can be made.
bool can_build_topologies();

// The DUT VSLAB_DUT names (builtin when unset; VSLAB_DUT_CONFIG its --dut-config), as
// `vslab conform --dut` would build it.
std::unique_ptr<dut::Dut> dut_from_environment();

// The fixture every mode suite shares: a ModeBed per test, named after the test, with the
// director's log printed when the test failed.
class ModeTest : public testing::Test {
 protected:
  // Skips the test when namespaces cannot be made; a derived SetUp calls it first and
  // returns when IsSkipped().
  void SetUp() override;
  // Brings up topologies/<mode>.toml with the DUT configured by `rules` (ipvsadm -R format).
  void start(const std::string& mode, const std::string& rules, bool quiet_hosts = true);
  void TearDown() override;
  std::unique_ptr<ModeBed> bed_;
};

}  // namespace vslab::conformance
