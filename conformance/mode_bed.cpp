#include "mode_bed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "topology/data_dir.h"
#include "topology/netns.h"
#include "topology/parse.h"
#include "topology/script.h"

namespace vslab::conformance {
namespace {

std::string first_ipv4(const topo::Node& node) {
  for (const auto& a : node.interfaces.front().addresses)
    if (!a.is_v6) return a.address;
  throw std::runtime_error(node.name + " has no IPv4 address");
}

// The endpoints that share a segment (a link or a bridge) with `end`, itself included.
std::vector<topo::Endpoint> segment_of(const topo::Topology& t, const topo::Endpoint& end) {
  for (const auto& link : t.links)
    if (link.a == end || link.b == end) return {link.a, link.b};
  for (const auto& bridge : t.bridges)
    for (const auto& port : bridge.ports)
      if (port == end) return bridge.ports;
  return {end};
}

}  // namespace

std::unique_ptr<dut::Dut> dut_from_environment() {
  return dut::make_dut_from_environment(VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY);
}

bool can_build_topologies() {
  return topo::have_net_admin();
}

void ModeTest::SetUp() {
  if (!can_build_topologies())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                    "namespaces";
}

void ModeTest::start(const std::string& mode, const std::string& rules, bool quiet_hosts) {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  bed_ = std::make_unique<ModeBed>(mode, std::string(info->test_suite_name()) + "." + info->name(),
                                   quiet_hosts);
  bed_->restore(rules);
}

void ModeTest::TearDown() {
  if (HasFailure() && bed_) std::cerr << "vsd log:\n" << bed_->dut_log();
}

ModeBed::ModeBed(const std::string& mode, const std::string& case_name, bool quiet_hosts,
                 std::unique_ptr<dut::Dut> dut)
    : dut_(dut ? std::move(dut)
               : std::make_unique<dut::BuiltinDut>(VSLAB_VSD_BINARY, VSLAB_VSADM_BINARY)) {
  auto parsed = topo::parse_topology_file((topo::topology_dir() / (mode + ".toml")).string());
  if (!parsed.ok()) throw std::runtime_error(parsed.errors.front());
  live_ =
      std::make_unique<topo::LiveTopology>(std::move(*parsed.topology), dut_->bring_up_options());
  const auto& t = live_->topology();

  auto open = [&](const topo::Node& node) {
    const auto& ifname = node.interfaces.front().name;
    ports_.push_back(
        // Each host has one port, named after the node: its failure pcaps (in-rs1.pcap) are
        // then those of a case (fixtures/pcap) for the same topology.
        std::make_unique<port::Port>(live_->netns(node.name), ifname, node.name));
    return Host{node.name, first_ipv4(node), ports_.back()->mac(), ports_.back().get()};
  };
  // The hosts' own stacks would answer what reaches them (RSTs, port unreachable): the real
  // servers to forwarded packets, the client to replies of connections it never opened. The
  // checks are about the director, so their kernels see no IPv4 or IPv6 (ARP and neighbour
  // discovery still work, so the director can resolve them). The capture tap runs before this
  // ingress hook.
  auto quiet = [&](const std::string& node) {
    auto drop = live_->exec(node, {"nft", topo::quiet_host_nft("eth0")});
    if (!drop.ok()) throw std::runtime_error("nft on " + node + ": " + drop.output);
  };
  client_ = open(*t.find_role("client"));
  for (int i = 1; i <= 3; ++i) {
    const auto* rs = t.find_role("rs" + std::to_string(i));
    if (!rs) throw std::runtime_error(t.name + " has no rs" + std::to_string(i));
    rs_.push_back(open(*rs));
    if (quiet_hosts) quiet(rs->name);
  }
  if (quiet_hosts) quiet(client_.node);
  open_director_links();
  make_checker(case_name, check::default_failure_dir());
  dut_->start(*live_);
}

void ModeBed::open_director_links() {
  const auto* director = live_->topology().find_role("director");
  if (!director) return;
  for (auto& end : topo::far_ends(live_->topology(), live_->naming(), director->name)) {
    const std::string label = director->name + "-" + end.ifname;
    links_.push_back({end.ifname, fmt::format("the director's link to {} ({})", end.peer, label),
                      std::make_unique<port::Port>(end.netns, end.far_ifname, label)});
  }
}

void ModeBed::make_checker(const std::string& case_name, const std::filesystem::path& failure_dir) {
  std::vector<port::Port*> all;
  for (auto& p : ports_) all.push_back(p.get());
  checker_ = std::make_unique<check::FrameChecker>(case_name, all, failure_dir);
  const auto& t = live_->topology();
  const auto* director = t.find_role("director");
  if (!director) return;
  auto link_on = [&](const std::vector<topo::Endpoint>& segment) -> DirectorLink* {
    for (const auto& e : segment)
      if (e.node == director->name)
        for (auto& l : links_)
          if (l.ifname == e.ifname) return &l;
    return nullptr;
  };
  for (Host* host : {&client_, &rs_[0], &rs_[1], &rs_[2]}) {
    const auto host_segment =
        segment_of(t, {host->node, t.find_node(host->node)->interfaces.front().name});
    if (DirectorLink* direct = link_on(host_segment)) {
      // One L2 segment: the host receives what the director sent, unchanged.
      checker_->set_upstream(*host->port, {direct->port.get(), direct->name,
                                           [](const expect::FrameExpectation& w) { return w; }});
      continue;
    }
    // A router on both segments: one hop before the host the frame is the director's to the
    // router, with a TTL one higher.
    for (const auto& hop : host_segment) {
      if (hop.node == host->node) continue;
      for (const auto& iface : t.find_node(hop.node)->interfaces) {
        const auto router_segment = segment_of(t, {hop.node, iface.name});
        DirectorLink* link = link_on(router_segment);
        if (!link) continue;
        // MACs asked for when judged: an external box's is learned by ARP once it runs.
        topo::Endpoint from{director->name, link->ifname}, to{hop.node, iface.name};
        checker_->set_upstream(*host->port, {link->port.get(), link->name,
                                             [this, from, to](expect::FrameExpectation w) {
                                               w.eth_src(mac(from.node, from.ifname))
                                                   .eth_dst(mac(to.node, to.ifname))
                                                   .ttl(w.ttl() + 1);
                                               return w;
                                             }});
      }
    }
  }
}

std::optional<check::FrameChecker::LinkFinding> ModeBed::rs_link_finding(
    const std::function<expect::FrameExpectation(int rs)>& want_at) {
  std::optional<check::FrameChecker::LinkFinding> best;
  for (int rs = 1; rs <= int(rs_.size()); ++rs) {
    auto finding = checker_->judge_upstream(*rs_[rs - 1].port, want_at(rs));
    if (finding && (!best || finding->mismatches < best->mismatches)) best = std::move(finding);
  }
  return best;
}

void ModeBed::begin_case(const std::string& case_name, const std::filesystem::path& failure_dir) {
  for (auto& p : ports_) {
    p->poll_now();
    p->captured().clear();
  }
  for (auto& l : links_) {
    l.port->poll_now();
    l.port->captured().clear();
  }
  make_checker(case_name, failure_dir);
  restored_rules_.clear();
  rule_edits_.clear();
}

dut::Result ModeBed::admin(const std::vector<std::string>& args) {
  auto result = dut_->admin(args);
  static const std::vector<std::string> listings{"-L", "-l", "--list", "-S", "--save"};
  if (result.ok() && !args.empty() &&
      std::find(listings.begin(), listings.end(), args.front()) == listings.end())
    rule_edits_.push_back({checker_->sent_now(), checker_->journal().size(), args, {}});
  return result;
}

bool ModeBed::wait_unlisted(const std::vector<std::string>& words) {
  const std::vector<std::string> listing{"-L", "-n", "-c"};
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(5) * dut_->slowness();
  rule_edits_.push_back({checker_->sent_now(), checker_->journal().size(), listing, words});
  for (;;) {
    auto r = dut_->admin(listing);
    if (r.ok() && !dut::lists_line_with(r.output, words)) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
  }
}

ModeBed::~ModeBed() {
  if (dut_) dut_->stop();
}

void ModeBed::restore(const std::string& rules) {
  auto r = dut_->restore(rules);
  if (!r.ok())
    throw std::runtime_error("rules refused (" + std::to_string(r.exit_code) + "): " + r.output);
  if (checker_ && checker_->sent_now() > 0) {
    // A second set of rules after frames were sent (the scheduler kind's second sequence): a
    // case written from the run sets the first up front and must reach the second at the
    // same point, so it joins the edits as the commands that make it: -C, then each line.
    rule_edits_.push_back({checker_->sent_now(), checker_->journal().size(), {"-C"}, {}});
    std::istringstream lines(rules);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::vector<std::string> args{std::istream_iterator<std::string>(words), {}};
      if (!args.empty() && args != std::vector<std::string>{"-C"})
        rule_edits_.push_back(
            {checker_->sent_now(), checker_->journal().size(), std::move(args), {}});
    }
  } else {
    restored_rules_ = rules;
    rule_edits_.clear();
  }
  warm_path_to_vip(rules);
}

