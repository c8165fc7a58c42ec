// The port-zero kind: the VIP's port-0 service (persistent, as ipvsadm requires) takes a SYN
// to any port, and the connection goes to the packet's port on the real server (spec 4 and 7:
// whatever port the destination has), as the forwarded segment and `-L -n -c` show; the
// client's template is keyed with ports 0 and names RIP:0 (spec 7).
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void port_zero(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const std::string service = "-t " + bed.vip() + ":0";
  std::string rules = fmt::format("-C\n-A {} -s {} -p 60\n", service, c.scheduler);
  // DR and TUN: no port, ipvsadm gives them the service's, 0. NAT and FULLNAT servers may have
  // a port of their own (rport), which a port-0 service's connection does not take, nor its
  // template (spec 7).
  const std::string rport =
      replies_pass_director(mb.mode()) ? fmt::format(":{}", mb.rport()) : std::string();
  for (int rs = 1; rs <= 3; ++rs)
    rules +=
        fmt::format("-a {} -r {}{} {} -w 100\n", service, mb.rip(rs), rport, mb.server_args(rs)[2]);
  if (mb.mode() == Mode::FullNat) rules += fmt::format("--add-laddr -z {} {}\n", mb.lip(), service);
  bed.restore(rules);
  const uint16_t cport = mb.next_client_port();
  auto syn = mb.tcp_from_client(Tins::TCP::SYN, cport);
  int rs = forwarded_as(
      mb, syn,
      [&](int rs) {
        auto want = mb.at_real_server(syn, rs);
        want.dport(mb.vport());
        return want;
      },
      f, "to the real server, on the packet's port");
  if (rs == 0) return;
  const std::string source = bed.client().ip + ":" + std::to_string(cport);
  const std::string dest = mb.rip(rs) + ":" + std::to_string(mb.vport());
  auto listed = listed_connection(mb, source);
  if (!f.require(listed && listed->destination == dest,
                 fmt::format("-L -n -c: {}'s destination is {} where the spec says {} (the "
                             "packet's port)",
                             source, listed ? listed->destination : "(not listed)", dest)))
    return;
  const std::string tmpl_source = bed.client().ip + ":0";
  const std::string tmpl_vip = bed.vip() + ":0", tmpl_dest = mb.rip(rs) + ":0";
  auto tmpl = listed_connection(mb, tmpl_source, tmpl_vip);
  f.require(
      tmpl && tmpl->destination == tmpl_dest,
      fmt::format("-L -n -c: the template {} -> {} names {} where the spec says {} "
                  "(port 0 throughout)",
                  tmpl_source, tmpl_vip, tmpl ? tmpl->destination : "(not listed)", tmpl_dest));
}

}  // namespace vslab::matrix::kinds
