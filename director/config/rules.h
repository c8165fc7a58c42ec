// The director's configuration as ipvsadm describes it: virtual services, their real servers
// (destinations), FULLNAT local addresses and the timeouts, plus vsd's packet classifier (the
// rules that give packets the firewall mark fwmark services match). What vsadm edits, what
// `-S` prints, and what the data plane reads as an immutable snapshot.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/addr.h"
#include "net/ip_addr.h"

namespace vsd {

enum class Method : uint8_t { Nat, Dr, Tun, FullNat };
// "Masq", "Route", "Tunnel", "FullNat" (ipvsadm -L spelling; FullNat as DPVS lists it).
std::string_view method_name(Method m);

struct Destination {
  IpEndpoint addr;               // RIP:rport. DR and TUN force rport to the service port (spec 2)
  Method method = Method::Dr;    // ipvsadm's default is -g
  uint32_t weight = 1;           // 0 = quiescent
  uint32_t upper_threshold = 0;  // -x, 0 = none
  uint32_t lower_threshold = 0;  // -y
  bool operator==(const Destination&) const = default;
};

// (protocol, VIP, vport), or a firewall mark when fwmark != 0. The kernel keys fwmark services
// by (mark, family): `-f 7` and `-f 7 -6` are two services, so a fwmark key's vip is the zero
// address of its family (port 0).
struct ServiceKey {
  Proto proto = Proto::Tcp;  // for fwmark services: the protocol is not part of the key
  IpEndpoint vip;
  uint32_t fwmark = 0;
  bool operator==(const ServiceKey&) const = default;
  Family family() const { return vip.addr.family; }
  std::string str() const;  // "TCP 10.0.0.1:80", "TCP [2001:db8::1]:80", "FWM 7", "FWM 7 IPv6"
};

// For indexes by key: rule sets of 100k services are looked up, never scanned.
struct ServiceKeyHash {
  std::size_t operator()(const ServiceKey& k) const noexcept {
    const uint64_t a =
        uint64_t(hash_of(k.vip.addr)) ^ (uint64_t(k.vip.port) << 16 | uint64_t(uint8_t(k.proto)));
    return std::size_t((a ^ (uint64_t(k.fwmark) * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull >>
                       17);
  }
};

struct Service {
  ServiceKey key;
  std::string scheduler = "wlc";         // ipvsadm's default
  std::vector<std::string> sched_flags;  // -b: sh-fallback, sh-port, mh-fallback, mh-port
  bool persistent = false;
  uint32_t persistence_timeout = 360;                   // seconds; -p without a value means 360
  Ipv4 persistence_mask = Ipv4::from_host(0xffffffff);  // -M of an IPv4 service
  // -M of an IPv6 service: a prefix length (1..128), as the kernel and ipvsadm take it.
  uint8_t persistence_prefix6 = 128;
  bool one_packet = false;  // -o (UDP)
  // --pe: "" or "sip", the kernel's one persistence engine (ip_vs_pe_sip): a persistent
  // service's templates are keyed by the datagram's SIP Call-ID too (docs/ipvs.md).
  std::string persistence_engine;
  // --toa: FULLNAT TCP connections tell the real server the client's address in a TCP option
  // (spec 2 FULLNAT, DPVS's TOA); nothing for other methods.
  bool toa = false;
  // In scheduling order: a new destination goes to the head of the list (ip_vs_ctl.c
  // __ip_vs_add_dest), so the newest is first.
  std::vector<Destination> destinations;
  std::vector<Ipv4> local_addresses;     // FULLNAT pool (--add-laddr) of an IPv4 service
  std::vector<IpAddr> local_addresses6;  // and of an IPv6 one: kept apart, as the IPv4 path reads
                                         // its pool per packet
  bool operator==(const Service&) const = default;

  Family family() const { return key.family(); }
  const Destination* find_destination(const IpEndpoint& rip) const;
};

// Which packets a mark rule takes. IPVS schedules only TCP and UDP here, so "any" is either.
enum class MarkProto : uint8_t { Any, Tcp, Udp };
std::string_view mark_proto_name(MarkProto p);  // "tcp", "udp", "any" (vsadm --proto)

// One rule of vsd's classifier (vsadm --add-mark). Kernel IPVS reads a packet's mark from
// netfilter (an iptables or nft MARK rule); vsd sees frames before netfilter, so it marks them
// itself. Rules are tried in order and the first that takes the packet gives the mark.
struct MarkRule {
  uint32_t mark = 0;  // never 0: 0 is "no mark"
  MarkProto proto = MarkProto::Any;
  IpAddr dest;             // a network address of either family: no bits set past prefix_len
  uint8_t prefix_len = 0;  // 0..32 (IPv4) or 0..128 (IPv6); 0.0.0.0/0 takes every IPv4 one

  uint16_t dport_min = 0;  // inclusive range
  uint16_t dport_max = 65535;
  bool operator==(const MarkRule&) const = default;

  // An IPv4 rule marks IPv4 packets only and an IPv6 one IPv6 packets only, as iptables and
  // ip6tables are separate tables.
  Family family() const { return dest.family; }
  unsigned max_prefix_len() const { return family() == Family::V4 ? 32 : 128; }
  // Whether dest has no bits set past prefix_len (the data plane relies on it).
  bool dest_is_network() const { return dest.prefix(prefix_len) == dest; }
};

struct Timeouts {
  uint32_t tcp = 900;      // ESTABLISHED
  uint32_t tcp_fin = 120;  // FIN_WAIT
  uint32_t udp = 300;
  bool operator==(const Timeouts&) const = default;
};

struct RuleSet {
  std::vector<Service> services;  // in creation order
  Timeouts timeouts;
  std::vector<MarkRule> marks;  // the classifier, in evaluation order
  bool operator==(const RuleSet&) const = default;

  Service* find_service(const ServiceKey& key);
  const Service* find_service(const ServiceKey& key) const;
};

}  // namespace vsd
