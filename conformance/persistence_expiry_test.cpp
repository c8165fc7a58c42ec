// Persistence over time (spec sections 5 and 7), on the DR topology with short timeouts: the
// template keeps a client on its server for as long as it lives, also after the client's
// connections are gone, and once it has expired the scheduler chooses afresh. Expiry is
// watched through `-L -n -c`, never waited out blindly.
//
// Every template here outlives its connections (persistence 2 or 3 s, connections 1 s):
// spec 7 keeps a template alive while connections depend on it, and the kernel does so by
// re-arming the template's timer for 60 s (ip_vs_conn.c ip_vs_conn_expire, "expire_later"),
// so a template whose timer fires first would outlast the test.
#include <gtest/gtest.h>

#include <sstream>

#include "dr_scheduling.h"

namespace vslab::conformance {
namespace {

// One line of `-L -n -c` (spec 9): pro expire state source virtual destination.
struct Entry {
  std::string proto, expire, state, source, virtual_address, destination;
};

class PersistenceExpiry : public DrScheduling {
 protected:
  std::vector<Entry> entries() {
    std::vector<Entry> out;
    std::istringstream lines(connection_listing());
    for (std::string line; std::getline(lines, line);) {
      std::istringstream in(line);
      Entry e;
      if (in >> e.proto >> e.expire >> e.state >> e.source >> e.virtual_address >> e.destination &&
          (e.proto == "TCP" || e.proto == "UDP"))
        out.push_back(e);
    }
    return out;
  }

  bool listed(const std::string& source) {
    for (const auto& e : entries())
      if (e.source == source) return true;
    return false;
  }

  // Spec 7: a template is listed with client port 0. Its state is not checked: spec 7 says
  // NONE, while kernels that mark a template whose connection was established list it as
  // ASSURED (ip_vs.h IP_VS_CTPL_S_ASSURED).
  bool template_listed(const std::string& client) { return listed(client + ":0"); }

  // Spec 5: `--set tcp tcpfin udp`, 0 keeping a value. Set before any traffic, so that
  // every entry gets the short timeout when it enters the state.
  void set_timeouts(const std::string& tcp, const std::string& udp) {
    admin_ok({"--set", tcp, "0", udp});
  }

  void establish(const std::string& client, uint16_t cport, int rs) {
    expect_syn_goes_to(client, cport, rs);
    expect_reaches(tcp_from(client, cport, Tins::TCP::ACK), rs,
                   "ACK " + client + ":" + std::to_string(cport));
  }
};

TEST_F(PersistenceExpiry, TheTemplateKeepsTheClientOnItsServerAfterItsConnectionExpired) {
  restore(dr_rules("-s rr -p 3", {"", "", ""}));
  set_timeouts("1", "0");
  // rr gives rs3 to the first client; its connection is ESTABLISHED, which now expires
  // after 1 s, while the template lives 3 s. The second client's SYN-only connection
  // (SYN_RECV, 60 s) moves rr on to rs2.
  establish("10.10.0.2", 40000, 3);
  expect_syn_goes_to("10.10.0.3", 40000, 2);
  ASSERT_TRUE(eventually([&] {
    return !listed("10.10.0.2:40000") && template_listed("10.10.0.2");
  })) << "the connection should expire before its template:\n"
      << connection_listing();
  // Spec 7: the template still matches, so rs3, where rr alone would give rs1.
  expect_syn_goes_to("10.10.0.2", 40001, 3);
  expect_no_other_frames_at_real_servers();
  // Templates count in neither column (spec 5): rs3 has the new SYN-only connection.
  expect_listed_counts({{1, {0, 0}}, {2, {1, 0}}, {3, {1, 0}}});
}

TEST_F(PersistenceExpiry, AfterTheTemplateExpiresTheSchedulerChoosesAgain) {
  restore(dr_rules("-s rr -p 2", {"", "", ""}));
  set_timeouts("1", "0");
  establish("10.10.0.2", 40000, 3);
  // The connection expires after 1 s, the template after 2.
  ASSERT_TRUE(eventually([&] { return entries().empty(); }))
      << "the connection and its template should both expire:\n"
      << connection_listing();
  // Spec 7: no template matches, so rr is asked, and its cursor has moved on from rs3.
  expect_syn_goes_to("10.10.0.2", 40001, 2);
  EXPECT_TRUE(template_listed("10.10.0.2")) << connection_listing();
  for (const auto& e : entries()) {
    if (e.source != "10.10.0.2:0") continue;
    EXPECT_EQ(e.destination, "10.30.0.12:80") << "the new template should point at rs2";
  }
  expect_listed_counts({{1, {0, 0}}, {2, {1, 0}}, {3, {0, 0}}});
}

TEST_F(PersistenceExpiry, AUdpTemplateExpiresAfterItsLastDatagramsEntry) {
  restore(dr_rules("-s rr -p 2", {"", "", ""}, "-u", 53));
  set_timeouts("0", "1");
  expect_reaches(udp_from("10.10.0.2", 5000), 3, "first datagram");
  // Same client, new port, while the template lives: the same server, and rr is not asked.
  expect_reaches(udp_from("10.10.0.2", 5001), 3, "second datagram");
  // UDP entries are always inactive (spec 5).
  expect_listed_counts({{1, {0, 0}}, {2, {0, 0}}, {3, {0, 2}}});
  ASSERT_TRUE(eventually([&] { return entries().empty(); }))
      << "the datagrams' entries and their template should expire:\n"
      << connection_listing();
  // rr's cursor is still on rs3, from the one time it was asked.
  expect_reaches(udp_from("10.10.0.2", 5002), 2, "datagram after the template expired");
  expect_no_other_frames_at_real_servers();
  expect_listed_counts({{1, {0, 0}}, {2, {0, 1}}, {3, {0, 0}}});
}

}  // namespace
}  // namespace vslab::conformance
