#include "matrix/kinds/steps.h"

#include <algorithm>
#include <chrono>
#include <sstream>

#include <fmt/format.h>

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

void store16(std::vector<uint8_t>& b, std::size_t at, std::size_t value) {
  b[at] = uint8_t(value >> 8);
  b[at + 1] = uint8_t(value);
}

// Recomputes the header checksum of the IPv4 header at `ip`.
void fix_header_checksum(std::vector<uint8_t>& b, std::size_t ip) {
  const std::size_t header = std::size_t(b[ip] & 0x0f) * 4;
  store16(b, ip + 10, 0);
  uint32_t sum = 0;
  for (std::size_t i = 0; i < header; i += 2) sum += uint32_t(b[ip + i] << 8 | b[ip + i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  store16(b, ip + 10, uint16_t(~sum));
}

}  // namespace

std::vector<uint8_t> with_options(std::vector<uint8_t> bytes, const std::vector<uint8_t>& options) {
  constexpr std::size_t outer = 14, fixed = 20;
  const bool ipip = bytes[outer + 9] == 4;
  const std::size_t ip = ipip ? outer + fixed : outer;
  bytes.insert(bytes.begin() + long(ip + fixed), options.begin(), options.end());
  bytes[ip] = uint8_t(0x40 | (fixed + options.size()) / 4);
  for (std::size_t at : ipip ? std::vector<std::size_t>{outer, ip} : std::vector<std::size_t>{ip}) {
    store16(bytes, at + 2, (std::size_t(bytes[at + 2]) << 8 | bytes[at + 3]) + options.size());
    fix_header_checksum(bytes, at);
  }
  return bytes;
}

int forwarded(MatrixBed& mb, const Tins::EthernetII& sent, Findings& f, const std::string& what) {
  return forwarded_as(
      mb, sent, [&](int rs) { return mb.at_real_server(sent, rs); }, f, what);
}

int forwarded_as(MatrixBed& mb, const Tins::EthernetII& sent,
                 const std::function<expect::FrameExpectation(int rs)>& want_at, Findings& f,
                 const std::string& what) {
  mb.bed().client().port->send(sent);
  return reached_server(mb, want_at, f, what);
}

int reached_server(MatrixBed& mb, const std::function<expect::FrameExpectation(int rs)>& want_at,
                   Findings& f, const std::string& what) {
  int rs = mb.bed().claiming_server(want_at, 2s);
  if (rs != 0) {
    mb.bed().checker().record(*mb.bed().rs(rs).port, want_at(rs), true);
    return rs;
  }
  // Nothing matched: show the diff against what a real server did receive, if one did (ARP
  // and IPv6 are the kernels' own chatter, not the director's forwarding).
  auto received = [&](int i) {
    const auto& frames = mb.bed().rs(i).port->captured();
    return std::any_of(frames.begin(), frames.end(), [](const port::CapturedFrame& c) {
      return !c.claimed && !check::is_neighbour_noise(c.bytes);
    });
  };
  for (int i = 1; i <= 3; ++i)
    if (received(i)) {
      f.check(mb.bed().checker().expect_frame(*mb.bed().rs(i).port, want_at(i), 10ms), what);
      return 0;
    }
  // What the director sent towards them, which a bridge or router between may have dropped.
  std::string link;
  if (auto found = mb.bed().rs_link_finding(want_at)) {
    link = "; " + found->line + "\n" + found->diff;
    f.pcaps.insert(f.pcaps.end(), found->pcaps.begin(), found->pcaps.end());
  }
  f.require(false, what + ": no real server received it" + link);
  return 0;
}

const port::CapturedFrame* last_claimed(MatrixBed& mb, int rs) {
  const port::CapturedFrame* got = nullptr;
  for (const auto& fr : mb.bed().rs(rs).port->captured())
    if (fr.claimed) got = &fr;
  return got;
}

expect::FrameExpectation vip_icmp_error_at_client(MatrixBed& mb, uint8_t type, uint8_t code,
                                                  const Tins::IP& about, uint16_t mtu) {
  auto& bed = mb.bed();
  const auto quoted = Tins::IP(about).serialize();
  Tins::ICMP error{static_cast<Tins::ICMP::Flags>(type)};
  error.code(code);
  if (mtu != 0) error.mtu(mtu);
  Tins::IP ip(bed.client().ip, bed.vip());
  ip.ttl(63);
  ip.tos(uint8_t((about.tos() & 0x1e) | 0xc0));
  expect::FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                                error / Tins::RawPDU(quoted.data(), uint32_t(quoted.size())));
  want.df(false).ignore(expect::Field::IpId);
  return want;
}

