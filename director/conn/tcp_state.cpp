// The tables below are the behaviour of net/netfilter/ipvs/ip_vs_proto_tcp.c (tcp_states, the
// default table, and tcp_states_dos, the one secure_tcp switches to), as in Linux 5.x/6.1.
#include "conn/tcp_state.h"

namespace vsd {
namespace {

// Short names so that each table row fits on a line under its column header.
constexpr TcpState es = TcpState::Established;
constexpr TcpState ss = TcpState::SynSent;
constexpr TcpState sr = TcpState::SynRecv;
constexpr TcpState fw = TcpState::FinWait;
constexpr TcpState tw = TcpState::TimeWait;
constexpr TcpState cl = TcpState::Close;
constexpr TcpState cw = TcpState::CloseWait;
constexpr TcpState la = TcpState::LastAck;
constexpr TcpState li = TcpState::Listen;
constexpr TcpState sa = TcpState::SynAck;  // reached only through the secure_tcp tables
// No cell leads to NONE, so it needs no short name.

// The flag that decides a segment's row.
enum Event : uint8_t { kSynEvent, kFinEvent, kAckEvent, kRstEvent, kEventCount };

using Row = std::array<TcpState, kTcpStateCount>;  // next state, indexed by current state
using Table = std::array<Row, kEventCount>;        // indexed by Event

// Columns: current state NONE ESTABLISHED SYN_SENT SYN_RECV FIN_WAIT TIME_WAIT CLOSE
// CLOSE_WAIT LAST_ACK LISTEN SYNACK. The tables take the real server's point of view: a FIN
// from the client puts the server in CLOSE_WAIT, one from the server puts it in FIN_WAIT.
constexpr Table kInput = {{
    /* SYN */ {sr, es, es, sr, sr, sr, sr, sr, sr, sr, sr},
    /* FIN */ {cl, cw, ss, tw, tw, tw, cl, cw, la, li, tw},
    /* ACK */ {es, es, ss, es, fw, tw, cl, cw, cl, li, es},
    /* RST */ {cl, cl, cl, sr, cl, cl, cl, cl, la, li, sr},
}};

constexpr Table kOutput = {{
    /* SYN */ {ss, es, ss, sr, ss, ss, ss, ss, ss, li, sr},
    /* FIN */ {tw, fw, ss, tw, fw, tw, cl, tw, la, li, tw},
    /* ACK */ {es, es, ss, es, fw, tw, cl, cw, la, es, es},
    /* RST */ {cl, cl, ss, cl, cl, tw, cl, cl, cl, cl, cl},
}};

// Without replies the director guesses from the client alone: its FIN means the server has
// nothing more to say either, hence FIN_WAIT rather than CLOSE_WAIT.
constexpr Table kInputOnly = {{
    /* SYN */ {sr, es, es, sr, sr, sr, sr, sr, sr, sr, sr},
    /* FIN */ {cl, fw, ss, tw, fw, tw, cl, cw, la, li, tw},
    /* ACK */ {es, es, ss, es, fw, tw, cl, cw, cl, li, es},
    /* RST */ {cl, cl, cl, sr, cl, cl, cl, cl, la, li, cl},
}};

// secure_tcp on (tcp_timeout_change): a connection is believed only once the server has
// spoken. The client's SYN in SYN_RECV and the server's SYN+ACK lead to SYNACK, which only the
// server's ACK (OUTPUT) leaves for ESTABLISHED; the client's ACK no longer establishes a
// connection in SYN_RECV, and without replies (INPUT-ONLY) a new SYN lands in SYNACK. The timeouts
// stay the same: SYNACK's 120 s is its own.
constexpr Table kInputSecure = {{
    /* SYN */ {sr, es, es, sr, sr, sr, sr, sr, sr, sr, sa},
    /* FIN */ {cl, cw, ss, tw, tw, tw, cl, cw, la, li, sa},
    /* ACK */ {es, es, ss, sr, fw, tw, cl, cw, cl, li, sa},
    /* RST */ {cl, cl, cl, sr, cl, cl, cl, cl, la, li, cl},
}};

constexpr Table kOutputSecure = {{
    /* SYN */ {ss, es, ss, sa, ss, ss, ss, ss, ss, li, sa},
    /* FIN */ {tw, fw, ss, tw, fw, tw, cl, tw, la, li, tw},
    /* ACK */ {es, es, ss, es, fw, tw, cl, cw, la, es, es},
    /* RST */ {cl, cl, ss, cl, cl, tw, cl, cl, cl, cl, cl},
}};

constexpr Table kInputOnlySecure = {{
    /* SYN */ {sa, es, es, sr, sa, sa, sa, sa, sa, sa, sa},
    /* FIN */ {cl, fw, ss, tw, fw, tw, cl, cw, la, li, tw},
    /* ACK */ {es, es, ss, es, fw, tw, cl, cw, cl, li, es},
    /* RST */ {cl, cl, cl, sr, cl, cl, cl, cl, la, li, cl},
}};

const Table& table_for(TcpDirection direction, bool secure) {
  switch (direction) {
    case TcpDirection::Input:
      return secure ? kInputSecure : kInput;
    case TcpDirection::Output:
      return secure ? kOutputSecure : kOutput;
    case TcpDirection::InputOnly:
      return secure ? kInputOnlySecure : kInputOnly;
  }
  return kInput;
}

// RST wins over SYN, SYN over FIN, FIN over ACK (tcp_state_idx).
bool deciding_event(uint8_t tcp_flags, Event& event) {
  if (tcp_flags & tcp_flag::kRst) {
    event = kRstEvent;
  } else if (tcp_flags & tcp_flag::kSyn) {
    event = kSynEvent;
  } else if (tcp_flags & tcp_flag::kFin) {
    event = kFinEvent;
  } else if (tcp_flags & tcp_flag::kAck) {
    event = kAckEvent;
  } else {
    return false;
  }
  return true;
}

constexpr std::array<std::string_view, kTcpStateCount> kStateNames = {
    "NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK",
};

}  // namespace

std::string_view tcp_state_name(TcpState state) {
  auto i = static_cast<std::size_t>(state);
  return i < kStateNames.size() ? kStateNames[i] : "ERR!";
}

TcpState next_tcp_state(TcpState current, TcpDirection direction, uint8_t tcp_flags, bool secure) {
  Event event;
  if (!deciding_event(tcp_flags, event)) return TcpState::Close;
  return table_for(direction, secure)[event][static_cast<std::size_t>(current)];
}

bool tcp_state_is_active(TcpState state) {
  switch (state) {
    case TcpState::Established:
    case TcpState::SynSent:
    case TcpState::SynRecv:
    case TcpState::SynAck:
      return true;
    default:
      return false;
  }
}

ConnTimeouts::ConnTimeouts()
    : tcp_s_{
          2,        // NONE
          15 * 60,  // ESTABLISHED
          2 * 60,   // SYN_SENT
          60,       // SYN_RECV
          2 * 60,   // FIN_WAIT
          2 * 60,   // TIME_WAIT
          10,       // CLOSE
          60,       // CLOSE_WAIT
          30,       // LAST_ACK
          2 * 60,   // LISTEN
          2 * 60,   // SYNACK
      },
      udp_s_(5 * 60),
      icmp_s_(60) {}

void ConnTimeouts::apply(const Timeouts& set) {
  if (set.tcp != 0) tcp_s_[static_cast<std::size_t>(TcpState::Established)] = set.tcp;
  if (set.tcp_fin != 0) tcp_s_[static_cast<std::size_t>(TcpState::FinWait)] = set.tcp_fin;
  if (set.udp != 0) udp_s_ = set.udp;
}

Timeouts ConnTimeouts::as_set() const {
  return Timeouts{tcp_s(TcpState::Established), tcp_s(TcpState::FinWait), udp_s_};
}

}  // namespace vsd
