// The IPVS SCTP state machine (net/netfilter/ipvs/ip_vs_proto_sctp.c, Linux 4.x to 6.1): the
// states as `ipvsadm -L -c` names them, the three transition tables, which chunk of a packet
// decides, and each state's timeout. ipvsadm cannot change these timeouts (`--set` has tcp,
// tcpfin and udp only), so they are constants.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "conn/tcp_state.h"

namespace vsd {

// In the kernel's order (IP_VS_SCTP_S_*), the column order of its tables. The states take
// the real server's point of view: COOKIE_SENT is "the server sent its INIT-ACK".
enum class SctpState : uint8_t {
  None,
  Init1,  // the first INIT from the client, no answer yet (short timeout: INITs dropped)
  Init,   // a repeated INIT
  CookieSent,
  CookieReplied,
  CookieWait,  // the server opened an association towards the client
  Cookie,
  CookieEchoed,
  Established,
  ShutdownSent,
  ShutdownReceived,
  ShutdownAckSent,
  Rejected,  // an INIT answered with ABORT
  Closed,
};
inline constexpr std::size_t kSctpStateCount = 14;

// "NONE", "INIT1", "C-SENT", ... "ESTABLISHED", "S-ACK-SENT", exactly as ipvsadm -L -c
// prints them (the kernel's sctp_state_name_table).
std::string_view sctp_state_name(SctpState state);

// SCTP chunk types that matter here (RFC 9260 section 3.2).
namespace sctp_chunk {
inline constexpr uint8_t kData = 0;
inline constexpr uint8_t kInit = 1;
inline constexpr uint8_t kInitAck = 2;
inline constexpr uint8_t kSack = 3;
inline constexpr uint8_t kHeartbeat = 4;
inline constexpr uint8_t kHeartbeatAck = 5;
inline constexpr uint8_t kAbort = 6;
inline constexpr uint8_t kShutdown = 7;
inline constexpr uint8_t kShutdownAck = 8;
inline constexpr uint8_t kError = 9;
inline constexpr uint8_t kCookieEcho = 10;
inline constexpr uint8_t kCookieAck = 11;
inline constexpr uint8_t kShutdownComplete = 14;
}  // namespace sctp_chunk

// The chunk type that moves the state for an SCTP packet (its common header and chunks,
// `sctp` from the source port on): the first chunk's, except that a COOKIE ECHO or COOKIE
// ACK followed by an ABORT counts as the ABORT (set_sctp_state). Nothing when the packet is
// too short to hold a chunk header: the state stays.
std::optional<uint8_t> sctp_deciding_chunk(std::span<const uint8_t> sctp);

// The state after a packet whose deciding chunk is `chunk_type`; the direction tables are
// TCP's (Input from the client, Output from the server, InputOnly for a client without
// replies seen). A type the kernel does not list counts as DATA.
SctpState next_sctp_state(SctpState current, TcpDirection direction, uint8_t chunk_type);

// Only ESTABLISHED counts in the destination's ActiveConn.
inline bool sctp_state_is_active(SctpState state) {
  return state == SctpState::Established;
}

// The kernel's sctp_timeouts, in seconds: 15 min ESTABLISHED, 4 s INIT1 and REJECTED, 2 s
// NONE, and the 61 s of IP_VS_SCTP_MAX_RTO for every other state.
uint32_t sctp_timeout_s(SctpState state);

// Entries the kernel drops first when the table is short of memory (ip_vs_random_dropentry).
inline bool sctp_state_is_embryonic(SctpState state) {
  return state == SctpState::Init1 || state == SctpState::Init;
}

}  // namespace vsd
