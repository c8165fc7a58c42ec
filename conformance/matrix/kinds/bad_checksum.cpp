// The bad-checksum kind: a SYN or a datagram to a service whose TCP or UDP checksum is wrong.
// IPVS does not verify it: the packet is scheduled and forwarded, its checksum updated
// incrementally for what the mode changes, so it arrives exactly as wrong (spec 2, NAT). A TCP
// segment of no connection with a wrong checksum is not IPVS's and meets the director's own TCP,
// which drops it without the RST a sound one gets (spec 3). Its IPv6 cells (tcp6, udp6) do the
// same over IPv6, whose upper-layer checksum covers the IPv6 pseudo-header: the director's
// update follows the addresses it changes there, and its own TCP drops the bad bare ACK too.
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// The wrong checksum this kind sends: the right one with 0x1111 more in the sum it complements.
// An incremental update keeps the error, so the real server finds the same 0x1111 too much.
uint16_t wrong(uint16_t right) {
  uint32_t sum = uint32_t(uint16_t(~right)) + 0x1111;
  sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Where the L4 checksum of the innermost IP packet of `frame` lies: IPv4 (IPIP around it or
// not) or IPv6 without extension headers (ip6ip6 around it or not).
std::size_t l4_checksum_at(const std::vector<uint8_t>& frame) {
  std::size_t ip = 14;
  if (frame[12] == 0x86 && frame[13] == 0xdd) {
    if (frame[ip + 6] == 41) ip += 40;  // ip6ip6
    return ip + 40 + (frame[ip + 6] == 6 ? 16 : 6);
  }
  if (frame[ip + 9] == 4) ip += std::size_t(frame[ip] & 0x0f) * 4;  // IPIP
  const std::size_t l4 = ip + std::size_t(frame[ip] & 0x0f) * 4;
  return l4 + (frame[ip + 9] == 6 ? 16 : 6);
}

uint16_t read16(const std::vector<uint8_t>& b, std::size_t at) {
  return uint16_t(b[at] << 8 | b[at + 1]);
}

// `frame` as bytes with its L4 checksum made wrong.
std::vector<uint8_t> spoiled(const Tins::EthernetII& frame) {
  auto bytes = Tins::EthernetII(frame).serialize();
  const auto at = l4_checksum_at(bytes);
  const uint16_t bad = wrong(read16(bytes, at));
  bytes[at] = uint8_t(bad >> 8);
  bytes[at + 1] = uint8_t(bad);
  return bytes;
}

}  // namespace

void bad_checksum(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const bool tcp = c.proto == Proto::Tcp;
  const Family family = c.family;
  bed.restore(mb.rules(c.proto, c.scheduler, {100}, "", "", family));
  // A UDP checksum of 0 means none, and a director writes a sum that comes out 0 as 0xffff
  // (RFC 768): neither is this kind's matter, so the client port is one for which neither the
  // wrong checksum sent nor the one forwarded is 0.
  auto pick = [&] {
    const uint16_t cport = mb.next_client_port();
    if (tcp) return mb.tcp_in(family, Tins::TCP::SYN, cport);
    return family == Family::Ipv6 ? mb.udp6_from_client(cport, "checksum")
                                  : mb.udp_from_client(cport, "checksum");
  };
  auto zero_sum = [&](const std::vector<uint8_t>& bytes) {
    return !tcp && wrong(read16(bytes, l4_checksum_at(bytes))) == 0;
  };
  auto sound = pick();
  while (zero_sum(Tins::EthernetII(sound).serialize()) ||
         (mb.mode() != Mode::FullNat && zero_sum(mb.at_real_server(sound, 1).bytes())))
    sound = pick();
  bed.client().port->send(spoiled(sound));
  auto want = mb.at_real_server(sound, 1);
  if (mb.mode() == Mode::FullNat) {
    // The checksum covers the lport, which is the director's choice: not compared.
    want.ignore(Field::L4Checksum);
  } else {
    const auto right = read16(want.bytes(), l4_checksum_at(want.bytes()));
    want.expect_text(Field::L4Checksum,
                     fmt::format("invalid (is 0x{:04x}, should be 0x{:04x})", wrong(right), right));
  }
  f.check(bed.checker().expect_frame(*bed.rs(1).port, want, 2s),
          tcp ? "SYN with a wrong checksum" : "datagram with a wrong checksum");
  if (tcp) {
    // A bare ACK of no connection: a sound one gets a RST from the VIP (the unknown-flow kind).
    bed.client().port->send(
        spoiled(mb.tcp_in(family, Tins::TCP::ACK, mb.next_client_port(), "", 777, 999)));
  }
  mb.barrier(family);
  f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers");
  f.check(bed.checker().expect_no_other_frames({bed.client().port}, 0ms), "client");
}

}  // namespace vslab::matrix::kinds
