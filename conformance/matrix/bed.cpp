#include "matrix/bed.h"

#include <stdexcept>

#include <fmt/format.h>

namespace vslab::matrix {

namespace {
std::string method_switch(Mode mode) {
  switch (mode) {
    case Mode::Nat:
      return "-m";
    case Mode::Dr:
      return "-g";
    case Mode::Tun:
      return "-i";
    case Mode::FullNat:
      return "-b";  // as DPVS's ipvsadm spells it
  }
  throw std::logic_error("a mode without a method switch");
}

std::string first_address(const topo::Node& node) {
  for (const auto& a : node.interfaces.front().addresses)
    if (!a.is_v6) return a.address;
  return {};
}
}  // namespace

MatrixBed::MatrixBed(Mode mode, std::unique_ptr<dut::Dut> dut) : mode_(mode) {
  const std::string topology(name(mode));
  bed_ =
      std::make_unique<conformance::ModeBed>(topology, "matrix-" + topology, true, std::move(dut));
}

void MatrixBed::fresh_service() {
  // 1024.. stays clear of the real servers' 8080 and of the client ports (20000..).
  vport_ = vport_ < 1024 ? 1024 : uint16_t(vport_ + 1);
  // Another cell's clients: the barrier of this one orders none of its frames, and their
  // family's VIP may have no service in this cell's rules to answer an echo.
  other_clients_.clear();
  if (vport_ >= 8000) throw std::runtime_error("the bed ran out of fresh virtual ports");
}

uint16_t MatrixBed::rport() const {
  // NAT and FULLNAT translate to a port of their own; DR and TUN cannot change the port.
  return replies_pass_director(mode_) ? 8080 : vport_;
}

std::string MatrixBed::lip() const {
  const auto& pool = bed_->topology().lvs.local_addresses;
  return pool.empty() ? std::string() : pool.front();
}

std::string MatrixBed::rules(Proto proto, std::string_view scheduler,
                             const std::vector<int>& weights, const std::string& service_options,
                             const std::string& server_options, Family family) const {
  const bool v6 = family == Family::Ipv6;
  auto endpoint = [v6](const std::string& address, uint16_t port) {
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  };
  const char* option = proto == Proto::Udp    ? "-u "
                       : proto == Proto::Sctp ? "--sctp-service "
                                              : "-t ";
  const std::string service = option + endpoint(v6 ? vip6() : bed_->vip(), vport_);
  // -C first: a restore adds to what is there, as ipvsadm -R does.
  std::string out = fmt::format("-C\n-A {} -s {}{}\n", service, scheduler,
                                service_options.empty() ? "" : " " + service_options);
  for (int rs = 1; rs <= int(weights.size()); ++rs)
    out += fmt::format("-a {} -r {} {} -w {}{}\n", service,
                       endpoint(v6 ? ipv6_of("rs" + std::to_string(rs)) : rip(rs), rport()),
                       method_switch(mode_), weights[rs - 1],
                       server_options.empty() ? "" : " " + server_options);
  if (mode_ == Mode::FullNat)
    out += fmt::format("--add-laddr -z {} {}\n", v6 ? lip6() : lip(), service);
  return out;
}

std::vector<std::string> MatrixBed::server_args(int rs, Family family) const {
  const std::string address =
      family == Family::Ipv6 ? "[" + ipv6_of("rs" + std::to_string(rs)) + "]" : rip(rs);
  return {"-r", address + ":" + std::to_string(rport()), method_switch(mode_)};
}

std::string MatrixBed::service_address(Family family) const {
  const std::string address = family == Family::Ipv6 ? "[" + vip6() + "]" : bed_->vip();
  return address + ":" + std::to_string(vport_);
}

Tins::EthernetII MatrixBed::tcp_in(Family family, uint8_t flags, uint16_t cport,
                                   const std::string& client, uint32_t seq, uint32_t ack) {
  return family == Family::Ipv6 ? tcp6_from_client(flags, cport, seq, client, ack)
                                : tcp_from_client(flags, cport, client, seq, ack);
}

uint16_t MatrixBed::next_client_port() {
  if (next_port_ >= 60000) next_port_ = 20000;
  return next_port_++;
}

Tins::EthernetII MatrixBed::tcp_from_client(uint8_t flags, uint16_t cport,
                                            const std::string& client, uint32_t seq, uint32_t ack) {
  Tins::TCP tcp(vport_, cport);
  tcp.flags(flags);
  tcp.seq(seq);
  if (flags & Tins::TCP::ACK) tcp.ack_seq(ack);
  tcp.window(64240);
  auto frame = bed_->from_client(tcp);
  if (!client.empty()) {
    frame.rfind_pdu<Tins::IP>().src_addr(client);
    if (other_clients_.insert(client).second) bed_->hold_client_address(client);
  }
  return frame;
}

Tins::EthernetII MatrixBed::udp_from_client(uint16_t cport, const std::string& payload) {
  return bed_->from_client(Tins::UDP(vport_, cport) / Tins::RawPDU(payload));
}

Tins::EthernetII MatrixBed::sctp_from_client(uint16_t cport, uint8_t chunk_type, uint32_t tag) {
  // The verification tag of every packet but an INIT is the peer's initiate tag (RFC 9260 8.5).
  const uint32_t vtag = chunk_type == frames::sctp::kInit ? 0 : tag + 0x100;
  auto frame = bed_->from_client(Tins::RawPDU(
      frames::sctp_packet(cport, vport_, vtag, {frames::sctp_chunk(chunk_type, tag, "request")})));
  frame.rfind_pdu<Tins::IP>().protocol(frames::kProtoSctp);
  return frame;
}

expect::FrameExpectation MatrixBed::at_real_server(const Tins::EthernetII& sent, int rs) const {
  if (sent.find_pdu<Tins::IPv6>()) return at_real_server6(sent, rs);
  switch (mode_) {
    case Mode::Nat:
      return bed_->nat_at_real_server(sent, rs, rport());
    case Mode::Dr:
      return dr_at_real_server(sent, rs);
    case Mode::Tun:
      return tun_at_real_server(sent, rs);
    case Mode::FullNat:
      return fullnat_at_real_server(sent, rs);
  }
  throw std::logic_error("a mode with no expectation at the real server");
}

expect::FrameExpectation MatrixBed::dr_at_real_server(const Tins::EthernetII& sent, int rs) const {
  // Spec 2: only the destination MAC changes (and TTL, one hop each for router and director).
  expect::FrameExpectation want(sent);
  want.eth_src(bed_->mac("director", "eth0")).eth_dst(bed_->rs(rs).mac).ttl(62);
  return want;
}

expect::FrameExpectation MatrixBed::tun_at_real_server(const Tins::EthernetII& sent, int rs) const {
  auto& host = bed_->rs(rs);
  // Spec 2: the packet, TTL already decremented, inside DIP -> RIP; outer TTL, TOS and DF
  // from the inner header, ID 0 with DF; the router before the real servers takes one off.
  const auto& sent_ip = sent.rfind_pdu<Tins::IP>();
  Tins::IP inner = sent_ip;
  inner.ttl(62);
  Tins::IP outer(host.ip, first_address(*bed_->topology().find_role("director")));
  outer.ttl(61);
  outer.tos(sent_ip.tos());
  if (sent_ip.flags() & Tins::IP::DONT_FRAGMENT) {
    outer.id(0);
    outer.flags(Tins::IP::DONT_FRAGMENT);
  }
  outer.protocol(4);
  expect::FrameExpectation want(Tins::EthernetII(host.mac, bed_->mac("router", "eth2")) / outer /
                                inner);
  if (!(sent_ip.flags() & Tins::IP::DONT_FRAGMENT)) want.ignore(expect::Field::IpId);
  return want;
}

expect::FrameExpectation MatrixBed::fullnat_at_real_server(const Tins::EthernetII& sent,
                                                           int rs) const {
  // Spec 2: LIP:lport -> RIP:rport, TTL as NAT.
  expect::FrameExpectation want(sent);
  want.eth_src(bed_->mac("director", "eth1"))
      .eth_dst(bed_->rs(rs).mac)
      .ip_src(lip())
      .ip_dst(bed_->rs(rs).ip)
      .ttl(62)
      .dport(rport())
      .in_range(expect::Field::SrcPort, 1024, 65535);
  return want;
}

int MatrixBed::server_reached(const Tins::EthernetII& sent, std::chrono::milliseconds timeout,
                              bool journal) {
  int rs = bed_->claiming_server([&](int rs) { return at_real_server(sent, rs); }, timeout);
  if (rs != 0 && journal)
    bed_->checker().record(*bed_->rs(rs).port, at_real_server(sent, rs), true);
  return rs;
}

void MatrixBed::barrier(Family family) {
  if (!bed_->echo_vip(family == Family::Ipv6, std::chrono::seconds(2)))
    throw std::runtime_error("the director did not answer an echo to the VIP");
  // A director on several cores orders each client's frames, not all of them (kernel IPVS by
  // the CPU a flow's queue lands on, vsd --workers by the client's address): one echo from
  // every client address the scenario used since the last barrier.
  // One more try each: the router may still be resolving a client address held just now.
  for (const std::string& client : other_clients_)
    if ((client.find(':') != std::string::npos) != (family == Family::Ipv6))
      continue;  // an echo to the other family's VIP, which the cell's rules may not serve
    else if (!bed_->echo_vip_from(client, std::chrono::seconds(2)) &&
             !bed_->echo_vip_from(client, std::chrono::seconds(2)))
      throw std::runtime_error("the director did not answer an echo to the VIP from " + client);
  other_clients_.clear();
  // Frames to the real servers cross a router of their own; give them a moment more than the
  // answer took to come back.
  auto settle = std::chrono::steady_clock::now() + std::chrono::milliseconds(25);
  while (std::chrono::steady_clock::now() < settle)
    for (auto* p : bed_->rs_ports())
      p->wait_until([](auto&) { return false; }, std::chrono::milliseconds(3));
}

}  // namespace vslab::matrix
