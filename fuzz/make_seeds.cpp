// make_seeds: writes the binary seeds of the frame, reassembly and dataplane targets into
// corpus/<target>/, frames built with libtins (fwd/test_frames.h) on the addresses of
// director_bed.h, so a reviewer can see how each was made. The text seeds (rules, requests,
// topologies, case.toml) and the pcaps are written by hand or copied from the tree.
//
//   build/fuzz/fuzz/make_seeds fuzz/corpus
#include <tins/tins.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "fwd/fragment.h"
#include "fwd/test_frames.h"
#include "records.h"

namespace {

namespace t = vsd::fwd::testing;
using Bytes = t::Bytes;
using Tins::TCP;

std::filesystem::path g_out;

void write(const std::string& target, const std::string& name, const Bytes& bytes) {
  auto dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

const std::string kRouter = t::kRouterMac, kExt = t::kDirectorExtMac, kInt = t::kDirectorIntMac,
                  kRs = t::kRsMac;
constexpr const char* kVip = "10.0.0.100";

// A client's segment, from behind the router.
Bytes client_tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                 uint16_t flags, std::size_t payload = 10) {
  auto pdu = Tins::EthernetII(kExt, kRouter) / t::ipv4(src, dst) / t::tcp(sport, dport, flags) /
             Tins::RawPDU(t::payload_bytes(payload));
  return t::serialize(pdu);
}
Bytes client_udp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                 std::size_t payload = 22, bool df = true) {
  auto ip = t::ipv4(src, dst);
  if (!df) ip.flags(Tins::IP::Flags(0));
  auto pdu = Tins::EthernetII(kExt, kRouter) / ip / Tins::UDP(dport, sport) /
             Tins::RawPDU(t::payload_bytes(payload));
  return t::serialize(pdu);
}
// A real server's segment to the director's side.
Bytes server_tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                 uint16_t flags) {
  auto pdu = Tins::EthernetII(kInt, kRs) / t::ipv4(src, dst) / t::tcp(sport, dport, flags) /
             Tins::RawPDU(t::payload_bytes(10));
  return t::serialize(pdu);
}
Bytes echo_request(const std::string& src, const std::string& dst) {
  auto pdu = Tins::EthernetII(kExt, kRouter) / t::ipv4(src, dst) /
             Tins::ICMP(Tins::ICMP::ECHO_REQUEST) / Tins::RawPDU(t::payload_bytes(16));
  return t::serialize(pdu);
}
Bytes with_record_route(const std::string& src, const std::string& dst, uint16_t dport) {
  auto ip = t::ipv4(src, dst);
  ip.add_option(t::record_route_option());
  auto pdu = Tins::EthernetII(kExt, kRouter) / ip / t::tcp(40000, dport, TCP::SYN);
  return t::serialize(pdu);
}
// A real server's port unreachable about what the director sent it (CIP -> RIP).
Bytes server_port_unreachable(const std::string& rip, const std::string& cip, uint16_t rport,
                              uint16_t cport) {
  auto quoted = t::ipv4(cip, rip) / Tins::UDP(rport, cport) / Tins::RawPDU(t::payload_bytes(4));
  return t::icmp_error_frame(kRs, kInt, rip, cip, 3, 3, t::quote_of(quoted));
}
// A real server's frag-needed about a tunnelled packet: the quote is the IPIP header.
Bytes server_tunnel_error(const std::string& rip, const std::string& cip, uint16_t cport) {
  auto inner = t::ipv4(cip, kVip) / t::tcp(cport, 83, TCP::SYN);
  Bytes inner_bytes = inner.serialize();
  auto outer = t::ipv4(t::kDip, rip);
  Bytes quote = outer.serialize();
  quote.resize(20);
  quote[9] = 4;  // IPIP: libtins writes the protocol of the PDU inside, here none
  t::put_be16(quote, 2, uint16_t(20 + inner_bytes.size()));
  quote.insert(quote.end(), inner_bytes.begin(), inner_bytes.begin() + 28);
  return t::icmp_error_frame(kRs, kInt, rip, t::kDip, 3, 4, quote, 1400);
}
// A client's error about a reply it got (VIP:vport -> CIP:cport).
Bytes client_port_unreachable(const std::string& cip, uint16_t cport, uint16_t vport) {
  auto quoted = t::ipv4(kVip, cip) / Tins::UDP(cport, vport) / Tins::RawPDU(t::payload_bytes(4));
  return t::icmp_error_frame(kRouter, kExt, cip, kVip, 3, 3, t::quote_of(quoted));
}

