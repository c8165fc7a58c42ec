// Steps that several scenario kinds take: the rules' roomy weights, a client's frame sent and
// looked for at the real servers, the director's own ICMP errors as the client receives them,
// and the connection table as `-L -n -c` lists it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <tins/tins.h>

#include "matrix/bed.h"
#include "matrix/kinds/kind.h"

namespace vslab::matrix::kinds {

// Weights for cells that are not about load: large enough that the cell's own connections never
// make a server overflow (ovf) or count as overloaded (lblc, lblcr).
inline const std::vector<int> kRoomy{100, 100, 100};

// Sends `sent` and expects it at some real server, rewritten as the mode does; returns which
// (0: none, noted in `f` under `what`).
int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what);
// The same with what rs`rs` should receive given by the caller.
int forwarded_as(MatrixBed& mb, const Tins::EthernetII& sent,
                 const std::function<expect::FrameExpectation(int rs)>& want_at, Findings& f,
                 const std::string& what);

// The same for a frame the caller sent itself (bytes libtins would not keep as they are).
int reached_server(MatrixBed& mb, const std::function<expect::FrameExpectation(int rs)>& want_at,
                   Findings& f, const std::string& what);

// The last frame rs`rs` received that a check claimed (nullptr: none).
const port::CapturedFrame* last_claimed(MatrixBed& mb, int rs);

// What the client receives when the director's own stack sends it an ICMP error about `about`
// (the packet as the director received it, small enough to be quoted whole): from the VIP,
// TTL 64 (63 after the router), TOS (about's & 0x1e) | 0xc0, no DF (spec 3, "The director's
// own ICMP errors").
expect::FrameExpectation vip_icmp_error_at_client(MatrixBed& mb, uint8_t type, uint8_t code,
                                                  const Tins::IP& about, uint16_t mtu = 0);

// Sends `sent` from the client and checks, under `what`, that the client gets the director's
// own ICMP error of `type` and `code` about it (as the director received it, past the router).
void expect_vip_icmp_error_for(MatrixBed& mb, const Tins::EthernetII& sent, uint8_t type,
                               uint8_t code, Findings& f, const std::string& what);

// What the client receives for `about`, a packet that does not fit a TUN director's tunnel
// (spec 2, TUN): fragmentation needed from the VIP, next-hop MTU 1480 (the tunnel's 20 bytes
// off), quoting the packet with its TTL decremented (62) as far as 576 bytes allow; TOS 0xc0,
// the router takes one off the TTL. ID, DF and the quote's bytes are not judged.
expect::FrameExpectation tunnel_frag_needed_at_client(MatrixBed& mb, const Tins::IP& about);

// Sends the ICMP or ICMPv6 message `frame` with its checksum wrong by one; returns how a check
// describes that checksum (Field::L4Checksum), for a director that sends it on as it is.
std::string send_with_bad_icmp_checksum(port::Port& port, const Tins::EthernetII& frame);

// `bytes` (Ethernet, IPv4 without options, or IPIP around such a packet) with `options` (a
// multiple of 4 bytes) put into the innermost IPv4 header: IHL, total lengths and header
// checksums made to fit. The L4 checksum does not cover options. Built by hand: libtins does
// not round-trip every option.
std::vector<uint8_t> with_options(std::vector<uint8_t> bytes, const std::vector<uint8_t>& options);

// The IPv6 cells of ttl-one, no-service, unknown-flow, icmp-error, client-icmp and unavailable
// (kinds/icmp6.cpp).
void ttl_one6(MatrixBed& mb, const Cell& c, Findings& f);
void no_service6(MatrixBed& mb, const Cell& c, Findings& f);
void unknown_flow6(MatrixBed& mb, const Cell& c, Findings& f);
void icmp_error6(MatrixBed& mb, const Cell& c, Findings& f);
void client_icmp6(MatrixBed& mb, const Cell& c, Findings& f);
void unavailable6(MatrixBed& mb, const Cell& c, Findings& f);
// The IPv6 cells of fragments (kinds/fragments6.cpp).
void fragments6(MatrixBed& mb, const Cell& c, Findings& f);
// The IPv6 cell of listing (kinds/listing6.cpp).
void listing6(MatrixBed& mb, const Cell& c, Findings& f);

// The client's own address as `-L -n -c` writes it before its port: CIP, or [CIP6].
std::string listed_client(MatrixBed& mb, Family family);

// One line of `-L -n -c`.
struct ListedConn {
  std::string proto, expire, state, source, virtual_addr, destination;
  int expire_s = -1;           // expire_seconds() of the line as read
  int expire_seconds() const;  // `expire` ("mm:ss") in seconds; -1 when it does not read so
};
// The line whose source is `source` ("CIP:cport") and, unless empty, whose virtual address is
// `virtual_addr` (a client's templates of several services share their source); none when not
// listed.
std::optional<ListedConn> listed_connection(MatrixBed& mb, const std::string& source,
                                            const std::string& virtual_addr = "");

// The five counters of a `-L -n --stats --exact` line whose address is `address` (the service
// line "TCP  VIP:vport" or a destination line "  -> RIP:rport"), empty when there is none.
std::vector<uint64_t> listed_stats(const std::string& listing, const std::string& address);

// Re-reads what `read` returns until it equals `want` or `patience` has passed (the kernel's
// totals come from an estimator that runs every 2 s: spec 9); the last reading.
template <typename T>
T read_until(const std::function<T()>& read, const T& want, std::chrono::milliseconds patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  T got = read();
  while (got != want && std::chrono::steady_clock::now() < deadline) {
    // A polling interval, not a synchronisation.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = read();
  }
  return got;
}

}  // namespace vslab::matrix::kinds
