// The IPVS TCP state machine against the kernel's tables. Every expected cell is copied by
// hand, state by state, from tcp_states[] in net/netfilter/ipvs/ip_vs_proto_tcp.c
// (Linux 5.x/6.1), where the tables are written event by event: a slip in either
// transcription shows up as a mismatch.
#include "conn/tcp_state.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

namespace vsd {
namespace {

using namespace tcp_flag;

TcpState state_named(std::string_view name) {
  for (std::size_t i = 0; i < kTcpStateCount; ++i) {
    auto state = static_cast<TcpState>(i);
    if (tcp_state_name(state) == name) return state;
  }
  ADD_FAILURE() << "no TCP state is called " << name;
  return TcpState::None;
}

// One state's row: where a segment of each kind takes it.
struct Row {
  TcpDirection direction;
  std::string_view from;
  std::string_view after_syn;
  std::string_view after_fin;
  std::string_view after_ack;
  std::string_view after_rst;
};

std::string direction_name(TcpDirection d) {
  switch (d) {
    case TcpDirection::Input:
      return "Input";
    case TcpDirection::Output:
      return "Output";
    case TcpDirection::InputOnly:
      return "InputOnly";
  }
  return "?";
}

std::vector<Row> kernel_rows() {
  using enum TcpDirection;
  return {
      // INPUT: from the client, director sees both directions (NAT).
      //       state          SYN            FIN            ACK            RST
      {Input, "NONE", "SYN_RECV", "CLOSE", "ESTABLISHED", "CLOSE"},
      {Input, "ESTABLISHED", "ESTABLISHED", "CLOSE_WAIT", "ESTABLISHED", "CLOSE"},
      {Input, "SYN_SENT", "ESTABLISHED", "SYN_SENT", "SYN_SENT", "CLOSE"},
      {Input, "SYN_RECV", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "SYN_RECV"},
      {Input, "FIN_WAIT", "SYN_RECV", "TIME_WAIT", "FIN_WAIT", "CLOSE"},
      {Input, "TIME_WAIT", "SYN_RECV", "TIME_WAIT", "TIME_WAIT", "CLOSE"},
      {Input, "CLOSE", "SYN_RECV", "CLOSE", "CLOSE", "CLOSE"},
      {Input, "CLOSE_WAIT", "SYN_RECV", "CLOSE_WAIT", "CLOSE_WAIT", "CLOSE"},
      {Input, "LAST_ACK", "SYN_RECV", "LAST_ACK", "CLOSE", "LAST_ACK"},
      {Input, "LISTEN", "SYN_RECV", "LISTEN", "LISTEN", "LISTEN"},
      {Input, "SYNACK", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "SYN_RECV"},
      // OUTPUT: from the real server, back through the director (NAT).
      {Output, "NONE", "SYN_SENT", "TIME_WAIT", "ESTABLISHED", "CLOSE"},
      {Output, "ESTABLISHED", "ESTABLISHED", "FIN_WAIT", "ESTABLISHED", "CLOSE"},
      {Output, "SYN_SENT", "SYN_SENT", "SYN_SENT", "SYN_SENT", "SYN_SENT"},
      {Output, "SYN_RECV", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "CLOSE"},
      {Output, "FIN_WAIT", "SYN_SENT", "FIN_WAIT", "FIN_WAIT", "CLOSE"},
      {Output, "TIME_WAIT", "SYN_SENT", "TIME_WAIT", "TIME_WAIT", "TIME_WAIT"},
      {Output, "CLOSE", "SYN_SENT", "CLOSE", "CLOSE", "CLOSE"},
      {Output, "CLOSE_WAIT", "SYN_SENT", "TIME_WAIT", "CLOSE_WAIT", "CLOSE"},
      {Output, "LAST_ACK", "SYN_SENT", "LAST_ACK", "LAST_ACK", "CLOSE"},
      {Output, "LISTEN", "LISTEN", "LISTEN", "ESTABLISHED", "CLOSE"},
      {Output, "SYNACK", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "CLOSE"},
      // INPUT-ONLY: from the client when replies bypass the director (DR, TUN).
      {InputOnly, "NONE", "SYN_RECV", "CLOSE", "ESTABLISHED", "CLOSE"},
      {InputOnly, "ESTABLISHED", "ESTABLISHED", "FIN_WAIT", "ESTABLISHED", "CLOSE"},
      {InputOnly, "SYN_SENT", "ESTABLISHED", "SYN_SENT", "SYN_SENT", "CLOSE"},
      {InputOnly, "SYN_RECV", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "SYN_RECV"},
      {InputOnly, "FIN_WAIT", "SYN_RECV", "FIN_WAIT", "FIN_WAIT", "CLOSE"},
      {InputOnly, "TIME_WAIT", "SYN_RECV", "TIME_WAIT", "TIME_WAIT", "CLOSE"},
      {InputOnly, "CLOSE", "SYN_RECV", "CLOSE", "CLOSE", "CLOSE"},
      {InputOnly, "CLOSE_WAIT", "SYN_RECV", "CLOSE_WAIT", "CLOSE_WAIT", "CLOSE"},
      {InputOnly, "LAST_ACK", "SYN_RECV", "LAST_ACK", "CLOSE", "LAST_ACK"},
      {InputOnly, "LISTEN", "SYN_RECV", "LISTEN", "LISTEN", "LISTEN"},
      {InputOnly, "SYNACK", "SYN_RECV", "TIME_WAIT", "ESTABLISHED", "CLOSE"},
  };
}

class KernelTable : public testing::TestWithParam<Row> {};

TEST_P(KernelTable, EachSegmentKindLeadsWhereTheKernelTableSays) {
  const Row& row = GetParam();
  const TcpState from = state_named(row.from);
  auto after = [&](uint8_t flags) {
    return std::string(tcp_state_name(next_tcp_state(from, row.direction, flags)));
  };
  EXPECT_EQ(after(kSyn), row.after_syn);
  EXPECT_EQ(after(kFin | kAck), row.after_fin);  // FIN outranks the ACK it travels with
  EXPECT_EQ(after(kAck), row.after_ack);
  EXPECT_EQ(after(kRst), row.after_rst);
}

INSTANTIATE_TEST_SUITE_P(AllCells, KernelTable, testing::ValuesIn(kernel_rows()),
                         [](const testing::TestParamInfo<Row>& info) {
                           return direction_name(info.param.direction) + "_" +
                                  std::string(info.param.from);
                         });

// --- the spec's cells (docs/ipvs.md section 5) ----------------------------------------

TEST(TcpState, SynFromClientOpensSynRecv) {
  EXPECT_EQ(next_tcp_state(TcpState::None, TcpDirection::Input, kSyn), TcpState::SynRecv);
  EXPECT_EQ(next_tcp_state(TcpState::None, TcpDirection::InputOnly, kSyn), TcpState::SynRecv);
}

TEST(TcpState, AckFromClientEstablishesSynRecv) {
  EXPECT_EQ(next_tcp_state(TcpState::SynRecv, TcpDirection::Input, kAck), TcpState::Established);
  EXPECT_EQ(next_tcp_state(TcpState::SynRecv, TcpDirection::InputOnly, kAck),
            TcpState::Established);
}

// DR/TUN: the director sees the client's FIN only and calls it FIN_WAIT (the spec's cell).
TEST(TcpState, ClientFinOnInputOnlyConnectionIsFinWait) {
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::InputOnly, kFin | kAck),
            TcpState::FinWait);
}

