// The IPVS TCP state machine (net/netfilter/ipvs/ip_vs_proto_tcp.c): the states as
// `ipvsadm -L -c` names them, the three transition tables, which states count as active for
// the destination counters, and how long an entry lives in each state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/rules.h"

namespace vsd {

// In the kernel's order (IP_VS_TCP_S_*), which is also the column order of its tables.
enum class TcpState : uint8_t {
  None,
  Established,
  SynSent,
  SynRecv,
  FinWait,
  TimeWait,
  Close,
  CloseWait,
  LastAck,
  Listen,
  SynAck,
};
inline constexpr std::size_t kTcpStateCount = 11;

// "NONE", "ESTABLISHED", "SYN_SENT", ... exactly as ipvsadm -L -c prints them.
std::string_view tcp_state_name(TcpState state);

// The TCP header's flag bits (byte 13 of the header).
namespace tcp_flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
}  // namespace tcp_flag

// Which of the kernel's three tables a segment is looked up in.
enum class TcpDirection : uint8_t {
  Input,      // client -> server, and the director also sees the replies (NAT, FULLNAT)
  Output,     // server -> client, a reply passing back through the director
  InputOnly,  // client -> server when replies bypass the director (DR, TUN: NOOUTPUT)
};

// The state after a segment with these flags. Only one flag decides, in priority RST, SYN,
// FIN, ACK; a segment with none of the four (say PSH alone) moves the entry to CLOSE, because
// set_tcp_state starts from CLOSE and finds no table row to replace it. secure: the tables
// net.ipv4.vs.secure_tcp switches to while it is on (tcp_states_dos).
TcpState next_tcp_state(TcpState current, TcpDirection direction, uint8_t tcp_flags,
                        bool secure = false);

// Whether a connection in this state counts in the destination's ActiveConn:
// ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK (tcp_state_active_table; before Linux 4.7 only
// ESTABLISHED). Every other state counts in InActConn.
bool tcp_state_is_active(TcpState state);

// How long an entry lives without packets, per state and protocol, in seconds. Defaults are
// the kernel's (tcp_timeouts in ip_vs_proto_tcp.c, udp_timeouts in ip_vs_proto_udp.c);
// `ipvsadm --set tcp tcpfin udp` replaces ESTABLISHED, FIN_WAIT and UDP.
class ConnTimeouts {
 public:
  ConnTimeouts();
  explicit ConnTimeouts(const Timeouts& set) : ConnTimeouts() { apply(set); }

  // As `--set`: a 0 keeps the current value (ip_vs_ctl.c ip_vs_set_timeout).
  void apply(const Timeouts& set);

  uint32_t tcp_s(TcpState state) const { return tcp_s_[static_cast<std::size_t>(state)]; }
  uint32_t udp_s() const { return udp_s_; }
  // IPVS keeps no ICMP connections (ipvsadm has no ICMP services); vsd does for fwmark
  // services that match ICMP, and gives them this fixed lifetime [unverified].
  uint32_t icmp_s() const { return icmp_s_; }
  // What `ipvsadm --timeout` prints: "Timeout (tcp tcpfin udp): 900 120 300".
  Timeouts as_set() const;

 private:
  std::array<uint32_t, kTcpStateCount> tcp_s_;
  uint32_t udp_s_;
  uint32_t icmp_s_;
};

}  // namespace vsd