// The datagram's fragments of at most `size` bytes of IP.
std::vector<Bytes> fragments(Bytes frame, uint16_t size) {
  t::put_be16(frame, 20, 0);  // no DF
  t::fix_ip_checksum(frame);
  std::vector<uint8_t> memory(16 * 2048);
  std::array<vsd::fwd::FragmentBuffer, 16> outs;
  for (std::size_t i = 0; i < outs.size(); ++i)
    outs[i] = {std::span(memory).subspan(i * 2048, 2048), 0};
  std::size_t n = vsd::fwd::fragment_ipv4(frame, size, outs);
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < n; ++i)
    out.emplace_back(outs[i].buffer.begin(), outs[i].buffer.begin() + long(outs[i].length));
  return out;
}

// Records (records.h): (tag, frame) in order.
Bytes records(const std::vector<std::pair<uint8_t, Bytes>>& list) {
  Bytes out;
  for (const auto& [tag, frame] : list) vslab::fuzz::append_record(out, tag, frame);
  return out;
}

constexpr uint8_t kFromClient = 0, kFromServer = 1, kLookAhead = 0x80;
// A record that only moves the clock by `tens` * 10 s (records.h, dataplane_fuzz.cpp).
std::pair<uint8_t, Bytes> wait(uint8_t tens) {
  return {uint8_t(0x40 | (tens & 31) << 1), {}};
}

// The director's neighbours: the router and the real servers make themselves known.
std::vector<std::pair<uint8_t, Bytes>> neighbours() {
  std::vector<std::pair<uint8_t, Bytes>> list = {
      {kFromClient, t::arp_request_from(t::mac(kRouter), "10.0.0.254", "10.0.0.1")}};
  for (const char* rs : {"192.168.1.11", "192.168.1.12", "192.168.1.13"})
    list.push_back({kFromServer, t::arp_request_from(t::mac(kRs), rs, "192.168.1.1")});
  return list;
}

std::vector<std::pair<uint8_t, Bytes>> with_neighbours(
    std::vector<std::pair<uint8_t, Bytes>> frames) {
  auto list = neighbours();
  list.insert(list.end(), frames.begin(), frames.end());
  return list;
}

void frame_seeds() {
  write("frame", "tcp-syn", client_tcp("172.16.0.1", 40000, kVip, 80, TCP::SYN));
  write("frame", "tcp-ack-payload", client_tcp("172.16.0.1", 40000, kVip, 80, TCP::ACK, 100));
  write("frame", "udp", client_udp("172.16.0.1", 40001, kVip, 53));
  write("frame", "udp-big-no-df", client_udp("172.16.0.1", 40001, kVip, 83, 1600, false));
  write("frame", "echo-request", echo_request("172.16.0.1", kVip));
  write("frame", "record-route", with_record_route("172.16.0.1", kVip, 80));
  write("frame", "server-reply",
        server_tcp("192.168.1.11", 8080, "172.16.0.1", 40000, TCP::SYN | TCP::ACK));
  write("frame", "server-port-unreachable",
        server_port_unreachable("192.168.1.11", "172.16.0.1", 53, 40001));
  write("frame", "server-tunnel-frag-needed",
        server_tunnel_error("192.168.1.13", "172.16.0.1", 40000));
  write("frame", "client-port-unreachable", client_port_unreachable("172.16.0.1", 40001, 53));
  write("frame", "arp-request", t::arp_request_from(t::mac(kRouter), "10.0.0.254", kVip));
  auto pieces = fragments(client_udp("172.16.0.1", 40001, kVip, 53, 1200), 576);
  write("frame", "first-fragment", pieces.front());
  write("frame", "last-fragment", pieces.back());
}

void reassembly_seeds() {
  auto two = fragments(client_udp("172.16.0.1", 40001, kVip, 53, 1000), 576);
  std::vector<std::pair<uint8_t, Bytes>> in_order, reversed, late;
  for (auto& f : two) in_order.push_back({0, f});
  for (auto it = two.rbegin(); it != two.rend(); ++it) reversed.push_back({1, *it});
  write("reassembly", "in-order", records(in_order));
  write("reassembly", "reversed", records(reversed));
  late = {{0, two.front()}, {40, two.back()}};  // the rest after the 30 s timeout
  write("reassembly", "timed-out", records(late));
  auto three = fragments(client_tcp("172.16.0.2", 40000, kVip, 80, TCP::ACK, 1400), 520);
  std::vector<std::pair<uint8_t, Bytes>> dup;
  for (auto& f : three) dup.push_back({0, f});
  dup.push_back({0, three[1]});
  write("reassembly", "tcp-duplicate", records(dup));
}