void ModeBed::warm_path_to_vip(const std::string& rules) {
  const auto& lvs = topology().lvs;
  const bool names[2] = {lvs.vip && rules.find(*lvs.vip + ":") != std::string::npos,
                         lvs.vip6 && rules.find("[" + *lvs.vip6 + "]") != std::string::npos};
  for (int family = 0; family < 2; ++family) {
    if (warm_[family] || !names[family]) continue;
    // A DUT that does not answer echoes still gets the burst in order most of the time.
    warm_[family] = true;
    // Long enough for a fresh router's neighbour discovery too: an answer after the wait
    // would stay among the case's frames.
    echo_vip(family == 1, std::chrono::seconds(3), /*part_of_case=*/false);
  }
}

bool ModeBed::echo_vip_from(const std::string& source, std::chrono::milliseconds timeout) {
  hold_client_address(source);
  // Harness order, not the scenario's: a case replayed elsewhere (vslab replay, diff) has no
  // such address on its client, so the echo stays out of what the case records.
  return echo_vip(source.find(':') != std::string::npos, timeout, false, source);
}

void ModeBed::hold_client_address(const std::string& source) {
  if (held_sources_.insert(source).second) {
    // A /32 (/128): no route of the client's changes, its host only answers ARP (neighbour
    // solicitations) for the address; without duplicate address detection it does so at once.
    const bool v6 = source.find(':') != std::string::npos;
    std::vector<std::string> cmd{
        "ip",  "addr",
        "add", source + (v6 ? "/128" : "/32"),
        "dev", topology().find_node(client_.node)->interfaces.front().name};
    if (v6) cmd.push_back("nodad");
    auto add = live_->exec(client_.node, cmd);
    if (!add.ok() && add.output.find("File exists") == std::string::npos)
      throw std::runtime_error("ip addr add " + source + " on " + client_.node + ": " + add.output);
  }
}

