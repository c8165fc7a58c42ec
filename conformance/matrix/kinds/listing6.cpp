// The listing kind's IPv6 cell (tcp6): ipvsadm's listings of an IPv6 service, its servers and a
// connection, line by line with ipvsadm's widths (print_service_entry and print_conn's printf
// formats, as director/ctl/format_ipv6_test.cpp holds them from a run of ipvsadm 1.31): every
// address written [addr]:port and never cut, the netmask as a prefix length ("mask 64",
// "-M 64"), the template keyed by the client's /64 ([fd00:10::]:0, ipv6_addr_prefix in
// ip_vs_sched_persist). Two clients of one /64 share one template, so the counts differ: one
// template, two connections.
#include <algorithm>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

// Named, not anonymous: a unity build puts listing.cpp's constants beside these.
namespace listing6_parts {

constexpr int kPersistence = 300;  // -p, seconds
constexpr int kPrefix = 64;        // -M, a prefix length over IPv6
constexpr int kUpper = 7, kLower = 4;
constexpr int kSynRecvTimeout = 60;  // spec 5: SYN_RECV's timeout
// The bed's client is fd00:10::N; this host of its /64 is another client, the template's key
// the /64 itself.
constexpr const char* kNeighbour = "fd00:10::4:0:0:21";
constexpr const char* kTemplateSource = "[fd00:10::]:0";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Notes, under `what`, each of `want` that is not a whole line of `listing`; false when one is
// missing.
bool has_lines(Findings& f, const std::string& what, const std::string& listing,
               const std::vector<std::string>& want) {
  const auto got = lines_of(listing);
  for (const auto& line : want)
    if (!f.require(std::find(got.begin(), got.end(), line) != got.end(),
                   fmt::format("{}: no line \"{}\"; ipvsadm prints it so. The listing:\n{}", what,
                               line, listing)))
      return false;
  return true;
}

// ipvsadm's forward column and -S switch of a mode (DPVS's for FULLNAT).
std::string forward_name(Mode mode) {
  switch (mode) {
    case Mode::Nat:
      return "Masq";
    case Mode::Dr:
      return "Route";
    case Mode::Tun:
      return "Tunnel";
    case Mode::FullNat:
      return "FullNat";
  }
  return "?";
}

// The first line of `listing` that starts with `prefix` ("" when none).
std::string line_starting(const std::string& listing, const std::string& prefix) {
  for (const auto& line : lines_of(listing))
    if (line.rfind(prefix, 0) == 0) return line;
  return {};
}

// A --stats or --rate row: the address left in 28 columns, five counters right in 8 each.
std::string counter_row(const std::string& lead, const std::string& address,
                        const std::vector<uint64_t>& v) {
  return fmt::format("{}{:<28} {:>8} {:>8} {:>8} {:>8} {:>8}", lead, address, v[0], v[1], v[2],
                     v[3], v[4]);
}

void run(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  constexpr Family v6 = Family::Ipv6;
  const std::vector<int> weights{5, 3, 1};
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, weights,
                       fmt::format("-p {} -M {}", kPersistence, kPrefix),
                       fmt::format("-x {} -y {}", kUpper, kLower), v6));
  const uint16_t cport = mb.next_client_port();
  const auto first_syn = mb.tcp_in(v6, Tins::TCP::SYN, cport);
  const int rs = forwarded(mb, first_syn, f, "SYN");
  if (rs == 0) return;
  const auto second_syn = mb.tcp_in(v6, Tins::TCP::SYN, mb.next_client_port(), kNeighbour);
  const int second = forwarded(mb, second_syn, f, std::string("SYN from ") + kNeighbour);
  if (second == 0) return;
  if (!f.require(second == rs,
                 fmt::format("SYN from {} reached rs{}, but the client of the same /64 has its "
                             "template (-M {}) on rs{}",
                             kNeighbour, second, kPrefix, rs)))
    return;
  const std::string service = mb.service_address(v6);
  const std::string forward = forward_name(mb.mode());
  auto dest = [&](int s) { return mb.server_args(s, v6)[1]; };

  // Spec 9, -L -n: the service line with "persistent N mask PREFIX"; each server's forward,
  // weight, active (SYN_RECV) and inactive counts.
  std::vector<std::string> want{
      "Prot LocalAddress:Port Scheduler Flags",
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn",
      fmt::format("TCP  {} {} persistent {} mask {}", service, c.scheduler, kPersistence, kPrefix)};
  for (int s = 1; s <= 3; ++s)
    want.push_back(fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}", dest(s), forward,
                               weights[std::size_t(s - 1)], s == rs ? 2 : 0, 0));
  if (!has_lines(f, "-L -n", bed.admin({"-L", "-n"}).output, want)) return;

  // --thresholds lists -x and -y as given; --persistent-conn counts the one template beside the
  // two connections.
  want = {"Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn "};
  for (int s = 1; s <= 3; ++s)
    want.push_back(fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}", dest(s), kUpper, kLower,
                               s == rs ? 2 : 0, 0));
  if (!has_lines(f, "-L -n --thresholds", bed.admin({"-L", "-n", "--thresholds"}).output, want))
    return;
  want = {"Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn "};
  for (int s = 1; s <= 3; ++s)
    want.push_back(fmt::format("  -> {:<28} {:<9} {:<11} {:<10} {:<10}", dest(s),
                               weights[std::size_t(s - 1)], s == rs ? 1 : 0, s == rs ? 2 : 0, 0));
  if (!has_lines(f, "-L -n --persistent-conn", bed.admin({"-L", "-n", "--persistent-conn"}).output,
                 want))
    return;

  // --stats: two connections, two SYNs in (IPv6 datagrams, header included), nothing out. The
  // kernel's totals may lag its estimator (spec 9): read until they show.
  const uint64_t in_bytes =
      first_syn.rfind_pdu<Tins::IPv6>().size() + second_syn.rfind_pdu<Tins::IPv6>().size();
  const std::vector<uint64_t> counted{2, 2, 0, in_bytes, 0}, nothing{0, 0, 0, 0, 0};
  want = {"Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes",
          "  -> RemoteAddress:Port", counter_row("TCP  ", service, counted)};
  for (int s = 1; s <= 3; ++s)
    want.push_back(counter_row("  -> ", dest(s), s == rs ? counted : nothing));
  const std::string stats = read_until<std::string>(
      [&] {
        const auto listing = bed.admin({"-L", "-n", "--stats"}).output;
        const auto got = lines_of(listing);
        for (const auto& line : want)
          if (std::find(got.begin(), got.end(), line) == got.end()) return listing;
        return std::string("all there");
      },
      "all there", 3s * bed.dut().slowness());
  if (stats != "all there" && !has_lines(f, "-L -n --stats", stats, want)) return;

  // --rate: the rates are the estimator's, not predictable; the row's layout is: the numbers it
  // shows, written back in ipvsadm's widths, give the row.
  const auto rate = bed.admin({"-L", "-n", "--rate"}).output;
  want = {"Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS"};
  for (const auto& [lead, address] :
       {std::pair<std::string, std::string>{"TCP  ", service}, {"  -> ", dest(rs)}}) {
    const std::string row = line_starting(rate, lead + address + " ");
    std::istringstream in(row.substr(std::min(row.size(), lead.size() + address.size())));
    std::vector<uint64_t> shown(5);
    for (auto& v : shown) in >> v;
    want.push_back(counter_row(lead, address, shown));
  }
  if (!has_lines(f, "-L -n --rate", rate, want)) return;

  // -S -n: the prefix length as -M takes it; ipvsadm 1.31 saves no thresholds, and writes
  // --tun-type ipip after a TUN destination (docs/ipvs.md section 2).
  const std::string sw = mb.server_args(1, v6)[2];
  const std::string tun_type = mb.mode() == Mode::Tun ? " --tun-type ipip" : "";
  want = {fmt::format("-A -t {} -s {} -p {} -M {}", service, c.scheduler, kPersistence, kPrefix)};
  for (int s = 1; s <= 3; ++s)
    want.push_back(fmt::format("-a -t {} -r {} {} -w {}{}", service, dest(s), sw,
                               weights[std::size_t(s - 1)], tun_type));
  if (!has_lines(f, "-S -n", bed.admin({"-S", "-n"}).output, want)) return;

  // -L -n -c: print_conn's "%-3s %02d:%02d  %-11s %-18s %-18s %s"; the expire column is the time
  // left, a SYN_RECV entry from its 60 s, the template from the persistence timeout.
  const int slack = 5 * bed.dut().slowness();
  struct Entry {
    std::string what, source, state;
    int timeout;
  };
  const std::string client = listed_client(mb, v6) + ":" + std::to_string(cport);
  // One reading: the expire column ticks between two.
  const auto conns = bed.admin({"-L", "-n", "-c"}).output;
  want = {"pro expire state       source             virtual            destination"};
  for (const Entry& e : {Entry{"the connection", client, "SYN_RECV", kSynRecvTimeout},
                         Entry{"its template", kTemplateSource, "NONE", kPersistence}}) {
    ListedConn listed;
    for (const auto& line : lines_of(conns)) {
      std::istringstream in(line);
      ListedConn l;
      if (in >> l.proto >> l.expire >> l.state >> l.source >> l.virtual_addr &&
          l.source == e.source && l.virtual_addr == service)
        listed = l;
    }
    if (!f.require(!listed.source.empty(), fmt::format("-L -n -c lists no line for {} from {}:\n{}",
                                                       e.what, e.source, conns)))
      return;
    const int s = listed.expire_seconds();
    if (!f.require(s <= e.timeout && s >= e.timeout - slack,
                   fmt::format("-L -n -c: {} from {} has expire {} ({} s) where the spec says "
                               "{:02}:{:02} or a few seconds less",
                               e.what, e.source, listed.expire, s, e.timeout / 60, e.timeout % 60)))
      return;
    want.push_back(fmt::format("TCP {:02}:{:02}  {:<11} {:<18} {:<18} {}", s / 60, s % 60, e.state,
                               e.source, service, dest(rs)));
  }
  has_lines(f, "-L -n -c", conns, want);
}

}  // namespace listing6_parts

void listing6(MatrixBed& mb, const Cell& c, Findings& f) {
  listing6_parts::run(mb, c, f);
}

}  // namespace vslab::matrix::kinds
