// Many clients at once on the DR topology (spec section 6): hundreds of client addresses
// (or ports) injected at the router, and which real server each new connection reaches.
// Exact where the scheduler does not look at the client; for the hashing schedulers (sh, mh)
// a share within stated bounds plus stability; for twos a statistical check.
//
// The hashes themselves are not in the spec, so a bound treats each client as landing on a
// uniformly random bucket: a server holding a fraction p of the buckets gets Binomial(n, p)
// of n clients, mean np and standard deviation sqrt(np(1 - p)). The bounds are +-5 standard
// deviations (a false alarm about once in 1.7 million per check) and still tell the
// weighted shares apart from an even split.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "dr_scheduling.h"

namespace vslab::conformance {
namespace {

constexpr int kClients = 300;

// Server -> how many of `reached` went there (0: reached none).
std::map<int, int> tally(const std::vector<int>& reached) {
  std::map<int, int> n;
  for (int rs : reached) ++n[rs];
  return n;
}

std::string describe(const std::map<int, int>& n) {
  std::string out;
  for (auto [rs, count] : n)
    out += (rs ? "rs" + std::to_string(rs) : "none") + "=" + std::to_string(count) + " ";
  return out;
}

class Distribution : public DrScheduling {
 protected:
  std::vector<Tins::EthernetII> syns_from(const std::vector<std::string>& clients, uint16_t cport) {
    std::vector<Tins::EthernetII> frames;
    for (const auto& c : clients) frames.push_back(tcp_from(c, cport, Tins::TCP::SYN));
    return frames;
  }

  // Within mean +- 5 sd of Binomial(n, share) (see the top of the file).
  static void expect_binomial_share(int count, int n, double share, const std::string& what) {
    double mean = n * share;
    double sd = std::sqrt(n * share * (1 - share));
    EXPECT_GE(count, mean - 5 * sd)
        << what << ": too few (expected about " << mean << ", sd " << sd << ")";
    EXPECT_LE(count, mean + 5 * sd)
        << what << ": too many (expected about " << mean << ", sd " << sd << ")";
  }

  // The first connection primes the router's neighbour entry for the VIP, so that the burst
  // after it is not queued behind address resolution.
  int prime(const std::vector<Tins::EthernetII>& frames) {
    bed_->client().port->send(frames.front());
    return reached_server(frames.front(), std::chrono::seconds(2));
  }

  // A hashing scheduler keyed on the client address, three servers of weight 1: each gets
  // about a third of the clients (Binomial(300, 1/3): 100 +- 41), and a second connection
  // from each address, from another port, lands where its first did.
  void expect_even_and_stable_by_address(const std::string& scheduler) {
    restore(dr_rules("-s " + scheduler, {"", "", ""}));
    auto clients = many_client_addresses(kClients);
    auto first = spray(syns_from(clients, 40000));
    auto n = tally(first);
    EXPECT_EQ(n[0], 0) << describe(n);
    for (int rs = 1; rs <= 3; ++rs)
      expect_binomial_share(n[rs], kClients, 1.0 / 3, "rs" + std::to_string(rs));
    auto second = spray(syns_from(clients, 40001));
    int moved = 0;
    for (std::size_t i = 0; i < clients.size(); ++i)
      if (second[i] != first[i] && moved++ < 5)
        ADD_FAILURE() << clients[i] << " went to rs" << first[i] << " then to rs" << second[i];
    EXPECT_EQ(moved, 0);
    expect_listed_counts({{1, {2 * n[1], 0}}, {2, {2 * n[2], 0}}, {3, {2 * n[3], 0}}});
  }