bool ModeBed::echo_vip(bool ipv6, std::chrono::milliseconds timeout, bool part_of_case,
                       const std::string& source) {
  // An id of its own (0xb000..) keeps the answer apart from the scenarios' echoes.
  const uint16_t id = uint16_t(0xb000 | (next_echo_id_++ & 0x0fff));
  if (ipv6) {
    Tins::ICMPv6 echo(Tins::ICMPv6::ECHO_REQUEST);
    echo.identifier(id);
    echo.sequence(1);
    std::string client6;
    for (const auto& a : topology().find_node(client_.node)->interfaces.front().addresses)
      if (a.is_v6) client6 = a.address;
    // libtins leaves a new IPv6 header's hop limit at 0: the router would answer with a
    // hop-limit error (once a difference in `vslab diff`: the echo never reached the DUT,
    // and the error it left stayed among the case's frames).
    Tins::IPv6 ip(*topology().lvs.vip6, source.empty() ? client6 : source);
    ip.hop_limit(64);
    Tins::EthernetII frame =
        Tins::EthernetII(client_gateway_mac(), client_.mac) / ip / echo / Tins::RawPDU("warm-up");
    part_of_case ? client_.port->send(frame) : client_.port->send_unrecorded(frame);
  } else {
    Tins::ICMP echo(Tins::ICMP::ECHO_REQUEST);
    echo.id(id);
    echo.sequence(1);
    auto frame = from_client(echo / Tins::RawPDU(part_of_case ? "barrier" : "warm-up"));
    if (!source.empty()) frame.rfind_pdu<Tins::IP>().src_addr(source);
    part_of_case ? client_.port->send(frame) : client_.port->send_unrecorded(frame);
  }
  return client_.port->wait_until(
      [&](std::vector<port::CapturedFrame>& frames) {
        for (auto it = frames.begin(); it != frames.end(); ++it) {
          if (it->claimed) continue;
          try {
            Tins::EthernetII eth(it->bytes.data(), uint32_t(it->bytes.size()));
            const auto* icmp = eth.find_pdu<Tins::ICMP>();
            const auto* icmp6 = eth.find_pdu<Tins::ICMPv6>();
            if ((icmp && icmp->type() == Tins::ICMP::ECHO_REPLY && icmp->id() == id) ||
                (icmp6 && icmp6->type() == Tins::ICMPv6::ECHO_REPLY && icmp6->identifier() == id)) {
              // A warm-up's answer leaves no trace in what the case captured (its pcaps, the
              // frames `vslab diff` compares); a barrier's stays, claimed.
              if (part_of_case)
                it->claimed = true;
              else
                frames.erase(it);
              return true;
            }
          } catch (const Tins::malformed_packet&) {
          }
        }
        return false;
      },
      timeout);
}

