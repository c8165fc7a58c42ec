// The selftest over IPv6: a Linux router forwards IPv6 as RFC 8200 says (hop limit - 1, MACs
// rewritten, nothing else changed, a fragment passed on untouched: routers never reassemble),
// resolving its neighbours by NDP, and the server's kernel answers an ICMPv6 echo.
#include <fmt/core.h>

#include "frames/frame_builder.h"
#include "selftest/selftest.h"

namespace vslab::selftest {
namespace {

using expect::Field;

}  // namespace

Row SelftestBed::tcp6_syn_is_routed() {
  auto sent = frames::frame()
                  .eth(client_->mac(), router_client_mac_)
                  .ipv6(client_ip6_, server_ip6_)
                  .tos(0x28)
                  .flow_label(0x76735)
                  .tcp(40010, 80)
                  .flags(frames::SYN)
                  .seq(1000)
                  .window(64240)
                  .pdu();
  client_->send(sent);
  return row("IPv6 TCP SYN client -> server: MACs rewritten, hop limit - 1", *server_,
             checker_->expect_frame(*server_, routed_to_server(sent)));
}

Row SelftestBed::udp6_fragment_is_routed() {
  // The first of two fragments of a UDP datagram; only the destination reassembles.
  auto sent = frames::frame()
                  .eth(client_->mac(), router_client_mac_)
                  .ipv6(client_ip6_, server_ip6_)
                  .udp(40011, 53)
                  .payload(std::string(200, 'f'))
                  .fragment6(0x7673, 0, true, 104)
                  .pdu();
  client_->send(sent);
  return row("IPv6 first fragment client -> server: forwarded as it is, hop limit - 1", *server_,
             checker_->expect_frame(*server_, routed_to_server(sent)));
}

Row SelftestBed::echo6_reply_comes_back() {
  const char* check = "ICMPv6 echo reply server -> client comes back routed";
  auto request = frames::frame()
                     .eth(client_->mac(), router_client_mac_)
                     .ipv6(client_ip6_, server_ip6_)
                     .echo6_request(0x7675, 3)
                     .payload("echo me over IPv6")
                     .pdu();
  client_->send(request);
  auto forwarded = checker_->expect_frame(*server_, routed_to_server(request));
  if (!forwarded.ok) return row(check, *server_, forwarded);
  // The server's kernel answers with its default hop limit 64; the router takes one off. Its
  // flow label is the kernel's own choice (auto_flowlabels).
  auto reply = frames::frame()
                   .eth(router_client_mac_, client_->mac())
                   .ipv6(server_ip6_, client_ip6_)
                   .ttl(63)
                   .echo6_reply(0x7675, 3)
                   .payload("echo me over IPv6")
                   .pdu();
  expect::FrameExpectation want(reply);
  want.ignore(Field::IpFlowLabel);
  return row(check, *client_, checker_->expect_frame(*client_, want));
}

std::vector<Row> SelftestBed::ipv6_rows() {
  if (client_ip6_.empty() || server_ip6_.empty()) return {};
  return {tcp6_syn_is_routed(), udp6_fragment_is_routed(), echo6_reply_comes_back()};
}

}  // namespace vslab::selftest