// NAT: the kernel's tables take the real server's side. The client closing first puts the
// server in CLOSE_WAIT; the server closing first is FIN_WAIT. (The spec has these two NAT
// cells the other way round; the kernel's tcp_states[] is what is written here.)
TEST(TcpState, NatClientFinIsCloseWaitAndServerFinIsFinWait) {
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::Input, kFin | kAck),
            TcpState::CloseWait);
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::Output, kFin | kAck),
            TcpState::FinWait);
}

TEST(TcpState, RstClosesAnEstablishedConnectionFromEitherSide) {
  for (auto d : {TcpDirection::Input, TcpDirection::Output, TcpDirection::InputOnly})
    EXPECT_EQ(next_tcp_state(TcpState::Established, d, kRst), TcpState::Close);
}

// Observed on kernel 6.1 and in the table: a client's RST during the handshake is ignored.
TEST(TcpState, ClientRstLeavesSynRecvAlone) {
  EXPECT_EQ(next_tcp_state(TcpState::SynRecv, TcpDirection::Input, kRst), TcpState::SynRecv);
  EXPECT_EQ(next_tcp_state(TcpState::SynRecv, TcpDirection::InputOnly, kRst), TcpState::SynRecv);
}

TEST(TcpState, ServerRstClosesSynRecv) {
  EXPECT_EQ(next_tcp_state(TcpState::SynRecv, TcpDirection::Output, kRst), TcpState::Close);
}

// The other cells where RST does not close, all from the table.
TEST(TcpState, RstExceptionsBesidesSynRecv) {
  EXPECT_EQ(next_tcp_state(TcpState::LastAck, TcpDirection::Input, kRst), TcpState::LastAck);
  EXPECT_EQ(next_tcp_state(TcpState::Listen, TcpDirection::Input, kRst), TcpState::Listen);
  EXPECT_EQ(next_tcp_state(TcpState::SynAck, TcpDirection::Input, kRst), TcpState::SynRecv);
  EXPECT_EQ(next_tcp_state(TcpState::SynSent, TcpDirection::Output, kRst), TcpState::SynSent);
  EXPECT_EQ(next_tcp_state(TcpState::TimeWait, TcpDirection::Output, kRst), TcpState::TimeWait);
}