  // A locality scheduler keyed on the VIP, weights 1000: every client lands on rs3, the
  // first wlc choice, and stays there.
  void expect_every_client_on_the_first_server(const std::string& scheduler) {
    restore(dr_rules("-s " + scheduler, {"-w 1000", "-w 1000", "-w 1000"}));
    auto frames = syns_from(many_client_addresses(kClients), 40000);
    EXPECT_EQ(prime(frames), 3);
    auto rest = std::vector<Tins::EthernetII>(frames.begin() + 1, frames.end());
    auto n = tally(spray(rest));
    EXPECT_EQ(n[3], kClients - 1) << describe(n);
    expect_listed_counts({{1, {0, 0}}, {2, {0, 0}}, {3, {kClients, 0}}});
  }
};

TEST_F(Distribution, ShSpreadsClientAddressesEvenlyAndKeepsEachOnItsServer) {
  // Spec 6: 256 buckets filled by cycling rs3, rs2, rs1 (weight 1 each): 86, 85, 85.
  expect_even_and_stable_by_address("sh");
}

TEST_F(Distribution, ShRebuildsItsTableSoDeletingAServerMovesClientsOfTheOthersToo) {
  restore(dr_rules("-s sh", {"", "", ""}));
  auto clients = many_client_addresses(kClients);
  auto before = spray(syns_from(clients, 40000));
  admin_ok({"-d", "-t", "10.30.0.100:80", "-r", "10.30.0.12:80"});
  auto after = spray(syns_from(clients, 40001));
  // Spec 6: the table is rebuilt by cycling the new list. Bucket i held rs3, rs2, rs1 for
  // i mod 3 = 0, 1, 2 and now holds rs3, rs1 for i mod 2 = 0, 1. rs3's buckets (i = 0 mod 3)
  // stay rs3 when i is even, rs1's (i = 2 mod 3) stay rs1 when i is odd: half of each
  // (43 of 86, 42 of 85) change hands, so the clients of rs1 and rs3 that move are
  // Binomial(their number, 1/2). rs2's clients go to one of the two left.
  int others = 0, moved = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    EXPECT_TRUE(after[i] == 1 || after[i] == 3) << clients[i] << " reached rs" << after[i];
    if (before[i] == 2) continue;
    ++others;
    if (after[i] != before[i]) ++moved;
  }
  expect_binomial_share(moved, others, 0.5, "clients of rs1 and rs3 that moved");
  auto n_before = tally(before), n_after = tally(after);
  expect_listed_counts({{1, {n_before[1] + n_after[1], 0}}, {3, {n_before[3] + n_after[3], 0}}});
  EXPECT_EQ(listed_counts().count(2), 0u) << "rs2 was deleted";
}

TEST_F(Distribution, ShGivesEachServerBucketsInProportionToItsWeight) {
  restore(dr_rules("-s sh", {"-w 1", "-w 2", "-w 3"}));
  // Spec 6: the buckets cycle the list repeating each server by its weight: rs3, rs3, rs3,
  // rs2, rs2, rs1, ... 256 = 42 * 6 + 4, the last 4 being rs3, rs3, rs3, rs2:
  // rs3 129, rs2 85, rs1 42 buckets. Bounds (n = 300): rs3 151 +- 43, rs2 100 +- 41,
  // rs1 49 +- 32; an even split (100 each) would be outside the rs3 and rs1 bounds.
  auto n = tally(spray(syns_from(many_client_addresses(kClients), 40000)));
  EXPECT_EQ(n[0], 0) << describe(n);
  expect_binomial_share(n[3], kClients, 129.0 / 256, "rs3");
  expect_binomial_share(n[2], kClients, 85.0 / 256, "rs2");
  expect_binomial_share(n[1], kClients, 42.0 / 256, "rs1");
  expect_listed_counts({{1, {n[1], 0}}, {2, {n[2], 0}}, {3, {n[3], 0}}});
}

TEST_F(Distribution, ShWithShPortSpreadsTheConnectionsOfOneAddress) {
  restore(dr_rules("-s sh -b sh-port", {"", "", ""}));
  // Spec 6: with sh-port the key is the source address and port, so one client's ports
  // spread over the buckets like many clients: each server Binomial(300, 1/3).
  std::vector<Tins::EthernetII> frames;
  for (int i = 0; i < kClients; ++i)
    frames.push_back(tcp_from("10.10.0.2", static_cast<uint16_t>(20000 + 7 * i), Tins::TCP::SYN));
  auto n = tally(spray(frames));
  EXPECT_EQ(n[0], 0) << describe(n);
  for (int rs = 1; rs <= 3; ++rs)
    expect_binomial_share(n[rs], kClients, 1.0 / 3, "rs" + std::to_string(rs));
  expect_listed_counts({{1, {n[1], 0}}, {2, {n[2], 0}}, {3, {n[3], 0}}});
}

TEST_F(Distribution, MhSpreadsClientAddressesEvenlyAndKeepsEachOnItsServer) {
  // Spec 6: 251 lookup entries populated in proportion to weight (equal here): 84, 84, 83.
  expect_even_and_stable_by_address("mh");
}

TEST_F(Distribution, DhSendsEveryClientOfTheVipToOneServer) {
  restore(dr_rules("-s dh", {"", "", ""}));
  // Spec 6: dh hashes the destination address; every connection here is to the VIP, so
  // all 300 clients share one bucket. Which server holds it is the hash's business.
  auto n = tally(spray(syns_from(many_client_addresses(kClients), 40000)));
  EXPECT_EQ(n.size(), 1u) << describe(n);
  int rs = n.begin()->first;
  ASSERT_NE(rs, 0) << "no connection reached a real server";
  std::map<int, ListedCounts> want = {{1, {}}, {2, {}}, {3, {}}};
  want[rs] = {kClients, 0};
  expect_listed_counts(want);
}

TEST_F(Distribution, LblcKeepsEveryClientOfTheVipOnTheFirstServer) {
  // Spec 6: one key (the VIP); the first connection goes by wlc to rs3 (all idle: the first
  // in scan order) and is recorded; rs3 never has more active than its weight 1000, so it
  // is never overloaded and keeps every client.
  expect_every_client_on_the_first_server("lblc");
}

TEST_F(Distribution, LblcrKeepsEveryClientOfTheVipInItsOneServerSet) {
  // As lblc: the set {rs3} is never overloaded, so it never grows.
  expect_every_client_on_the_first_server("lblcr");
}

TEST_F(Distribution, WrrIgnoresTheClientAddress) {
  restore(dr_rules("-s wrr", {"-w 1", "-w 2", "-w 3"}));
  // Spec 6: + rs1 w1: mw 1, cw 0 -> 1; + rs2 w2: mw 2, cw stays 1; + rs3 w3: mw 3, cw 1.
  // Scan rs3(3), rs2(2), rs1(1): cw 1: rs3, rs2, rs1, then cycles of
  // cw 3: rs3 | cw 2: rs3, rs2 | cw 1: rs3, rs2, rs1.
  // Every connection from its own address and port: the address plays no part.
  std::vector<int> want = {3, 2, 1};
  for (int cycle = 0; cycle < 9; ++cycle) want.insert(want.end(), {3, 3, 2, 3, 2, 1});
  auto clients = many_client_addresses(static_cast<int>(want.size()));
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE("pick " + std::to_string(i + 1));
    expect_syn_goes_to(clients[i], static_cast<uint16_t>(1024 + 977 * i), want[i]);
  }
  expect_no_other_frames_at_real_servers();
  // 3 + 9 cycles of 6: rs3 1 + 27, rs2 1 + 18, rs1 1 + 9.
  expect_listed_counts({{1, {10, 0}}, {2, {19, 0}}, {3, {28, 0}}});
}

