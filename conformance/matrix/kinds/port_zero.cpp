// The port-zero kind: the VIP's port-0 service (persistent, as ipvsadm requires) takes a SYN
// to any port, and the connection goes to the packet's port on the real server (spec 4 and 7:
// whatever port the destination has), as the forwarded segment and `-L -n -c` show; the
// client's template is keyed with ports 0 and names RIP:0 (spec 7). Its IPv6 cell (tcp6) does
// the same to the IPv6 VIP's port-0 service, [VIP]:0, listed with [addr]:port.
#include <fmt/format.h>

#include "matrix/kinds/steps.h"

namespace vslab::matrix::kinds {

using namespace std::chrono_literals;

void port_zero(MatrixBed& mb, const Cell& c, Findings& f) {
  auto& bed = mb.bed();
  const bool v6 = c.family == Family::Ipv6;
  // An address as -L -n -c and ipvsadm's rules write it with a port: [addr]:port over IPv6.
  auto at = [v6](const std::string& address, uint16_t port) {
    return v6 ? fmt::format("[{}]:{}", address, port) : fmt::format("{}:{}", address, port);
  };
  auto rip = [&](int rs) { return v6 ? mb.ipv6_of("rs" + std::to_string(rs)) : mb.rip(rs); };
  const std::string vip = v6 ? mb.vip6() : bed.vip();
  const std::string client = v6 ? mb.ipv6_of("client") : bed.client().ip;
  const std::string service = fmt::format("-t {}", at(vip, 0));
  std::string rules = fmt::format("-C\n-A {} -s {} -p 60\n", service, c.scheduler);
  // DR and TUN: no port (an IPv6 address without brackets, as ipvsadm takes it), ipvsadm gives
  // them the service's, 0. NAT and FULLNAT servers may have a port of their own (rport), which a
  // port-0 service's connection does not take, nor its template (spec 7).
  const bool rport = replies_pass_director(mb.mode());
  for (int rs = 1; rs <= 3; ++rs)
    rules += fmt::format("-a {} -r {} {} -w 100\n", service,
                         rport ? at(rip(rs), mb.rport()) : rip(rs), mb.server_args(rs)[2]);
  if (mb.mode() == Mode::FullNat)
    rules += fmt::format("--add-laddr -z {} {}\n", v6 ? mb.lip6() : mb.lip(), service);
  bed.restore(rules);
  const uint16_t cport = mb.next_client_port();
  auto syn = mb.tcp_in(c.family, Tins::TCP::SYN, cport);
  int rs = forwarded_as(
      mb, syn,
      [&](int rs) {
        auto want = mb.at_real_server(syn, rs);
        want.dport(mb.vport());
        return want;
      },
      f, "to the real server, on the packet's port");
  if (rs == 0) return;
  const std::string source = at(client, cport);
  const std::string dest = at(rip(rs), mb.vport());
  auto listed = listed_connection(mb, source);
  if (!f.require(listed && listed->destination == dest,
                 fmt::format("-L -n -c: {}'s destination is {} where the spec says {} (the "
                             "packet's port)",
                             source, listed ? listed->destination : "(not listed)", dest)))
    return;
  const std::string tmpl_source = at(client, 0);
  const std::string tmpl_vip = at(vip, 0), tmpl_dest = at(rip(rs), 0);
  auto tmpl = listed_connection(mb, tmpl_source, tmpl_vip);
  f.require(
      tmpl && tmpl->destination == tmpl_dest,
      fmt::format("-L -n -c: the template {} -> {} names {} where the spec says {} "
                  "(port 0 throughout)",
                  tmpl_source, tmpl_vip, tmpl ? tmpl->destination : "(not listed)", tmpl_dest));
}

}  // namespace vslab::matrix::kinds
