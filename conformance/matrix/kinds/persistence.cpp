// The persistence kind: with -p, a client's later connections follow its first, and each of
// them gives the template its whole timeout again (spec 7).
#include <chrono>
#include <functional>

#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

namespace {

// The template's listed expiry (seconds; -1 when it is not listed).
int template_expire(MatrixBed& mb, const std::string& source) {
  auto t = listed_connection(mb, source, mb.bed().vip() + ":" + std::to_string(mb.vport()));
  return t ? t->expire_seconds() : -1;
}

}  // namespace

void persistence(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  bed.restore(mb.rules(Proto::Tcp, c.scheduler, kRoomy, "-p 60"));
  // Spec 7: a template (proto, CIP, VIP:vport) sends every new connection of the client to the
  // server of its first, whatever the scheduler would pick.
  int first = 0;
  for (int i = 0; i < 4; ++i) {
    auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
    int got = forwarded(mb, syn, f, fmt::format("connection {}", i + 1));
    if (got == 0) return;
    if (i == 0) first = got;
    if (!f.require(got == first, fmt::format("connection {} reached rs{}, the template says rs{}",
                                             i + 1, got, first)))
      return;
  }
  // The refresh takes real time to show, and does not depend on the scheduler: rr's cells
  // check it. Once the template's expiry has run down by two seconds (which absorbs the
  // listing's rounding), a new connection of the client must put it back to the full timeout.
  if (c.scheduler != "rr") return;
  const std::string tmpl = mb.bed().client().ip + ":0";
  const int full = template_expire(mb, tmpl);
  if (!f.require(full > 50, fmt::format("-L -n -c: the template {} expires in {} s, not about "
                                        "the -p 60 it was given",
                                        tmpl, full)))
    return;
  const int aged =
      read_until<bool>([&] { return template_expire(mb, tmpl) <= full - 2; }, true, 10s) ? full - 2
                                                                                         : -1;
  if (!f.require(aged > 0, fmt::format("-L -n -c: the template {}'s expiry stayed at {} s for 10 s",
                                       tmpl, template_expire(mb, tmpl))))
    return;
  auto syn = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
  if (forwarded(mb, syn, f, "a connection after the template aged") == 0) return;
  const int refreshed = template_expire(mb, tmpl);
  if (!f.require(refreshed >= full - 1,
                 fmt::format("-L -n -c: the template {} expires in {} s after a new connection "
                             "used it at {} s or less; the spec gives it the whole timeout again "
                             "(about {} s)",
                             tmpl, refreshed, aged, full)))
    return;
  // Spec 7: a template whose server is gone sends nobody there; the client's next connection
  // is scheduled anew (-d names the server by address alone: ipvsadm refuses a method there).
  const std::string vip = mb.bed().vip() + ":" + std::to_string(mb.vport());
  auto del = mb.bed().admin({"-d", "-t", vip, "-r", mb.server_args(first)[1]});
  if (!f.require(del.ok(), "-d refused: " + del.output)) return;
  auto after = mb.tcp_from_client(Tins::TCP::SYN, mb.next_client_port());
  const int got = forwarded(mb, after, f, "a connection after the template's server was deleted");
  f.require(got != 0 && got != first,
            fmt::format("a connection after rs{} was deleted reached rs{}: its template still "
                        "sent the client to the deleted server",
                        first, got));
}

}  // namespace vslab::matrix::kinds
