#include "selftest/selftest.h"

#include <stdexcept>

#include <fmt/core.h>

#include "topology/parse.h"

namespace vslab::selftest {
namespace {

using expect::Field;

const topo::Node& node_with_role(const topo::Topology& t, const std::string& role) {
  const auto* node = t.find_role(role);
  if (!node || node->interfaces.empty())
    throw std::runtime_error(fmt::format(
        "{}: the selftest needs a node with role '{}' and an interface", t.source_file, role));
  return *node;
}

// The endpoint at the other end of the veth that starts at `end`.
topo::Endpoint peer_of(const topo::Topology& t, const topo::Endpoint& end) {
  for (const auto& link : t.links) {
    if (link.a == end) return link.b;
    if (link.b == end) return link.a;
  }
  throw std::runtime_error(
      fmt::format("{}: {} must be linked directly to the router", t.source_file, end.str()));
}

std::string first_ipv4(const topo::Topology& t, const topo::Endpoint& end) {
  for (const auto& a : t.find_node(end.node)->find_interface(end.ifname)->addresses)
    if (!a.is_v6) return a.address;
  throw std::runtime_error(fmt::format("{}: {} has no IPv4 address", t.source_file, end.str()));
}

std::string first_ipv6(const topo::Topology& t, const topo::Endpoint& end) {
  for (const auto& a : t.find_node(end.node)->find_interface(end.ifname)->addresses)
    if (a.is_v6) return a.address;
  return {};
}

topo::Topology load(const std::string& file) {
  auto parsed = topo::parse_topology_file(file);
  if (!parsed.ok()) {
    std::string all;
    for (const auto& e : parsed.errors) all += e + "\n";
    throw std::runtime_error(all);
  }
  return std::move(*parsed.topology);
}

}  // namespace

SelftestBed::SelftestBed(const std::string& topology_file, const std::string& case_name,
                         std::filesystem::path failure_dir) {
  auto spec = load(topology_file);
  const auto& client = node_with_role(spec, "client");
  const auto& server = node_with_role(spec, "server");
  topo::Endpoint client_end{client.name, client.interfaces.front().name};
  topo::Endpoint server_end{server.name, server.interfaces.front().name};
  auto router_in = peer_of(spec, client_end);
  auto router_out = peer_of(spec, server_end);
  client_ip_ = first_ipv4(spec, client_end);
  server_ip_ = first_ipv4(spec, server_end);
  client_ip6_ = first_ipv6(spec, client_end);
  server_ip6_ = first_ipv6(spec, server_end);
  router_client_mac_ = topo::interface_mac(spec, router_in.node, router_in.ifname);
  router_server_mac_ = topo::interface_mac(spec, router_out.node, router_out.ifname);

  live_ = std::make_unique<topo::LiveTopology>(std::move(spec));
  client_ = std::make_unique<port::Port>(live_->netns(client_end.node), client_end.ifname,
                                         client_end.node + "-" + client_end.ifname);
  server_ = std::make_unique<port::Port>(live_->netns(server_end.node), server_end.ifname,
                                         server_end.node + "-" + server_end.ifname);
  checker_ = std::make_unique<check::FrameChecker>(
      case_name, std::vector<port::Port*>{client_.get(), server_.get()}, std::move(failure_dir));
}

Tins::EthernetII SelftestBed::client_frame(const Tins::PDU& l4, uint8_t ttl) const {
  Tins::IP ip(server_ip_, client_ip_);
  ip.ttl(ttl);
  ip.id(0x1234);
  ip.flags(Tins::IP::DONT_FRAGMENT);
  ip.inner_pdu(l4.clone());
  return Tins::EthernetII(router_client_mac_, client_->mac()) / ip;
}

expect::FrameExpectation SelftestBed::routed_to_server(const Tins::EthernetII& sent) const {
  const auto* ip6 = sent.find_pdu<Tins::IPv6>();
  int ttl = ip6 ? ip6->hop_limit() : sent.rfind_pdu<Tins::IP>().ttl();
  expect::FrameExpectation want(sent);
  // A router rewrites the MACs and decrements the TTL (RFC 1812 5.3.1) or the hop limit
  // (RFC 8200 3); the rest stays.
  want.eth_src(router_server_mac_).eth_dst(server_->mac()).ttl(ttl - 1);
  return want;
}

Row SelftestBed::tcp_syn_is_routed() {
  Tins::TCP syn(80, 40000);
  syn.flags(Tins::TCP::SYN);
  syn.seq(1000);
  syn.window(64240);
  auto frame = client_frame(syn);
  client_->send(frame);
  return row("TCP SYN client -> server: MACs rewritten, TTL - 1", *server_,
             checker_->expect_frame(*server_, routed_to_server(frame)));
}

Row SelftestBed::udp_is_routed() {
  Tins::UDP udp(53, 40001);
  auto frame = client_frame(udp / Tins::RawPDU("vslab selftest"));
  client_->send(frame);
  return row("UDP client -> server: MACs rewritten, TTL - 1", *server_,
             checker_->expect_frame(*server_, routed_to_server(frame)));
}

Row SelftestBed::udp_zero_checksum_stays_zero() {
  // libtins always computes the UDP checksum, so zero it in the serialised bytes; the IPv4
  // header is untouched, so its checksum stays right.
  auto frame = client_frame(Tins::UDP(5353, 40002) / Tins::RawPDU("no checksum"));
  auto bytes = frame.serialize();
  const std::size_t udp_checksum_at = 14 + 20 + 6;
  bytes[udp_checksum_at] = bytes[udp_checksum_at + 1] = 0;
  client_->send(bytes);
  auto want = routed_to_server(frame);
  want.expect_text(Field::L4Checksum, "zero");
  return row("UDP with checksum 0 arrives with checksum 0", *server_,
             checker_->expect_frame(*server_, want));
}

Row SelftestBed::icmp_echo_is_routed() {
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x7673);
  echo.sequence(1);
  auto frame = client_frame(echo / Tins::RawPDU("ping from vslab"));
  client_->send(frame);
  return row("ICMP echo client -> server: MACs rewritten, TTL - 1", *server_,
             checker_->expect_frame(*server_, routed_to_server(frame)));
}

