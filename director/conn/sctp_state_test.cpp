// The IPVS SCTP state machine against the kernel's: the handshakes and shutdowns walked as
// ip_vs_proto_sctp.c's sctp_states table takes them (Linux 4.x to 6.1), its state names and
// timeouts, and the chunk that decides a packet.
#include "conn/sctp_state.h"

#include <gtest/gtest.h>

#include <vector>

namespace vsd {
namespace {

using namespace sctp_chunk;
using S = SctpState;
using D = TcpDirection;

struct Step {
  D direction;
  uint8_t chunk;
  S after;
};

void walk(std::vector<Step> steps) {
  S state = S::None;
  int n = 0;
  for (const Step& step : steps) {
    state = next_sctp_state(state, step.direction, step.chunk);
    EXPECT_EQ(sctp_state_name(state), sctp_state_name(step.after)) << "step " << n;
    ++n;
  }
}

TEST(SctpState, ClientAssociationThroughNat) {
  walk({{D::Input, kInit, S::Init1},
        {D::Output, kInitAck, S::CookieSent},
        {D::Input, kCookieEcho, S::CookieReplied},
        {D::Output, kCookieAck, S::Established},
        {D::Input, kData, S::Established},
        {D::Output, kSack, S::Established},
        {D::Input, kShutdown, S::ShutdownReceived},
        {D::Output, kShutdownAck, S::ShutdownAckSent},
        {D::Input, kShutdownComplete, S::Closed}});
}

TEST(SctpState, ServerShutsDown) {
  walk({{D::Input, kInit, S::Init1},
        {D::Output, kInitAck, S::CookieSent},
        {D::Input, kCookieEcho, S::CookieReplied},
        {D::Output, kCookieAck, S::Established},
        {D::Output, kShutdown, S::ShutdownSent},
        {D::Input, kShutdownAck, S::Closed}});
}

TEST(SctpState, ClientOnlyGuessesTheServersSide) {
  // DR/TUN: the client's COOKIE ECHO implies the server's INIT ACK, so the association is
  // taken as established with it.
  walk({{D::InputOnly, kInit, S::Init1},
        {D::InputOnly, kInit, S::Init},
        {D::InputOnly, kCookieEcho, S::Established},
        {D::InputOnly, kShutdownAck, S::Closed}});
}

TEST(SctpState, AbortsAndRejections) {
  walk({{D::Input, kInit, S::Init1}, {D::Output, kAbort, S::Rejected}});
  walk({{D::Input, kInit, S::Init1}, {D::Input, kAbort, S::Closed}});
  walk({{D::Output, kInit, S::CookieWait}, {D::Input, kAbort, S::Rejected}});
  walk({{D::Input, kInit, S::Init1},
        {D::Output, kInitAck, S::CookieSent},
        {D::Input, kCookieEcho, S::CookieReplied},
        {D::Output, kCookieAck, S::Established},
        {D::Input, kInit, S::Established},
        {D::Output, kInit, S::Established}});
}

TEST(SctpState, UnlistedChunksCountAsData) {
  EXPECT_EQ(next_sctp_state(S::None, D::Input, 0x80), S::Established);  // ASCONF-ACK
  EXPECT_EQ(next_sctp_state(S::Init1, D::Input, kHeartbeat), S::Init1);
  EXPECT_EQ(next_sctp_state(S::CookieWait, D::InputOnly, kData), S::Established);
}

TEST(SctpState, NamesAndTimeoutsAreTheKernels) {
  EXPECT_EQ(sctp_state_name(S::CookieSent), "C-SENT");
  EXPECT_EQ(sctp_state_name(S::CookieReplied), "C-REPLIED");
  EXPECT_EQ(sctp_state_name(S::CookieWait), "C-WAIT");
  EXPECT_EQ(sctp_state_name(S::Cookie), "COOKIE");
  EXPECT_EQ(sctp_state_name(S::CookieEchoed), "C-ECHOED");
  EXPECT_EQ(sctp_state_name(S::ShutdownSent), "S-SENT");
  EXPECT_EQ(sctp_state_name(S::ShutdownReceived), "S-RECEIVED");
  EXPECT_EQ(sctp_state_name(S::ShutdownAckSent), "S-ACK-SENT");
  EXPECT_EQ(sctp_timeout_s(S::None), 2u);
  EXPECT_EQ(sctp_timeout_s(S::Init1), 4u);
  EXPECT_EQ(sctp_timeout_s(S::Rejected), 4u);
  EXPECT_EQ(sctp_timeout_s(S::Init), 61u);
  EXPECT_EQ(sctp_timeout_s(S::Closed), 61u);
  EXPECT_EQ(sctp_timeout_s(S::Established), 900u);
  EXPECT_TRUE(sctp_state_is_active(S::Established));
  EXPECT_FALSE(sctp_state_is_active(S::ShutdownSent));
}

std::vector<uint8_t> packet(std::vector<std::vector<uint8_t>> chunks) {
  std::vector<uint8_t> out(12, 0);
  for (const auto& c : chunks) out.insert(out.end(), c.begin(), c.end());
  return out;
}

TEST(SctpState, DecidingChunk) {
  EXPECT_EQ(sctp_deciding_chunk(packet({})), std::nullopt);
  EXPECT_EQ(sctp_deciding_chunk(packet({{kData, 0, 0, 4}})), kData);
  // A COOKIE ECHO of 6 bytes, padded to 8, then an ABORT: the ABORT decides.
  EXPECT_EQ(sctp_deciding_chunk(packet({{kCookieEcho, 0, 0, 6, 1, 2, 0, 0}, {kAbort, 0, 0, 4}})),
            kAbort);
  EXPECT_EQ(sctp_deciding_chunk(packet({{kCookieAck, 0, 0, 4}, {kAbort, 0, 0, 4}})), kAbort);
  // Only behind COOKIE ECHO/ACK: a DATA chunk before an ABORT stays DATA.
  EXPECT_EQ(sctp_deciding_chunk(packet({{kData, 0, 0, 4}, {kAbort, 0, 0, 4}})), kData);
  EXPECT_EQ(sctp_deciding_chunk(packet({{kCookieAck, 0, 0, 4}, {kData, 0, 0, 4}})), kCookieAck);
}

}  // namespace
}  // namespace vsd
