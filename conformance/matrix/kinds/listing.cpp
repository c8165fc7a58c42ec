// The listing kind: what ipvsadm's listings say of a service, its servers and a connection,
// column by column (spec 9): the persistence timeout in seconds and the netmask on the service
// line, each server's thresholds, its persistent, active and inactive counts, and the time left
// of a connection and of its template as minutes:seconds. Two clients of one /24 under
// -M 255.255.255.0 share one template (spec 7), so the counts differ: one template, two
// connections. The columns do not depend on the scheduler, so only the rr cells run it. The
// IPv6 cell (tcp6) is kinds/listing6.cpp.
#include <algorithm>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

namespace {

constexpr int kPersistence = 300;  // -p, seconds
constexpr int kUpper = 7, kLower = 4;
constexpr int kSynRecvTimeout = 60;  // spec 5: SYN_RECV's timeout
constexpr const char* kMask = "255.255.255.0";

// `address` with its last byte 0: the /24 a template of -M 255.255.255.0 is keyed by.
std::string slash24(const std::string& address) {
  return address.substr(0, address.rfind('.') + 1) + "0";
}
// Another host of the same /24.
std::string neighbour_of(const std::string& address) {
  return address.substr(0, address.rfind('.') + 1) + "99";
}

// The four numbers after "-> ADDRESS" on a server line of an `-L -n` listing with extra columns
// (--thresholds: Uthreshold Lthreshold ActiveConn InActConn; --persistent-conn: Weight
// PersistConn ActiveConn InActConn); empty when there is no such line.
std::vector<long> server_columns(const std::string& listing, const std::string& address) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string arrow, addr;
    if (!(in >> arrow >> addr) || arrow != "->" || addr != address) continue;
    std::vector<long> values(4);
    for (auto& v : values)
      if (!(in >> v)) return {};
    return values;
  }
  return {};
}

// The words of the service line "TCP  VIP:vport rr persistent 300" after the address.
std::vector<std::string> service_words(const std::string& listing, const std::string& service) {
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::string proto, addr;
    if (!(in >> proto >> addr) || proto != "TCP" || addr != service) continue;
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
  }
  return {};
}

}  // namespace

void listing(MatrixBed& mb, const Cell& c, Findings& f) {
  if (c.family == Family::Ipv6) return listing6(mb, c, f);
  auto& bed = mb.bed();
  const std::vector<int> weights{5, 3, 1};
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, weights,
                       fmt::format("-p {} -M {}", kPersistence, kMask),
                       fmt::format("-x {} -y {}", kUpper, kLower)));
  const uint16_t cport = mb.next_client_port();
  const int rs = forwarded(mb, mb.tcp_from_client(Tins::TCP::SYN, cport), f, "SYN");
  if (rs == 0) return;
  const std::string cip = bed.client().ip, neighbour = neighbour_of(cip);
  const int second =
      forwarded(mb, mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port(), neighbour), f,
                "SYN from " + neighbour);
  if (second == 0) return;
  if (!f.require(second == rs,
                 fmt::format("SYN from {} reached rs{}, but {} of the same /24 has its template "
                             "(-M {}) on rs{}",
                             neighbour, second, cip, kMask, rs)))
    return;
  const std::string service = bed.vip() + ":" + std::to_string(mb.vport());

  // Spec 9: "persistent N" gives the timeout in seconds, as -p took it.
  auto words = service_words(bed.admin({"-L", "-n"}).output, service);
  auto at = std::find(words.begin(), words.end(), "persistent");
  const std::string timeout = at != words.end() && at + 1 != words.end() ? *(at + 1) : "(none)";
  if (!f.require(timeout == std::to_string(kPersistence),
                 fmt::format("-L -n: service {} listed as persistent {} where -p {} was given",
                             service, timeout, kPersistence)))
    return;
  auto m = std::find(words.begin(), words.end(), "mask");
  const std::string mask = m != words.end() && m + 1 != words.end() ? *(m + 1) : "(none)";
  if (!f.require(mask == kMask, fmt::format("-L -n: service {} listed with mask {} where -M {} "
                                            "was given",
                                            service, mask, kMask)))
    return;

  // Spec 9: --thresholds lists -x and -y as given; --persistent-conn counts the templates that
  // point at each server beside its connections (two SYNs, one template: SYN_RECV is active).
  const auto thresholds = bed.admin({"-L", "-n", "--thresholds"}).output;
  const auto persistent = bed.admin({"-L", "-n", "--persistent-conn"}).output;
  for (int s = 1; s <= 3; ++s) {
    const std::string dest = mb.rip(s) + ":" + std::to_string(mb.rport());
    const long mine = s == rs ? 1 : 0;
    const std::vector<long> want_thresholds{kUpper, kLower, 2 * mine, 0};
    auto got = server_columns(thresholds, dest);
    if (!f.require(
            got == want_thresholds,
            fmt::format("-L -n --thresholds: rs{} Uthreshold Lthreshold ActiveConn "
                        "InActConn {} where the rules and two SYNs say {}",
                        s, got.empty() ? "(not listed)" : fmt::format("{}", got), want_thresholds)))
      return;
    const std::vector<long> want_persistent{weights[std::size_t(s - 1)], mine, 2 * mine, 0};
    got = server_columns(persistent, dest);
    if (!f.require(
            got == want_persistent,
            fmt::format("-L -n --persistent-conn: rs{} Weight PersistConn ActiveConn "
                        "InActConn {} where the rules and two SYNs say {}",
                        s, got.empty() ? "(not listed)" : fmt::format("{}", got), want_persistent)))
      return;
  }

  // Spec 9: the expire column is the time left as minutes:seconds; a SYN_RECV entry starts at
  // its 60 s, the template at the persistence timeout, each only a little less by now.
  const int slack = 5 * bed.dut().slowness();
  struct Entry {
    std::string what, source, state;
    int timeout;
  };
  for (const Entry& e :
       {Entry{"the connection", cip + ":" + std::to_string(cport), "SYN_RECV", kSynRecvTimeout},
        Entry{"its template", slash24(cip) + ":0", "NONE", kPersistence}}) {
    auto listed = listed_connection(mb, e.source, service);
    if (!f.require(listed.has_value(),
                   fmt::format("-L -n -c lists no line for {} from {}", e.what, e.source)))
      return;
    if (!f.require(listed->state == e.state,
                   fmt::format("-L -n -c: {} from {} in state {} where the spec says {}", e.what,
                               e.source, listed->state, e.state)))
      return;
    const int s = listed->expire_s;
    if (!f.require(
            s <= e.timeout && s >= e.timeout - slack,
            fmt::format("-L -n -c: {} from {} has expire {} ({} s) where the spec says "
                        "{:02}:{:02} or a few seconds less",
                        e.what, e.source, listed->expire, s, e.timeout / 60, e.timeout % 60)))
      return;
  }
}

}  // namespace vslab::matrix::kinds