Row SelftestBed::echo_reply_comes_back() {
  Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
  echo.id(0x7674);
  echo.sequence(2);
  auto request = client_frame(echo / Tins::RawPDU("echo me"));
  client_->send(request);
  auto forwarded = checker_->expect_frame(*server_, routed_to_server(request));
  if (!forwarded.ok)
    return row("ICMP echo reply server -> client comes back routed", *server_, forwarded);

  // The server's kernel answers with TTL 64 (its default), and the router takes one off.
  Tins::ICMP reply(Tins::ICMP::ECHO_REPLY);
  reply.id(0x7674);
  reply.sequence(2);
  Tins::IP ip(client_ip_, server_ip_);
  ip.ttl(63);
  expect::FrameExpectation want(Tins::EthernetII(client_->mac(), router_client_mac_) / ip / reply /
                                Tins::RawPDU("echo me"));
  // The server's stack picks the reply's IP ID and DF bit itself.
  want.ignore(Field::IpId).ignore(Field::IpDf);
  return row("ICMP echo reply server -> client comes back routed", *client_,
             checker_->expect_frame(*client_, want));
}

Row SelftestBed::nothing_else_reaches_server() {
  return row("no other frame reaches the server (ARP and NDP aside)", *server_,
             checker_->expect_no_other_frames({server_.get()}));
}

std::vector<Row> SelftestBed::reachability() {
  std::vector<Row> rows;
  for (const auto& reach : live_->topology().reachability) {
    check::CheckResult r;
    r.ok = live_->ping(reach.from, reach.to);
    r.summary = r.ok ? "echo reply received" : "no echo reply within 3 s";
    r.report = r.summary;
    rows.push_back({fmt::format("ping {} from {}", reach.to, reach.from), reach.from, r});
  }
  return rows;
}

std::vector<Row> SelftestBed::run_all() {
  std::vector<Row> rows;
  rows.push_back(tcp_syn_is_routed());
  rows.push_back(udp_is_routed());
  rows.push_back(udp_zero_checksum_stays_zero());
  rows.push_back(icmp_echo_is_routed());
  rows.push_back(echo_reply_comes_back());
  for (auto& r : ipv6_rows()) rows.push_back(std::move(r));
  rows.push_back(nothing_else_reaches_server());
  for (auto& r : reachability()) rows.push_back(std::move(r));
  return rows;
}

std::string format_table(const std::vector<Row>& rows) {
  std::size_t check_width = 5, port_width = 4;
  for (const auto& r : rows) {
    check_width = std::max(check_width, r.check.size());
    port_width = std::max(port_width, r.port.size());
  }
  std::string out =
      fmt::format("  {:<{}}  {:<{}}  result\n", "check", check_width, "port", port_width);
  std::size_t passed = 0;
  for (const auto& r : rows) {
    passed += r.result.ok;
    out += fmt::format("  {:<{}}  {:<{}}  {}\n", r.check, check_width, r.port, port_width,
                       r.result.ok ? "pass" : "FAIL");
  }
  for (const auto& r : rows)
    if (!r.result.ok) out += fmt::format("\nFAIL {}:\n{}\n", r.check, r.result.report);
  out += fmt::format("{} passed, {} failed\n", passed, rows.size() - passed);
  return out;
}

}  // namespace vslab::selftest
