// The persistence kind: with -p, a client's later connections follow its first, and each of
// them gives the template its whole timeout again (spec 7). Its IPv6 cell (tcp6) does the same
// to an IPv6 service with -M 64, a prefix length: another client of the /64 follows too, and
// the template is listed with the client's /64 ([fd00:10::]:0), as the kernel keys it
// (ipv6_addr_prefix of the source in ip_vs_sched_persist).
#include <chrono>
#include <functional>

#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// The template's listed expiry (seconds; -1 when it is not listed).
int listed_expire(MatrixBed& mb, const std::string& source, Family family) {
  auto t = listed_connection(mb, source, mb.service_address(family));
  return t ? t->expire_seconds() : -1;
}

}  // namespace

void persistence(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const Family family = c.family;
  const bool v6 = family == Family::Ipv6;
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, v6 ? "-p 60 -M 64" : "-p 60", "", family));
  // Spec 7: a template (proto, CIP, VIP:vport) sends every new connection of the client to the
  // server of its first, whatever the scheduler would pick; over IPv6 the client's /64 is the
  // CIP, so a neighbour of the client's prefix follows it too.
  int first = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string client = i == 4 ? "fd00:10::4:0:0:21" : "";
    if (i == 4 && !v6) break;
    auto syn = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port(), client);
    const std::string what =
        client.empty() ? fmt::format("connection {}", i + 1) : "a connection from " + client;
    int got = forwarded(mb, syn, f, what);
    if (got == 0) return;
    if (i == 0) first = got;
    if (!f.require(got == first,
                   fmt::format("{} reached rs{}, the template says rs{}", what, got, first)))
      return;
  }
  // The refresh takes real time to show, and does not depend on the scheduler: rr's cells
  // check it. Once the template's expiry has run down by two seconds (which absorbs the
  // listing's rounding), a new connection of the client must put it back to the full timeout.
  if (c.scheduler != "rr") return;
  const std::string tmpl = v6 ? "[fd00:10::]:0" : mb.bed().client().ip + ":0";
  auto template_expire = [&](const std::string& source) {
    return listed_expire(mb, source, family);
  };
  const int full = template_expire(tmpl);
  if (!f.require(full > 50, fmt::format("-L -n -c: the template {} expires in {} s, not about "
                                        "the -p 60 it was given",
                                        tmpl, full)))
    return;
  const int aged = read_until<bool>([&] { return template_expire(tmpl) <= full - 2; }, true, 10s)
                       ? full - 2
                       : -1;
  if (!f.require(aged > 0, fmt::format("-L -n -c: the template {}'s expiry stayed at {} s for 10 s",
                                       tmpl, template_expire(tmpl))))
    return;
  auto syn = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port());
  if (forwarded(mb, syn, f, "a connection after the template aged") == 0) return;
  const int refreshed = template_expire(tmpl);
  if (!f.require(refreshed >= full - 1,
                 fmt::format("-L -n -c: the template {} expires in {} s after a new connection "
                             "used it at {} s or less; the spec gives it the whole timeout again "
                             "(about {} s)",
                             tmpl, refreshed, aged, full)))
    return;
  // Spec 7: a template whose server is gone sends nobody there; the client's next connection
  // is scheduled anew (-d names the server by address alone: ipvsadm refuses a method there).
  auto del = mb.bed().admin(
      {"-d", "-t", mb.service_address(family), "-r", mb.server_args(first, family)[1]});
  if (!f.require(del.ok(), "-d refused: " + del.output)) return;
  auto after = mb.tcp_in(family, Tins::TCP::SYN, mb.next_client_port());
  const int got = forwarded(mb, after, f, "a connection after the template's server was deleted");
  f.require(got != 0 && got != first,
            fmt::format("a connection after rs{} was deleted reached rs{}: its template still "
                        "sent the client to the deleted server",
                        first, got));
}

}  // namespace vslab::matrix::kinds
