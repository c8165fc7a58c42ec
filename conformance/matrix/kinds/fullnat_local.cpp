// The fullnat-local kind: how a FULLNAT director picks the local end of a connection and what
// it tells the real server about the client (spec 2, FULLNAT). A service with both of the
// topology's local addresses and TOA, one real server: connections leave from every local
// address in turn; the client's segment that completes the handshake carries the TOA option
// (kind 254: the client's port and address) first; and while a connection lives no other flow
// to the same real server gets its (LIP, lport), even after more new flows than there are
// local ports. The scheduler has no part in it, so it runs in fullnat/rr alone (about 4 s).
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;
using expect::Field;
using expect::FrameExpectation;

namespace {

// The client's segment as rs1 receives it from `lip` (spec 2, FULLNAT).
FrameExpectation from_local_address(MatrixBed& mb, const Tins::EthernetII& sent,
                                    const std::string& lip) {
  auto want = mb.at_real_server(sent, 1);
  want.ip_src(lip);
  return want;
}

struct LocalEnd {
  std::string lip;
  uint16_t lport = 0;
};

// The source of the last frame rs1 received that a check claimed.
std::optional<LocalEnd> last_local_end(MatrixBed& mb) {
  const port::CapturedFrame* got = last_claimed(mb, 1);
  if (got == nullptr) return std::nullopt;
  Tins::EthernetII frame(got->bytes.data(), uint32_t(got->bytes.size()));
  const auto* ip = frame.find_pdu<Tins::IP>();
  if (ip == nullptr) return std::nullopt;
  uint16_t port = 0;
  if (const auto* tcp = frame.find_pdu<Tins::TCP>()) port = tcp->sport();
  if (const auto* udp = frame.find_pdu<Tins::UDP>()) port = udp->sport();
  return LocalEnd{ip->src_addr().to_string(), port};
}

// The TOA option DPVS defines: kind 254, length 8, the client's port then its IPv4 address.
Tins::TCP::option toa_of(const std::string& cip, uint16_t cport) {
  const uint32_t address = Tins::Endian::be_to_host(uint32_t(Tins::IPv4Address(cip)));
  const uint8_t data[6] = {uint8_t(cport >> 8),    uint8_t(cport),        uint8_t(address >> 24),
                           uint8_t(address >> 16), uint8_t(address >> 8), uint8_t(address)};
  return Tins::TCP::option(Tins::TCP::OptionTypes(254), 6, data);
}

// More one-packet UDP flows to rs1 than there are local ports (1024..65535), from the client's
// port `cport` (one-packet scheduling keeps no entry, so each datagram is a flow of its own),
// sent while a UDP connection to the same RIP:rport holds `held`: none may leave with it
// ("lport is chosen so that (LIP, lport, RIP, rport) is not in use"). Sent in batches, each
// waited for, so that no flow is lost to a full queue before it was given its port.
void ports_stay_unique(MatrixBed& mb, uint16_t vport, uint16_t cport, const LocalEnd& held,
                       Findings& f) {
  auto& bed = mb.bed();
  auto& rs1 = *bed.rs(1).port;
  constexpr std::size_t kFlows = 65536 - 1024 + 16, kBatch = 2048;
  std::size_t reused = 0, forwarded = 0, seen = rs1.captured().size();
  std::string first_reuse;
  const Tins::IPv4Address held_lip(held.lip);
  const auto frame = bed.from_client(Tins::UDP(vport, cport) / Tins::RawPDU("p"));
  for (std::size_t sent = 0; sent < kFlows;) {
    const std::size_t batch = std::min(kBatch, kFlows - sent);
    for (std::size_t i = 0; i < batch; ++i, ++sent) bed.client().port->send(frame);
    rs1.wait_until([&](const auto& frames) { return frames.size() - seen + forwarded >= sent; },
                   5s);
    auto& frames = rs1.captured();
    for (; seen < frames.size(); ++seen) {
      Tins::EthernetII got(frames[seen].bytes.data(), uint32_t(frames[seen].bytes.size()));
      const auto* ip = got.find_pdu<Tins::IP>();
      const auto* udp = got.find_pdu<Tins::UDP>();
      if (ip == nullptr || udp == nullptr || udp->dport() != mb.rport()) continue;
      frames[seen].claimed = true;
      if (ip->src_addr() == held_lip && udp->sport() == held.lport && reused++ == 0)
        first_reuse = fmt::format("flow {}", forwarded + 1);
      ++forwarded;
    }
  }
  f.require(reused == 0,
            fmt::format("{} of {} new flows to rs1 left from {}:{}, the local address and port "
                        "(src) of a live connection to the same real server (first: {})",
                        reused, forwarded, held.lip, held.lport, first_reuse));
}

}  // namespace

