// The tables are the behaviour of net/netfilter/ipvs/ip_vs_proto_sctp.c (sctp_states,
// sctp_events, sctp_timeouts) as in Linux 4.x to 6.1, written out state by state.
#include "conn/sctp_state.h"

namespace vsd {
namespace {

using S = SctpState;
constexpr S I1 = S::Init1;
constexpr S IN = S::Init;
constexpr S CS = S::CookieSent;
constexpr S CR = S::CookieReplied;
constexpr S CW = S::CookieWait;
constexpr S CO = S::Cookie;
constexpr S CE = S::CookieEchoed;
constexpr S ES = S::Established;
constexpr S SS = S::ShutdownSent;
constexpr S SR = S::ShutdownReceived;
constexpr S SA = S::ShutdownAckSent;
constexpr S RJ = S::Rejected;
constexpr S CL = S::Closed;

// The kernel folds the chunk types into ten events.
enum Event : uint8_t {
  kData,  // DATA, SACK, HEARTBEAT(-ACK), ECNE, CWR and every type not listed
  kInitEvent,
  kInitAckEvent,
  kCookieEchoEvent,
  kCookieAckEvent,
  kShutdownEvent,
  kShutdownAckEvent,
  kShutdownCompleteEvent,
  kErrorEvent,
  kAbortEvent,
  kEventCount,
};

Event event_of(uint8_t chunk_type) {
  switch (chunk_type) {
    case sctp_chunk::kInit:
      return kInitEvent;
    case sctp_chunk::kInitAck:
      return kInitAckEvent;
    case sctp_chunk::kCookieEcho:
      return kCookieEchoEvent;
    case sctp_chunk::kCookieAck:
      return kCookieAckEvent;
    case sctp_chunk::kShutdown:
      return kShutdownEvent;
    case sctp_chunk::kShutdownAck:
      return kShutdownAckEvent;
    case sctp_chunk::kShutdownComplete:
      return kShutdownCompleteEvent;
    case sctp_chunk::kError:
      return kErrorEvent;
    case sctp_chunk::kAbort:
      return kAbortEvent;
    default:
      return kData;
  }
}

using Row = std::array<S, kSctpStateCount>;  // next state, indexed by the current one
using Table = std::array<Row, kEventCount>;  // indexed by Event

// Columns: NONE INIT1 INIT C-SENT C-REPLIED C-WAIT COOKIE C-ECHOED ESTABLISHED S-SENT
// S-RECEIVED S-ACK-SENT REJECTED CLOSED.
constexpr Table kFromClient = {{
    /* DATA    */ {ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* INIT    */ {I1, IN, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, IN, IN},
    /* INITACK */ {CW, CW, CW, CS, CR, CO, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ECHO  */ {CR, IN, IN, CR, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ACK   */ {ES, I1, IN, CS, CR, CW, CO, ES, ES, SS, SR, SA, RJ, CL},
    /* SHUT    */ {SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL},
    /* SHUTACK */ {CL, IN, IN, CS, CR, CW, CO, CE, ES, CL, SR, CL, RJ, CL},
    /* SHUTCMP */ {CL, CL, CL, CS, CR, CW, CO, CE, ES, SS, SR, CL, RJ, CL},
    /* ERROR   */ {CL, I1, IN, CS, CR, CW, CO, CL, ES, SS, SR, SA, RJ, CL},
    /* ABORT   */ {CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL},
}};

constexpr Table kFromServer = {{
    /* DATA    */ {ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* INIT    */ {CW, CW, CW, CW, CW, CW, CW, CW, ES, CW, CW, CW, CW, CW},
    /* INITACK */ {CS, CS, CS, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ECHO  */ {CE, CE, CE, CE, CE, CE, CE, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ACK   */ {ES, ES, ES, ES, ES, ES, ES, ES, ES, SS, SR, SA, RJ, CL},
    /* SHUT    */ {SS, SS, SS, SS, SS, SS, SS, SS, SS, SS, SR, SA, RJ, CL},
    /* SHUTACK */ {SA, SA, SA, SA, SA, CW, CO, CE, ES, SA, SA, SA, RJ, CL},
    /* SHUTCMP */ {CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* ERROR   */ {CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* ABORT   */ {CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL},
}};

// Without replies seen, the client's chunks stand for both sides' (its COOKIE ECHO means the
// server sent an INIT-ACK, and so on).
constexpr Table kClientOnly = {{
    /* DATA    */ {ES, I1, IN, CS, CR, ES, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* INIT    */ {I1, IN, IN, IN, IN, IN, CO, CE, ES, SS, SR, SA, IN, IN},
    /* INITACK */ {CE, CE, CE, CE, CE, CE, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ECHO  */ {ES, ES, ES, ES, ES, ES, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* C-ACK   */ {ES, I1, IN, ES, ES, CW, ES, ES, ES, SS, SR, SA, RJ, CL},
    /* SHUT    */ {SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL},
    /* SHUTACK */ {CL, IN, IN, CS, CR, CW, CO, CE, CL, CL, SR, CL, RJ, CL},
    /* SHUTCMP */ {CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, CL, CL, RJ, CL},
    /* ERROR   */ {CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL},
    /* ABORT   */ {CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL},
}};

const Table& table_for(TcpDirection direction) {
  switch (direction) {
    case TcpDirection::Input:
      return kFromClient;
    case TcpDirection::Output:
      return kFromServer;
    case TcpDirection::InputOnly:
      return kClientOnly;
  }
  return kFromClient;
}

constexpr std::size_t kCommonHeader = 12;
constexpr std::size_t kChunkHeader = 4;

}  // namespace

std::string_view sctp_state_name(SctpState state) {
  switch (state) {
    case S::None:
      return "NONE";
    case S::Init1:
      return "INIT1";
    case S::Init:
      return "INIT";
    case S::CookieSent:
      return "C-SENT";
    case S::CookieReplied:
      return "C-REPLIED";
    case S::CookieWait:
      return "C-WAIT";
    case S::Cookie:
      return "COOKIE";
    case S::CookieEchoed:
      return "C-ECHOED";
    case S::Established:
      return "ESTABLISHED";
    case S::ShutdownSent:
      return "S-SENT";
    case S::ShutdownReceived:
      return "S-RECEIVED";
    case S::ShutdownAckSent:
      return "S-ACK-SENT";
    case S::Rejected:
      return "REJECTED";
    case S::Closed:
      return "CLOSED";
  }
  return "ERR!";
}

std::optional<uint8_t> sctp_deciding_chunk(std::span<const uint8_t> sctp) {
  if (sctp.size() < kCommonHeader + kChunkHeader) return std::nullopt;
  const uint8_t first = sctp[kCommonHeader];
  if (first != sctp_chunk::kCookieEcho && first != sctp_chunk::kCookieAck) return first;
  const std::size_t length = std::size_t{sctp[kCommonHeader + 2]} << 8 | sctp[kCommonHeader + 3];
  if (length < kChunkHeader) return first;
  const std::size_t next = kCommonHeader + ((length + 3) & ~std::size_t{3});
  if (next + kChunkHeader <= sctp.size() && sctp[next] == sctp_chunk::kAbort)
    return sctp_chunk::kAbort;
  return first;
}

SctpState next_sctp_state(SctpState current, TcpDirection direction, uint8_t chunk_type) {
  return table_for(direction)[event_of(chunk_type)][static_cast<std::size_t>(current)];
}

uint32_t sctp_timeout_s(SctpState state) {
  constexpr uint32_t kMaxRto = 61;
  switch (state) {
    case S::None:
      return 2;
    case S::Init1:
    case S::Rejected:
      return 4;
    case S::Established:
      return 15 * 60;
    default:
      return kMaxRto;
  }
}

}  // namespace vsd