std::vector<port::Port*> ModeBed::rs_ports() {
  return {rs_[0].port, rs_[1].port, rs_[2].port};
}

std::string ModeBed::mac(const std::string& node, const std::string& ifname) const {
  return live_->mac(node, ifname);
}

std::string ModeBed::client_gateway_mac() const {
  const auto& t = live_->topology();
  topo::Endpoint client_end{client_.node, t.find_node(client_.node)->interfaces.front().name};
  for (const auto& link : t.links) {
    if (link.a == client_end) return mac(link.b.node, link.b.ifname);
    if (link.b == client_end) return mac(link.a.node, link.a.ifname);
  }
  throw std::runtime_error("the client is not linked to a router");
}

expect::FrameExpectation ModeBed::nat_at_real_server(const Tins::EthernetII& sent, int rs,
                                                     uint16_t rport) const {
  expect::FrameExpectation want(sent);
  want.eth_src(mac("director", "eth1"))
      .eth_dst(rs_.at(rs - 1).mac)
      .ip_dst(rs_.at(rs - 1).ip)
      .ttl(sent.rfind_pdu<Tins::IP>().ttl() - 2)
      .dport(rport);
  return want;
}

int ModeBed::claiming_server(const std::function<expect::FrameExpectation(int rs)>& want_at,
                             std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (int rs = 1; rs <= int(rs_.size()); ++rs) {
      auto want = want_at(rs);
      bool found = rs_[rs - 1].port->wait_until(
          [&](std::vector<port::CapturedFrame>& frames) {
            for (auto& f : frames) {
              if (f.claimed || !want.compare(f.bytes).ok()) continue;
              f.claimed = true;
              return true;
            }
            return false;
          },
          std::chrono::milliseconds(0));
      if (found) return rs;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    port::Port::wait_any(rs_ports(), std::min(left, std::chrono::milliseconds(20)));
  }
}

Tins::EthernetII ModeBed::vip_stack_segment_at_client(const Tins::TCP& segment) const {
  Tins::IP ip(client_.ip, vip());
  ip.ttl(63);
  ip.id(0);
  ip.flags(Tins::IP::DONT_FRAGMENT);
  return Tins::EthernetII(client_.mac, client_gateway_mac()) / ip / segment;
}

frames::FrameBuilder ModeBed::client_frame(uint8_t ttl) const {
  return frames::frame()
      .eth(client_.mac, client_gateway_mac())
      .ipv4(client_.ip, vip())
      .ttl(ttl)
      .id(0x4242)
      .dont_fragment();
}

Tins::EthernetII ModeBed::from_client(const Tins::PDU& l4, uint8_t ttl) const {
  Tins::EthernetII frame = client_frame(ttl).pdu();
  frame /= l4;
  return frame;
}

std::string ModeBed::dut_log() const {
  auto* builtin = dynamic_cast<dut::BuiltinDut*>(dut_.get());
  return builtin ? builtin->log() : std::string();
}

}  // namespace vslab::conformance