void fullnat_local(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const auto& pool = bed.topology().lvs.local_addresses;
  if (!f.require(pool.size() >= 2, "the topology has fewer than two local addresses")) return;
  // TCP VIP:vport with TOA from both local addresses; UDP VIP:vport from the first.
  const std::string udp = fmt::format("-u {}:{}", bed.vip(), mb.vport());
  std::string rules = mb.rules(Proto::Tcp, c.scheduler, {100}, "--toa");
  rules += fmt::format("--add-laddr -z {} -t {}:{}\n", pool[1], bed.vip(), mb.vport());
  rules += fmt::format("-A {} -s {}\n-a {} -r {}:{} -b -w 100\n--add-laddr -z {} {}\n", udp,
                       c.scheduler, udp, mb.rip(1), mb.rport(), pool[0], udp);
  bed.restore(rules);

  // Spec 2, FULLNAT: the service's local addresses in turn, so four connections to one real
  // server leave from both (DPVS now and then skips one: never for four in a row).
  const uint16_t first_cport = mb.next_client_port();
  std::optional<LocalEnd> held;
  std::set<std::string> used;
  for (int i = 0; i < 4; ++i) {
    auto syn = mb.tcp_from_client(Tins::TCP::SYN, i == 0 ? first_cport : mb.next_client_port());
    FrameExpectation from_any = mb.at_real_server(syn, 1);
    from_any.any_of(Field::IpSrc, {pool[0], pool[1]});
    bed.client().port->send(syn);
    if (!f.check(bed.checker().expect_frame(*bed.rs(1).port, from_any, 2s),
                 fmt::format("connection {}'s SYN, from a local address", i + 1)))
      return;
    auto end = last_local_end(mb);
    if (!f.require(end.has_value(), "a SYN at rs1 is gone")) return;
    if (i == 0) held = end;
    used.insert(end->lip);
  }
  if (!f.require(used.size() == 2,
                 fmt::format("four connections to rs1 all left from the local address {} (src "
                             "address): {} of the service's pool was never used",
                             *used.begin(), *used.begin() == pool[0] ? pool[1] : pool[0])))
    return;

  // Spec 2, TOA: the client's ACK that completes the handshake, with the option first.
  auto ack = mb.tcp_from_client(Tins::TCP::ACK, first_cport, "", 1001, 5001);
  auto with_toa = ack;
  with_toa.rfind_pdu<Tins::TCP>().add_option(toa_of(bed.client().ip, first_cport));
  bed.client().port->send(ack);
  auto want_ack = from_local_address(mb, with_toa, held->lip);
  want_ack.sport(held->lport);
  f.check(bed.checker().expect_frame(*bed.rs(1).port, want_ack, 2s),
          "handshake ACK with the TOA option (tcp options: kind 254, cport, CIP)");
  mb.barrier();
  if (!f.check(bed.checker().expect_no_other_frames(bed.rs_ports(), 10ms), "real servers")) return;

  // A UDP connection to rs1 from the first local address, then a one-packet service's flood.
  const uint16_t cport = mb.next_client_port();
  auto held_datagram = bed.from_client(Tins::UDP(mb.vport(), cport) / Tins::RawPDU("held"));
  bed.client().port->send(held_datagram);
  if (!f.check(bed.checker().expect_frame(*bed.rs(1).port,
                                          from_local_address(mb, held_datagram, pool[0]), 2s),
               "a UDP connection's datagram, from the first local address"))
    return;
  const auto udp_held = last_local_end(mb);
  if (!f.require(udp_held.has_value(), "the UDP datagram is gone")) return;
  // On a port of its own, a one-packet UDP service to rs1 from the first local address.
  mb.fresh_service();
  const std::string flood = fmt::format("{}:{}", bed.vip(), mb.vport());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"-A", "-u", flood, "-s", std::string(c.scheduler), "-o"},
           {"-a", "-u", flood, "-r", fmt::format("{}:{}", mb.rip(1), mb.rport()), "-b", "-w", "1"},
           {"--add-laddr", "-z", pool[0], "-u", flood}}) {
    auto r = bed.admin(args);
    if (!f.require(r.ok(), fmt::format("{}: {}", fmt::join(args, " "), r.output))) return;
  }
  ports_stay_unique(mb, mb.vport(), mb.next_client_port(), *udp_held, f);
}

}  // namespace vslab::matrix::kinds