void expect_vip_icmp_error_for(MatrixBed& mb, const Tins::EthernetII& sent, uint8_t type,
                               uint8_t code, Findings& f, const std::string& what) {
  auto& bed = mb.bed();
  bed.client().port->send(sent);
  Tins::IP about = sent.rfind_pdu<Tins::IP>();
  about.ttl(about.ttl() - 1);
  f.check(bed.checker().expect_frame(*bed.client().port,
                                     vip_icmp_error_at_client(mb, type, code, about),
                                     std::chrono::seconds(2)),
          what);
}

expect::FrameExpectation tunnel_frag_needed_at_client(MatrixBed& mb, const Tins::IP& about) {
  auto& bed = mb.bed();
  Tins::IP quoted = about;
  quoted.ttl(62);
  auto quoted_bytes = Tins::IP(quoted).serialize();
  quoted_bytes.resize(576 - 20 - 8);  // an ICMP error fits in 576 bytes
  Tins::ICMP frag_needed(Tins::ICMP::DEST_UNREACHABLE);
  frag_needed.code(4);
  frag_needed.mtu(1480);
  Tins::IP ip(bed.client().ip, bed.vip());
  ip.ttl(63);
  ip.tos(0xc0);
  expect::FrameExpectation want(Tins::EthernetII(bed.client().mac, bed.client_gateway_mac()) / ip /
                                frag_needed /
                                Tins::RawPDU(quoted_bytes.data(), uint32_t(quoted_bytes.size())));
  want.ignore(expect::Field::IpId).ignore(expect::Field::IpDf).ignore(expect::Field::Payload);
  return want;
}

std::string send_with_bad_icmp_checksum(port::Port& port, const Tins::EthernetII& frame) {
  auto bytes = Tins::EthernetII(frame).serialize();
  // ICMPv6 right behind the fixed IPv6 header; ICMP behind the IPv4 header's IHL.
  const bool ipv6 = bytes.at(12) == 0x86 && bytes.at(13) == 0xdd;
  const std::size_t icmp = 14 + (ipv6 ? 40 : std::size_t(bytes.at(14) & 0x0f) * 4);
  const auto good = uint16_t(bytes.at(icmp + 2) << 8 | bytes.at(icmp + 3));
  bytes.at(icmp + 3) = uint8_t(bytes.at(icmp + 3) + 1);
  const auto bad = uint16_t(bytes.at(icmp + 2) << 8 | bytes.at(icmp + 3));
  port.send(bytes);
  return fmt::format("invalid (is 0x{:04x}, should be 0x{:04x})", bad, good);
}

std::string listed_client(MatrixBed& mb, Family family) {
  return family == Family::Ipv6 ? fmt::format("[{}]", mb.ipv6_of("client")) : mb.bed().client().ip;
}

std::optional<ListedConn> listed_connection(MatrixBed& mb, const std::string& source,
                                            const std::string& virtual_addr) {
  std::istringstream lines(mb.bed().admin({"-L", "-n", "-c"}).output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    ListedConn c;
    if (!(in >> c.proto >> c.expire >> c.state >> c.source >> c.virtual_addr >> c.destination) ||
        c.source != source || (!virtual_addr.empty() && c.virtual_addr != virtual_addr))
      continue;
    c.expire_s = c.expire_seconds();
    return c;
  }
  return std::nullopt;
}

int ListedConn::expire_seconds() const {
  unsigned minutes = 0, seconds = 0;
  char colon = 0;
  std::istringstream in(expire);
  if (!(in >> minutes >> colon >> seconds) || colon != ':' || seconds > 59) return -1;
  return static_cast<int>(minutes * 60 + seconds);
}

std::vector<uint64_t> listed_stats(const std::string& listing, const std::string& address) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string first, addr;
    if (!(in >> first >> addr) || addr != address) continue;
    std::vector<uint64_t> values(5);
    for (auto& v : values)
      if (!(in >> v)) return {};
    return values;
  }
  return {};
}

}  // namespace vslab::matrix::kinds
