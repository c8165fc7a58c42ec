// The matrix's cells: typed names that read back, ids that name one cell each, and the skip
// reasons the kind table gives where a kind does not apply.
#include "matrix/cell.h"

#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "matrix/kinds/kind.h"
#include "matrix/scenarios.h"

namespace vslab::matrix {
namespace {

TEST(MatrixNames, ModesAndProtocolsReadBackFromTheirNames) {
  for (Mode m : kModes) EXPECT_EQ(parse_mode(name(m)), m) << name(m);
  for (Proto p : {Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Sctp})
    EXPECT_EQ(parse_proto(name(p)), p);
  EXPECT_EQ(name(Mode::FullNat), "fullnat");
  EXPECT_FALSE(parse_mode("NAT"));
  EXPECT_FALSE(parse_proto("SCTP"));
  EXPECT_FALSE(parse_proto("dccp"));
}

TEST(MatrixCells, EachIdNamesOneCellAndReadsBackToIt) {
  std::set<std::string> ids;
  for (const auto& c : all_cells()) {
    EXPECT_TRUE(ids.insert(c.id()).second) << c.id() << " twice";
    auto back = cell_named(name(c.mode), c.scheduler, c.kind_name(), c.proto_name());
    EXPECT_EQ(back.id(), c.id());
    EXPECT_EQ(back.kind, c.kind) << c.id();
  }
  EXPECT_TRUE(ids.count("nat/rr/rewrite/tcp"));
  EXPECT_TRUE(ids.count("fullnat/twos/pmtu/tcp"));
  EXPECT_TRUE(ids.count("nat/rr/rewrite/tcp6"));
  EXPECT_TRUE(ids.count("tun/rr/rewrite/udp6"));
  EXPECT_TRUE(ids.count("dr/wlc/no-service/tcp6"));
  EXPECT_TRUE(ids.count("nat/rr/icmp-error/udp6"));
  EXPECT_TRUE(ids.count("dr/wlc/rewrite/sctp"));
  EXPECT_TRUE(ids.count("nat/rr/states/sctp"));
  EXPECT_TRUE(ids.count("tun/sh/no-service/sctp"));
  EXPECT_TRUE(ids.count("dr/rr/unavailable/sctp"));
}

TEST(MatrixCells, ASixSelectsTheIpv6CellsAndLeavesIpv4NamesAsTheyWere) {
  auto v6 = cell_named("nat", "rr", "rewrite", "tcp6");
  EXPECT_EQ(v6.family, Family::Ipv6);
  EXPECT_EQ(v6.proto, Proto::Tcp);
  EXPECT_EQ(v6.id(), "nat/rr/rewrite/tcp6");
  EXPECT_EQ(cell_named("nat", "rr", "rewrite", "tcp").family, Family::Ipv4);
  std::size_t ipv6 = 0, ipv4 = 0;
  for (const auto& c : all_cells()) {
    bool is_v6 = c.family == Family::Ipv6;
    EXPECT_EQ(matches(c, "*6"), is_v6) << c.id();
    EXPECT_EQ(matches(c, "*[!6]"), !is_v6) << c.id();
    ++(is_v6 ? ipv6 : ipv4);
  }
  // The IPv4 matrix: 728 cells before the family axis; 336 more from the kinds client-icmp,
  // ttl-one, unavailable (two protocols), routed and port-zero, 14 schedulers x 4 modes each;
  // 56 rows x 5 from fragments, ip-options, bad-checksum (two protocols) and tcp-flags;
  // 56 x 2 from states (tcp, udp), which runs in the rr rows alone; 56 each from
  // fullnat-local and reassembly-timeout (which run in one of them each); and 56 from
  // listing (the rr rows); 56 x 2 from SCTP, rewrite's sctp cells and states' (rr rows);
  // 56 x 2 more from SCTP's no-service and unavailable cells; 56 x 3 from tunnel-error (the TUN
  // rows run it), reply-options (NAT's rr row) and SCTP's unknown-flow cells.
  EXPECT_EQ(ipv4, 2016u);
  // The IPv6 cells, 56 rows x 25: rewrite (tcp6, udp6), scheduler (tcp6), persistence (tcp6),
  // weight0 (tcp6), pmtu (tcp6), icmp-error (udp6), unknown-flow (tcp6), no-service (tcp6,
  // udp6), client-icmp (udp6), ttl-one (tcp6), unavailable (tcp6, udp6), port-zero (tcp6),
  // fragments (udp6), thresholds (tcp6), connection (tcp6), tcp-flags (tcp6), bad-checksum
  // (tcp6, udp6), states (tcp6, udp6), listing (tcp6; the rr rows run those two) and routed
  // (udp6).
  EXPECT_EQ(ipv6, 1400u);
  EXPECT_NO_THROW(cell_named("nat", "sh", "scheduler", "tcp6"));
  // A kind's IPv6 cells exist only where its IPv6 run is written.
  EXPECT_NO_THROW(cell_named("nat", "rr", "routed", "udp6"));
  EXPECT_THROW(cell_named("nat", "rr", "ip-options", "udp6"), std::invalid_argument);
  EXPECT_THROW(cell_named("nat", "rr", "rewrite", "icmp6"), std::invalid_argument);
}

TEST(MatrixCells, AnUnknownNameIsRefused) {
  EXPECT_THROW(cell_named("nat", "rr", "scheduler", "sctp"), std::invalid_argument);
  EXPECT_THROW(cell_named("nat", "nope", "rewrite", "tcp"), std::invalid_argument);
  EXPECT_THROW(cell_named("nat", "rr", "nope", "tcp"), std::invalid_argument);
  EXPECT_THROW(cell_named("lvs", "rr", "rewrite", "tcp"), std::invalid_argument);
}

TEST(MatrixKinds, SayWhyTheyDoNotApply) {
  EXPECT_EQ(not_applicable(cell_named("dr", "wlc", "icmp-error", "udp")),
            "not applicable: in dr nothing reaches the director about a forwarded packet");
  EXPECT_EQ(not_applicable(cell_named("tun", "wlc", "icmp-error", "udp")), "");
  EXPECT_EQ(not_applicable(cell_named("tun", "rr", "routed", "udp")),
            "not applicable: the real servers' own traffic does not cross a tun director");
  EXPECT_EQ(not_applicable(cell_named("nat", "rr", "routed", "udp")), "");
  EXPECT_EQ(not_applicable(cell_named("nat", "rr", "pmtu", "tcp")),
            "not applicable: the tunnel's 20 bytes make PMTU a TUN matter");
  EXPECT_EQ(not_applicable(cell_named("tun", "rr", "pmtu", "tcp")), "");
  EXPECT_EQ(not_applicable(cell_named("fullnat", "sh", "icmp-error", "udp")), "");
  EXPECT_EQ(not_applicable(cell_named("dr", "rr", "states", "udp")), "");
  EXPECT_EQ(not_applicable(cell_named("dr", "wlc", "states", "tcp")),
            "not applicable: the state walk is no scheduler's matter; rr's cell runs it");
  EXPECT_EQ(not_applicable(cell_named("fullnat", "rr", "fullnat-local", "tcp")), "");
  EXPECT_EQ(not_applicable(cell_named("nat", "rr", "fullnat-local", "tcp")),
            "not applicable: local addresses and ports are FULLNAT's; one scheduler (rr) covers "
            "them");
}

}  // namespace
}  // namespace vslab::matrix