TcpState replay(std::initializer_list<std::pair<TcpDirection, uint8_t>> segments) {
  TcpState state = TcpState::None;
  for (auto [direction, flags] : segments) state = next_tcp_state(state, direction, flags);
  return state;
}

// A GET through NAT where the server closes first (HTTP/1.0, busybox httpd) ends in
// TIME_WAIT, as observed on kernel 6.1.
TEST(TcpState, NatGetClosedByServerEndsInTimeWait) {
  using enum TcpDirection;
  EXPECT_EQ(replay({
                {Input, kSyn},
                {Output, kSyn | kAck},
                {Input, kAck},
                {Input, kPsh | kAck},  // GET
                {Output, kAck},
                {Output, kPsh | kAck},  // response
                {Output, kFin | kAck},  // server closes: FIN_WAIT
                {Input, kAck},
                {Input, kFin | kAck},  // client closes: TIME_WAIT
                {Output, kAck},
            }),
            TcpState::TimeWait);
}

TEST(TcpState, NatGetClosedByClientEndsInTimeWait) {
  using enum TcpDirection;
  EXPECT_EQ(replay({
                {Input, kSyn},
                {Output, kSyn | kAck},
                {Input, kAck},
                {Input, kPsh | kAck},
                {Output, kPsh | kAck},
                {Input, kFin | kAck},   // CLOSE_WAIT
                {Output, kAck},         // CLOSE_WAIT
                {Output, kFin | kAck},  // TIME_WAIT
                {Input, kAck},
            }),
            TcpState::TimeWait);
}

TEST(TcpState, HandshakeStatesThroughNat) {
  using enum TcpDirection;
  EXPECT_EQ(replay({{Input, kSyn}}), TcpState::SynRecv);
  EXPECT_EQ(replay({{Input, kSyn}, {Output, kSyn | kAck}}), TcpState::SynRecv);
  EXPECT_EQ(replay({{Input, kSyn}, {Output, kSyn | kAck}, {Input, kAck}}), TcpState::Established);
}

// --- flag priority ---------------------------------------------------------------------

TEST(TcpState, RstOutranksSyn) {
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::Input, kSyn | kRst),
            TcpState::Close);
}

TEST(TcpState, SynOutranksFin) {
  EXPECT_EQ(next_tcp_state(TcpState::None, TcpDirection::Input, kSyn | kFin), TcpState::SynRecv);
}

// set_tcp_state starts from CLOSE and finds no row for a segment without RST/SYN/FIN/ACK.
TEST(TcpState, SegmentWithoutDecidingFlagCloses) {
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::Input, kPsh), TcpState::Close);
  EXPECT_EQ(next_tcp_state(TcpState::Established, TcpDirection::Output, 0), TcpState::Close);
}

// --- names, activity, timeouts ---------------------------------------------------------

TEST(TcpState, NamesAreIpvsadms) {
  const char* expected[] = {"NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
                            "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK"};
  for (std::size_t i = 0; i < kTcpStateCount; ++i)
    EXPECT_EQ(tcp_state_name(static_cast<TcpState>(i)), expected[i]);
}

// tcp_state_active_table (Linux >= 4.7).
TEST(TcpState, ActiveStatesAreTheHandshakeAndEstablished) {
  std::vector<std::string> active;
  for (std::size_t i = 0; i < kTcpStateCount; ++i) {
    auto state = static_cast<TcpState>(i);
    if (tcp_state_is_active(state)) active.emplace_back(tcp_state_name(state));
  }
  EXPECT_EQ(active, (std::vector<std::string>{"ESTABLISHED", "SYN_SENT", "SYN_RECV", "SYNACK"}));
}

TEST(ConnTimeouts, DefaultsAreTheKernels) {
  ConnTimeouts t;
  EXPECT_EQ(t.tcp_s(TcpState::None), 2u);
  EXPECT_EQ(t.tcp_s(TcpState::Established), 900u);
  EXPECT_EQ(t.tcp_s(TcpState::SynSent), 120u);
  EXPECT_EQ(t.tcp_s(TcpState::SynRecv), 60u);
  EXPECT_EQ(t.tcp_s(TcpState::FinWait), 120u);
  EXPECT_EQ(t.tcp_s(TcpState::TimeWait), 120u);
  EXPECT_EQ(t.tcp_s(TcpState::Close), 10u);
  EXPECT_EQ(t.tcp_s(TcpState::CloseWait), 60u);
  EXPECT_EQ(t.tcp_s(TcpState::LastAck), 30u);
  EXPECT_EQ(t.tcp_s(TcpState::Listen), 120u);
  EXPECT_EQ(t.tcp_s(TcpState::SynAck), 120u);
  EXPECT_EQ(t.udp_s(), 300u);
}

