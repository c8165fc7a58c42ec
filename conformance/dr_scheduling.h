// Scheduling checks on the DR topology (topologies/dr.toml): new connections from one or many
// client addresses injected at the router, which real server each reaches (a DR frame: only
// the MACs and the TTL changed), and the director's counters as `-L -n` lists them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <tins/tins.h>

#include "expect/expectation.h"
#include "listed_counts.h"
#include "mode_bed.h"

namespace vslab::conformance {

// topologies/dr.toml: VIP 10.30.0.100; rs1..rs3 are 10.30.0.11-13 on the director's segment.
inline constexpr const char* kDrVip = "10.30.0.100";

// `n` distinct client addresses outside the client's own subnet, 10.10.1.1 upwards.
std::vector<std::string> many_client_addresses(int n);

// Rules for one service VIP:vport (`proto` "-t" or "-u") with `options` (e.g. "-s wrr -p 2"),
// then rs1, rs2, rs3 added in that order as DR, dest_options[i] (e.g. "-w 2") for rs(i + 1).
// Spec 4: the scan order is then rs3, rs2, rs1.
std::string dr_rules(const std::string& options, const std::vector<std::string>& dest_options,
                     const std::string& proto = "-t", int vport = 80);

class DrScheduling : public ModeTest {
 protected:
  // The DR topology with no rules yet: every test restores its own.
  void SetUp() override;

  void restore(const std::string& rules) { bed_->restore(rules); }
  void admin_ok(const std::vector<std::string>& args);

  // A segment from client:cport to VIP:vport, or a datagram to VIP:vport.
  Tins::EthernetII tcp_from(const std::string& client, uint16_t cport, uint8_t flags,
                            uint16_t vport = 80) const;
  Tins::EthernetII udp_from(const std::string& client, uint16_t cport, uint16_t vport = 53) const;

  // What rs`rs` receives for `sent` under DR (spec 2 and 12): the director's MAC as source,
  // the real server's as destination, TTL down by one per hop (router, director); the IP
  // addresses, the ports and the payload as sent.
  expect::FrameExpectation at_real_server(const Tins::EthernetII& sent, int rs) const;

  // Sends `sent` and checks that it reaches rs`rs` (and says where it went on a miss).
  void expect_reaches(const Tins::EthernetII& sent, int rs, const std::string& what);
  void expect_syn_goes_to(const std::string& client, uint16_t cport, int rs);
  // One new connection per entry from `client`, ports first_port, first_port + 1, ...; the
  // i-th must reach rs servers[i], and nothing else may reach a real server.
  void expect_picks(const std::vector<int>& servers, uint16_t first_port = 40000,
                    const std::string& client = "10.10.0.2");
  void expect_syn_dropped(const std::string& client, uint16_t cport);
  // Takes an established-by-SYN connection to CLOSE (spec 5: SYN_RECV + ACK -> ESTABLISHED,
  // then + RST -> CLOSE), checking that both segments reach rs`rs`.
  void reset_connection(const std::string& client, uint16_t cport, int rs);
  void expect_no_other_frames_at_real_servers();
  // Which real server got `sent` (1..3), claiming the frame; 0 when none did.
  int reached_server(const Tins::EthernetII& sent, std::chrono::milliseconds timeout);

  // Sends every frame at once (each with its own source address and port), then returns for
  // each the real server it reached (0: none within the timeout). A frame that reached a
  // server rewritten otherwise than at_real_server says fails the test.
  std::vector<int> spray(const std::vector<Tins::EthernetII>& frames,
                         std::chrono::milliseconds timeout = std::chrono::seconds(15));

  // listed_counts.h on this test's bed.
  std::map<int, ListedCounts> listed_counts() { return conformance::listed_counts(*bed_); }
  void expect_listed_counts(const std::map<int, ListedCounts>& want) {
    conformance::expect_listed_counts(*bed_, want);
  }
  // `-L -n -c` output.
  std::string connection_listing();
  // Polls `what()` until it holds or the deadline passes; returns its last answer.
  bool eventually(const std::function<bool()>& what,
                  std::chrono::milliseconds deadline = std::chrono::seconds(6));
};

}  // namespace vslab::conformance
