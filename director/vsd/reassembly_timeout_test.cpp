// A fragmented datagram to a VIP that never completes: vsd drops it after ipfrag_time and, as
// the kernel's ip_expire does for a datagram addressed to the host, tells the sender "fragment
// reassembly time exceeded" (ICMP 11/1) quoting the first fragment; without the first
// fragment it says nothing. vsd runs with --ipfrag-time 1 so the test takes a second.
#include <chrono>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "nat_bed.h"
#include "port/port.h"

namespace vsd {
namespace {

using namespace vslab;
using namespace std::chrono_literals;

uint64_t counter(dut::BuiltinDut& dut, const std::string& name) {
  auto r = dut.admin({"--counters"});
  std::istringstream in(r.output);
  std::string n;
  uint64_t v;
  while (in >> n >> v)
    if (n == name) return v;
  return 0;
}

TEST(VsdReassembly, AnIncompleteDatagramToAVipGetsTimeExceededQuotingItsFirstFragment) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed({"--ipfrag-time", "1"});
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -u 10.20.0.100:53 -s rr\n"
                          "-a -u 10.20.0.100:53 -r 192.168.10.11:53 -m\n")
                  .ok());
  // On the router's side of the router-director link: what vsd sends back arrives here.
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  const auto director_mac = live.mac("director", "eth0");

  // Bytes 0..1479 of a 3000-byte UDP datagram (ID 0x4242): the first fragment, MF set.
  Tins::RawPDU payload(std::vector<uint8_t>(1480, 0xab));
  Tins::IP first("10.20.0.100", "10.10.0.2");
  first.id(0x4242);
  first.ttl(63);
  first.protocol(17);
  first.flags(Tins::IP::MORE_FRAGMENTS);
  first.inner_pdu(payload);
  wire.send((Tins::EthernetII(director_mac, wire.mac()) / first).serialize());
  // And a lone later fragment of another datagram (ID 0x4343): nothing is said about it.
  Tins::IP later("10.20.0.100", "10.10.0.2");
  later.id(0x4343);
  later.ttl(63);
  later.protocol(17);
  later.fragment_offset(185);
  later.inner_pdu(Tins::RawPDU(std::vector<uint8_t>(100, 0xcd)));
  wire.send((Tins::EthernetII(director_mac, wire.mac()) / later).serialize());

  auto is_time_exceeded = [](const port::CapturedFrame& f) {
    Tins::EthernetII e(f.bytes.data(), f.bytes.size());
    auto* icmp = e.find_pdu<Tins::ICMP>();
    return icmp && icmp->type() == Tins::ICMP::TIME_EXCEEDED;
  };
  ASSERT_TRUE(wire.wait_until(
      [&](auto& frames) {
        for (const auto& f : frames)
          if (is_time_exceeded(f)) return true;
        return false;
      },
      5s))
      << dut.log();
  // Both datagrams are gone by now or soon; wait for the second to be counted, then check
  // that exactly one error went out.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (counter(dut, "frag_expired") < 2 && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(counter(dut, "frag_expired"), 2u);

  std::vector<Tins::EthernetII> errors;
  for (const auto& f : wire.captured())
    if (is_time_exceeded(f)) errors.emplace_back(f.bytes.data(), f.bytes.size());
  ASSERT_EQ(errors.size(), 1u);
  const auto& e = errors[0];
  // From the director's port to the next hop towards the client, from the VIP (the datagram
  // was addressed to it), as __icmp_send builds errors: TTL 64, TOS 0xc0.
  EXPECT_EQ(e.src_addr(), Tins::HWAddress<6>(director_mac));
  EXPECT_EQ(e.dst_addr(), wire.mac());
  const auto& ip = e.rfind_pdu<Tins::IP>();
  EXPECT_EQ(ip.src_addr(), Tins::IPv4Address("10.20.0.100"));
  EXPECT_EQ(ip.dst_addr(), Tins::IPv4Address("10.10.0.2"));
  EXPECT_EQ(ip.ttl(), 64);
  EXPECT_EQ(ip.tos(), 0xc0);
  const auto& icmp = e.rfind_pdu<Tins::ICMP>();
  EXPECT_EQ(icmp.code(), 1);  // fragment reassembly time exceeded
  // The quote: the first fragment's IP header as it came, then its payload up to 576 bytes
  // for the whole error (576 - 20 - 8 = 548 bytes of quote: 20 of header, 528 of data).
  auto quote = icmp.rfind_pdu<Tins::RawPDU>().payload();
  ASSERT_EQ(quote.size(), 548u);
  Tins::IP quoted_header(quote.data(), 20);
  EXPECT_EQ(quoted_header.id(), 0x4242);
  EXPECT_EQ(quoted_header.tot_len(), 1500);
  EXPECT_EQ(quoted_header.flags(), Tins::IP::MORE_FRAGMENTS);
  EXPECT_EQ(quoted_header.ttl(), 63);
  for (std::size_t i = 20; i < quote.size(); ++i) ASSERT_EQ(quote[i], 0xab) << i;
}

}  // namespace
}  // namespace vsd