TEST_F(Distribution, TwosDrawsByWeightWithOneExtraForTheHeadWhenIdle) {
  restore(dr_rules("-s twos -o", {"-w 3", "-w 2", "-w 1"}, "-u", 53));
  // Spec 6: T = 1 + 6 = 7; r in [0, 7) walks rs3(1), rs2(2), rs1(3) until it reaches <= 0:
  // r 0-1 -> rs3, 2-3 -> rs2, 4-6 -> rs1: shares 2/7, 2/7, 3/7 (the +1 goes to the head).
  // When every server is idle (overhead 0) the second draw never wins (w2 * 0 > w1 * 0 is
  // false), so each datagram goes where the first draw says. With -o no entry is kept
  // (spec 4), so the servers stay idle, but only between datagrams: a director handling a
  // burst may count the entries of one batch while it schedules it. So each datagram is
  // sent once the previous one has reached its server, and `-L -n` confirms now and then
  // that nothing stays counted. (A DUT that frees a one-packet entry only on a later timer
  // tick, as the kernel does on its next jiffy, needs wider spacing than this.)
  constexpr int kDatagrams = 600;
  auto clients = many_client_addresses(kDatagrams / 2);
  std::vector<int> reached;
  auto idle = [&] {
    auto counts = listed_counts();
    for (int rs = 1; rs <= 3; ++rs)
      if (!(counts[rs] == ListedCounts{})) return false;
    return true;
  };
  for (uint16_t cport : {5000, 5001}) {
    for (const auto& c : clients) {
      if (reached.size() % 50 == 0) {
        ASSERT_TRUE(eventually(idle)) << bed_->admin({"-L", "-n"}).output;
      }
      reached.push_back(spray({udp_from(c, cport)}, std::chrono::seconds(1)).front());
    }
  }
  auto n = tally(reached);
  EXPECT_EQ(n[0], 0) << describe(n);
  // Pearson's chi-square against 2/7, 2/7, 3/7 with 2 degrees of freedom: P(X > x) =
  // exp(-x / 2), so 18.4 is a one-in-10,000 false alarm. Shares of 1/6, 2/6, 3/6 (no +1)
  // would give about 44 on average.
  const std::map<int, double> share = {{3, 2.0 / 7}, {2, 2.0 / 7}, {1, 3.0 / 7}};
  double chi2 = 0;
  for (auto [rs, p] : share) {
    double expected = p * kDatagrams;
    chi2 += (n[rs] - expected) * (n[rs] - expected) / expected;
  }
  EXPECT_LT(chi2, 18.4) << describe(n);
}

TEST_F(Distribution, TwosKeepsActiveCountsCloseWhereItsDrawsAreNot) {
  restore(dr_rules("-s twos", {"-w 1", "-w 1", "-w 1"}));
  // Spec 6: T = 4, so a draw lands on rs3 (the head) half of the time and on rs2, rs1 a
  // quarter each; alone, rs3 would get about 150 of 300. The second choice wins when it has
  // the lower overhead, so a loaded server gets fewer: SYN-only connections stay active, and
  // the counts stay within a few of 100 each. 100 000 simulated runs of exactly this never
  // strayed by more than 15; the bound is 20.
  auto n = tally(spray(syns_from(many_client_addresses(kClients), 40000)));
  EXPECT_EQ(n[0], 0) << describe(n);
  for (int rs = 1; rs <= 3; ++rs) {
    EXPECT_GE(n[rs], 80) << "rs" << rs << ": " << describe(n);
    EXPECT_LE(n[rs], 120) << "rs" << rs << ": " << describe(n);
  }
  expect_listed_counts({{1, {n[1], 0}}, {2, {n[2], 0}}, {3, {n[3], 0}}});
}

}  // namespace
}  // namespace vslab::conformance