void dataplane_seeds() {
  write("dataplane", "nat-tcp",
        records(with_neighbours(
            {{kFromClient, client_tcp("172.16.0.1", 40000, kVip, 80, TCP::SYN)},
             {kFromServer,
              server_tcp("192.168.1.11", 8080, "172.16.0.1", 40000, TCP::SYN | TCP::ACK)},
             {kFromClient | kLookAhead, client_tcp("172.16.0.1", 40000, kVip, 80, TCP::ACK)},
             {kFromClient, client_tcp("172.16.0.1", 40000, kVip, 80, TCP::FIN | TCP::ACK)},
             wait(13)})));
  write("dataplane", "nat-udp-and-errors",
        records(with_neighbours(
            {{kFromClient, client_udp("172.16.0.1", 40001, kVip, 53)},
             {kFromServer, server_port_unreachable("192.168.1.11", "172.16.0.1", 53, 40001)},
             {kFromClient, client_port_unreachable("172.16.0.1", 40001, 53)}})));
  write("dataplane", "fullnat-toa",
        records(with_neighbours({{kFromClient, client_tcp("172.16.0.3", 40002, kVip, 81, TCP::SYN)},
                                 {kFromServer, server_tcp("192.168.1.11", 8080, "192.168.1.2", 1024,
                                                          TCP::SYN | TCP::ACK)},
                                 {kFromClient, client_tcp("172.16.0.3", 40002, kVip, 81, TCP::ACK)},
                                 {kFromClient, client_udp("172.16.0.3", 40003, kVip, 81)}})));
  write("dataplane", "dr-tun",
        records(with_neighbours(
            {{kFromClient, client_tcp("172.16.0.4", 40004, kVip, 82, TCP::SYN)},
             {kFromClient, client_tcp("172.16.0.4", 40005, kVip, 83, TCP::SYN)},
             {kFromClient, client_udp("172.16.0.4", 40006, kVip, 83, 1600, false)},
             {kFromServer, server_tunnel_error("192.168.1.13", "172.16.0.4", 40005)}})));
  write("dataplane", "persistence-port0-fwmark",
        records(with_neighbours(
            {{kFromClient, client_tcp("172.16.0.5", 40007, kVip, 443, TCP::SYN)},
             {kFromClient, client_tcp("172.16.0.5", 40008, kVip, 443, TCP::SYN)},
             {kFromClient, client_udp("172.16.0.5", 40009, "10.0.0.101", 5000)},
             {kFromClient, client_tcp("172.16.0.5", 40010, "172.20.0.5", 443, TCP::SYN)},
             wait(31),
             wait(31)})));
  auto pieces = fragments(client_udp("172.16.0.6", 40011, kVip, 53, 1400), 576);
  std::vector<std::pair<uint8_t, Bytes>> frag;
  for (auto& f : pieces) frag.push_back({kFromClient, f});
  write("dataplane", "fragments", records(with_neighbours(frag)));
  // Only the first: the datagram times out, and its sender hears of it.
  write("dataplane", "reassembly-timeout",
        records(with_neighbours({{kFromClient, pieces.front()}, wait(4)})));
  write("dataplane", "director-answers",
        records({{kFromClient, echo_request("172.16.0.7", kVip)},
                 {kFromClient, client_tcp("172.16.0.7", 40012, kVip, 99, TCP::SYN)},
                 {kFromClient, client_udp("172.16.0.7", 40013, kVip, 99)},
                 {kFromClient, client_tcp("172.16.0.7", 40014, kVip, 80, TCP::ACK)},
                 {kFromClient, client_tcp("172.16.0.7", 40015, "192.168.1.50", 22, TCP::SYN)},
                 {kFromClient, with_record_route("172.16.0.7", kVip, 80)},
                 {kFromServer,
                  t::arp_reply(t::mac(kInt), "192.168.1.1", "192.168.1.50", t::mac(kRs))}}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR (fuzz/corpus)\n";
    return 2;
  }
  g_out = argv[1];
  frame_seeds();
  reassembly_seeds();
  dataplane_seeds();
  std::cout << "wrote the frame, reassembly and dataplane seeds under " << g_out.string() << "\n";
  return 0;
}