TEST(ConnTimeouts, SetReplacesEstablishedFinWaitAndUdpOnly) {
  ConnTimeouts t(Timeouts{100, 20, 30});
  EXPECT_EQ(t.tcp_s(TcpState::Established), 100u);
  EXPECT_EQ(t.tcp_s(TcpState::FinWait), 20u);
  EXPECT_EQ(t.udp_s(), 30u);
  EXPECT_EQ(t.tcp_s(TcpState::TimeWait), 120u);
  EXPECT_EQ(t.tcp_s(TcpState::SynRecv), 60u);
  EXPECT_EQ(t.as_set(), (Timeouts{100, 20, 30}));
}

TEST(ConnTimeouts, ZeroKeepsTheCurrentValue) {
  ConnTimeouts t(Timeouts{100, 20, 30});
  t.apply(Timeouts{0, 0, 45});
  EXPECT_EQ(t.as_set(), (Timeouts{100, 20, 45}));
}

// --- secure_tcp (tcp_states_dos) ---------------------------------------------------------

// The cells where the kernel's tcp_states_dos differs from tcp_states: (direction, from,
// flags) -> state. Every other cell is the default table's.
struct SecureCell {
  TcpDirection direction;
  TcpState from;
  uint8_t flags;
  TcpState to;
};

TEST(TcpStateSecure, DiffersFromTheDefaultTablesExactlyInTheKernelsCells) {
  using enum TcpState;
  const std::vector<SecureCell> differing = {
      {TcpDirection::Input, SynAck, kSyn, SynAck},
      {TcpDirection::Input, SynAck, kFin, SynAck},
      {TcpDirection::Input, SynRecv, kAck, SynRecv},
      {TcpDirection::Input, SynAck, kAck, SynAck},
      {TcpDirection::Input, SynAck, kRst, Close},
      {TcpDirection::Output, SynRecv, kSyn, SynAck},
      {TcpDirection::Output, SynAck, kSyn, SynAck},
      {TcpDirection::InputOnly, None, kSyn, SynAck},
      {TcpDirection::InputOnly, FinWait, kSyn, SynAck},
      {TcpDirection::InputOnly, TimeWait, kSyn, SynAck},
      {TcpDirection::InputOnly, Close, kSyn, SynAck},
      {TcpDirection::InputOnly, CloseWait, kSyn, SynAck},
      {TcpDirection::InputOnly, LastAck, kSyn, SynAck},
      {TcpDirection::InputOnly, Listen, kSyn, SynAck},
      {TcpDirection::InputOnly, SynAck, kSyn, SynAck},
  };
  std::size_t found = 0;
  for (auto direction : {TcpDirection::Input, TcpDirection::Output, TcpDirection::InputOnly})
    for (std::size_t i = 0; i < kTcpStateCount; ++i)
      for (uint8_t flags : {kSyn, kFin, kAck, kRst}) {
        const auto from = static_cast<TcpState>(i);
        const TcpState secure = next_tcp_state(from, direction, flags, true);
        const auto cell = std::find_if(differing.begin(), differing.end(), [&](const auto& c) {
          return c.direction == direction && c.from == from && c.flags == flags;
        });
        if (cell == differing.end()) {
          EXPECT_EQ(secure, next_tcp_state(from, direction, flags))
              << direction_name(direction) << " " << tcp_state_name(from) << " flags "
              << int(flags);
        } else {
          ++found;
          EXPECT_EQ(secure, cell->to) << direction_name(direction) << " " << tcp_state_name(from);
        }
      }
  EXPECT_EQ(found, differing.size());
}

// What `-L -c` shows of a NAT handshake: SYNACK until the server's own ACK.
TEST(TcpStateSecure, ANatHandshakeWaitsInSynAckForTheServer) {
  TcpState s = next_tcp_state(TcpState::None, TcpDirection::Input, kSyn, true);
  EXPECT_EQ(s, TcpState::SynRecv);
  s = next_tcp_state(s, TcpDirection::Output, kSyn | kAck, true);
  EXPECT_EQ(s, TcpState::SynAck);
  s = next_tcp_state(s, TcpDirection::Input, kAck, true);
  EXPECT_EQ(s, TcpState::SynAck);
  s = next_tcp_state(s, TcpDirection::Output, kAck, true);
  EXPECT_EQ(s, TcpState::Established);
}

}  // namespace
}  // namespace vsd
