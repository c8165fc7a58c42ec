// The matrix's columns: every scenario kind, one line each, in column order. A new kind is its
// run function in kinds/<name>.cpp (declared below), its line in the table, and its source line
// in conformance/matrix/CMakeLists.txt.
#include "matrix/kinds/kind.h"

namespace vslab::matrix {

namespace kinds {
void rewrite(MatrixBed&, const Cell&, Findings&);
void scheduler(MatrixBed&, const Cell&, Findings&);
void connection(MatrixBed&, const Cell&, Findings&);
void persistence(MatrixBed&, const Cell&, Findings&);
void weight0(MatrixBed&, const Cell&, Findings&);
void thresholds(MatrixBed&, const Cell&, Findings&);
void icmp_error(MatrixBed&, const Cell&, Findings&);
void unknown_flow(MatrixBed&, const Cell&, Findings&);
void pmtu(MatrixBed&, const Cell&, Findings&);
void no_service(MatrixBed&, const Cell&, Findings&);
void client_icmp(MatrixBed&, const Cell&, Findings&);
void ttl_one(MatrixBed&, const Cell&, Findings&);
void unavailable(MatrixBed&, const Cell&, Findings&);
void routed(MatrixBed&, const Cell&, Findings&);
void port_zero(MatrixBed&, const Cell&, Findings&);
void fragments(MatrixBed&, const Cell&, Findings&);
void ip_options(MatrixBed&, const Cell&, Findings&);
void reply_options(MatrixBed&, const Cell&, Findings&);
void tunnel_error(MatrixBed&, const Cell&, Findings&);
void bad_checksum(MatrixBed&, const Cell&, Findings&);
void tcp_flags(MatrixBed&, const Cell&, Findings&);
void states(MatrixBed&, const Cell&, Findings&);
void fullnat_local(MatrixBed&, const Cell&, Findings&);
void reassembly_timeout(MatrixBed&, const Cell&, Findings&);
void listing(MatrixBed&, const Cell&, Findings&);
}  // namespace kinds

const std::vector<ScenarioKind>& scenario_kinds() {
  using enum Proto;
  static const Applicability everywhere;
  static const Applicability errors_come_back{
      {Mode::Nat, Mode::FullNat, Mode::Tun},
      {},
      "not applicable: in {} nothing reaches the director about a forwarded packet"};
  static const Applicability nat_only{
      {Mode::Nat},
      {},
      "not applicable: the real servers' own traffic does not cross a {} director"};
  static const Applicability tun_only{
      {Mode::Tun}, {}, "not applicable: the tunnel's 20 bytes make PMTU a TUN matter"};
  // What IPVS does with an error about its tunnel does not depend on the scheduler.
  static const Applicability tun_rr{
      {Mode::Tun},
      {"rr"},
      "not applicable: errors about the IPIP tunnel are TUN's; one scheduler (rr) covers them"};
  static const Applicability nat_rr_replies{
      {Mode::Nat},
      {"rr"},
      "not applicable: only NAT's replies cross the director, and the options do not depend "
      "on the scheduler (rr covers them)"};
  static const Applicability rr_only{
      {}, {"rr"}, "not applicable: the state walk is no scheduler's matter; rr's cell runs it"};
  // The local end's allocation does not depend on the scheduler: one cell does.
  static const Applicability fullnat_rr{
      {Mode::FullNat},
      {"rr"},
      "not applicable: local addresses and ports are FULLNAT's; one scheduler (rr) covers them"};
  // The director's own stack answers, whatever the method and scheduler; the cell waits 30 s.
  static const Applicability nat_rr{
      {Mode::Nat},
      {"rr"},
      "not applicable: the director's own reassembly, run once (nat/rr): it waits 30 s"};
  static const Applicability listing_rr{
      {},
      {"rr"},
      "not applicable: the listings' columns do not depend on the scheduler (the rr cells "
      "check them)"};
  static const std::vector<ScenarioKind> all{
      // name, protocols, IPv6 protocols, where it runs, what it does
      {"rewrite", {Tcp, Udp, Icmp, Sctp}, {Tcp, Udp}, everywhere, kinds::rewrite},
      {"scheduler", {Tcp}, {Tcp}, everywhere, kinds::scheduler},
      {"connection", {Tcp}, {Tcp}, everywhere, kinds::connection},
      {"persistence", {Tcp}, {Tcp}, everywhere, kinds::persistence},
      {"weight0", {Tcp}, {Tcp}, everywhere, kinds::weight0},
      {"thresholds", {Tcp}, {Tcp}, everywhere, kinds::thresholds},
      {"icmp-error", {Udp}, {Udp}, errors_come_back, kinds::icmp_error},
      {"unknown-flow", {Tcp, Sctp}, {Tcp}, everywhere, kinds::unknown_flow},
      {"pmtu", {Tcp}, {Tcp}, tun_only, kinds::pmtu},
      {"tunnel-error", {Udp}, {}, tun_rr, kinds::tunnel_error},
      {"no-service", {Tcp, Udp, Sctp}, {Tcp, Udp}, everywhere, kinds::no_service},
      {"client-icmp", {Udp}, {Udp}, everywhere, kinds::client_icmp},
      {"ttl-one", {Tcp}, {Tcp}, everywhere, kinds::ttl_one},
      {"unavailable", {Tcp, Udp, Sctp}, {Tcp, Udp}, everywhere, kinds::unavailable},
      {"routed", {Udp}, {Udp}, nat_only, kinds::routed},
      {"port-zero", {Tcp}, {Tcp}, everywhere, kinds::port_zero},
      {"fragments", {Udp}, {Udp}, everywhere, kinds::fragments},
      {"ip-options", {Udp}, {}, everywhere, kinds::ip_options},
      {"reply-options", {Udp}, {}, nat_rr_replies, kinds::reply_options},
      {"bad-checksum", {Tcp, Udp}, {Tcp, Udp}, everywhere, kinds::bad_checksum},
      {"tcp-flags", {Tcp}, {Tcp}, everywhere, kinds::tcp_flags},
      {"states", {Tcp, Udp, Sctp}, {Tcp, Udp}, rr_only, kinds::states},
      {"fullnat-local", {Tcp}, {}, fullnat_rr, kinds::fullnat_local},
      {"reassembly-timeout", {Udp}, {}, nat_rr, kinds::reassembly_timeout},
      {"listing", {Tcp}, {Tcp}, listing_rr, kinds::listing},
  };
  return all;
}

}  // namespace vslab::matrix
