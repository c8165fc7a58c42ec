// A forwarder: what one forwarding method does to each packet of a connection, as a table of
// entry points (in, out, and the ICMP errors of either side). The data plane binds one to a
// connection when the connection is made, as ip_vs_bind_xmit sets cp->packet_xmit, and every
// later packet goes through it without asking the method again. Each method's forwarder lives
// in the method's file (nat.h, dr.h, tun.h, fullnat.h); these are IPv4's, and an IPv6 one is
// another table of the same shape.
//
// Entry points are plain function pointers, no virtual call (STYLE.md, the per-packet path);
// the per-packet ones are [[gnu::flatten]], so the rewrite they wrap is inlined into them and
// the table costs one indirect call, not a call more (counted with callgrind on path_bench).
// They rewrite the frame or build a new one in the workspace, and say what to send; the data
// plane has already found the egress port, and does the output (next hop, fragmentation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "fwd/elements.h"
#include "fwd/packet.h"
#include "net/addr.h"

namespace vsd::fwd {

// The connection as a forwarder sees it (conn/table.h keeps it).
struct ConnView {
  Endpoint client;           // CIP:cport
  Endpoint virtual_service;  // VIP:vport
  Endpoint local;            // FULLNAT: LIP:lport
  Endpoint real_server;      // RIP:rport
  bool toa_pending = false;  // FULLNAT: the client's handshake ACK still has to carry TOA
};

// The egress port the data plane routed the packet to.
struct Link {
  EthAddrs eth;  // the port's MAC as source; the next hop's is written on output
  uint32_t mtu = 0;
  std::optional<Ipv4> address;  // the port's own (TUN's outer source)
};

// Room to build a new frame in, which must not overlap the received one, and the IPv4 ID of
// the next packet the director originates (TUN's outer header, its ICMP errors).
struct Workspace {
  std::span<uint8_t> scratch;
  uint16_t& next_ip_id;
  // net.ipv4.vs.pmtu_disc: 0 lets TUN wrap a too-big DF packet and fragment the outer one.
  bool pmtu_disc = true;
};

// What to send.
enum class Xmit : uint8_t {
  Frame,       // the received frame, rewritten in place
  Scratch,     // scratch[0, length): a new frame (TUN's IPIP packet, a segment grown by TOA)
  FragNeeded,  // nothing sent on: answer the client with frag-needed, next-hop MTU `mtu`
  Nothing,     // the rewrite refused the packet (no quote to rewrite): nothing, uncounted
  NoRoute,     // counted: the egress port has no address to send from
  TtlExpired,  // counted
  TxFailed,    // counted: the new frame does not fit the workspace
};

// Eight bytes, so that it comes back in a register.
struct Sent {
  Xmit what = Xmit::Nothing;
  bool toa_sent = false;  // FULLNAT: TOA was due on this segment (carried or not): not again
  uint16_t mtu = 0;       // FragNeeded
  uint32_t length = 0;    // Scratch
};
static_assert(sizeof(Sent) == 8);

// A packet of the connection: the frame, the view classify() made of it, the connection, the
// egress port, the workspace.
using PacketEntry = Sent (*)(std::span<uint8_t>, const PacketView&, const ConnView&, const Link&,
                             Workspace&);
// An ICMP error from the real server's side; `about` is the packet it quotes that found the
// connection (for TUN the packet inside the quoted IPIP header).
using ServerErrorEntry = Sent (*)(std::span<uint8_t>, const PacketView&, const QuotedPacket& about,
                                  const ConnView&, const Link&, Workspace&);

// Which ICMP errors from the real server's side a method relays to the client.
enum class ServerErrors : uint8_t {
  None,        // DR: the real server answers the client itself; the director relays nothing
  Quoting,     // NAT, FULLNAT: errors quoting the packet the director sent the real server
  Tunnelling,  // TUN: errors quoting the IPIP packet the director sent the real server
};

struct Forwarder {
  // The connection needs a local address and port of the director's (FULLNAT's LIP:lport),
  // allocated when it is made.
  bool needs_local_end = false;
  PacketEntry in = nullptr;       // client -> real server
  PacketEntry out = nullptr;      // the real server's reply -> client
  PacketEntry icmp_in = nullptr;  // an ICMP error from the client's side -> real server
                                  // (the caller has checked its TTL)
  ServerErrors server_errors = ServerErrors::None;
  Ipv4 (*server_error_to)(const PacketView&, const ConnView&) = nullptr;  // where it goes
  ServerErrorEntry server_error = nullptr;
};

}  // namespace vsd::fwd
