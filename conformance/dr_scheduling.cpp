#include "dr_scheduling.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>
#include <utility>

#include "expect/fields.h"

namespace vslab::conformance {
namespace {

using namespace std::chrono_literals;
using FlowKey = std::pair<std::string, uint64_t>;  // source address, source port

std::optional<FlowKey> flow_key(std::span<const uint8_t> frame) {
  std::optional<std::string> source;
  std::optional<uint64_t> port;
  for (const auto& entry : expect::dissect(frame)) {
    if (entry.field == expect::Field::IpSrc) source = entry.value.text;
    if (entry.field == expect::Field::SrcPort) port = entry.value.number;
  }
  if (!source || !port) return std::nullopt;
  return FlowKey{*source, *port};
}

FlowKey flow_key(const Tins::EthernetII& frame) {
  const auto& ip = frame.rfind_pdu<Tins::IP>();
  if (const auto* tcp = frame.find_pdu<Tins::TCP>())
    return {ip.src_addr().to_string(), tcp->sport()};
  return {ip.src_addr().to_string(), frame.rfind_pdu<Tins::UDP>().sport()};
}

}  // namespace

std::vector<std::string> many_client_addresses(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("10.10." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250));
  return out;
}

std::string dr_rules(const std::string& options, const std::vector<std::string>& dest_options,
                     const std::string& proto, int vport) {
  auto service = proto + " " + kDrVip + ":" + std::to_string(vport);
  std::string rules = "-A " + service + " " + options + "\n";
  // A DR destination's port is forced to the service port (spec 2), so it is given that one.
  for (std::size_t i = 0; i < dest_options.size(); ++i)
    rules += "-a " + service + " -r 10.30.0.1" + std::to_string(i + 1) + ":" +
             std::to_string(vport) + " -g " + dest_options[i] + "\n";
  return rules;
}

void DrScheduling::SetUp() {
  ModeTest::SetUp();
  if (IsSkipped()) return;
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  bed_ = std::make_unique<ModeBed>("dr", std::string(info->test_suite_name()) + "." + info->name());
  // Clients other than 10.10.0.2 sit behind the router, which has no route back to them:
  // strict reverse-path filtering would drop their frames before they are forwarded.
  auto rp = bed_->exec("router", {"sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
                                  "net.ipv4.conf.eth0.rp_filter=0"});
  ASSERT_TRUE(rp.ok()) << rp.output;
}

void DrScheduling::admin_ok(const std::vector<std::string>& args) {
  auto r = bed_->admin(args);
  ASSERT_TRUE(r.ok()) << r.output;
}

Tins::EthernetII DrScheduling::tcp_from(const std::string& client, uint16_t cport, uint8_t flags,
                                        uint16_t vport) const {
  auto frame = bed_->client_frame().ip_src(client).tcp(cport, vport).flags(flags);
  frame.seq(flags & frames::SYN ? 1000 : 1001);
  if (flags & frames::ACK) frame.ack(1);
  return frame.pdu();
}

Tins::EthernetII DrScheduling::udp_from(const std::string& client, uint16_t cport,
                                        uint16_t vport) const {
  auto frame = bed_->from_client(Tins::UDP(vport, cport) / Tins::RawPDU("vslab"));
  frame.rfind_pdu<Tins::IP>().src_addr(client);
  return frame;
}

expect::FrameExpectation DrScheduling::at_real_server(const Tins::EthernetII& sent, int rs) const {
  expect::FrameExpectation want(sent);
  want.eth_src(bed_->mac("director", "eth0")).eth_dst(bed_->rs(rs).mac).ttl(62);
  return want;
}

int DrScheduling::reached_server(const Tins::EthernetII& sent, std::chrono::milliseconds timeout) {
  return bed_->claiming_server([&](int rs) { return at_real_server(sent, rs); }, timeout);
}

void DrScheduling::expect_reaches(const Tins::EthernetII& sent, int rs, const std::string& what) {
  bed_->client().port->send(sent);
  auto r = bed_->checker().expect_frame(*bed_->rs(rs).port, at_real_server(sent, rs), 2s);
  if (r.ok) return;
  int actual = reached_server(sent, 100ms);
  ADD_FAILURE() << what << " should reach rs" << rs << " but "
                << (actual ? "reached rs" + std::to_string(actual) : "reached no real server")
                << "\n"
                << r.report;
}

void DrScheduling::expect_syn_goes_to(const std::string& client, uint16_t cport, int rs) {
  expect_reaches(tcp_from(client, cport, Tins::TCP::SYN), rs,
                 "SYN " + client + ":" + std::to_string(cport));
}

void DrScheduling::expect_picks(const std::vector<int>& servers, uint16_t first_port,
                                const std::string& client) {
  for (std::size_t i = 0; i < servers.size(); ++i) {
    SCOPED_TRACE("pick " + std::to_string(i + 1));
    expect_syn_goes_to(client, static_cast<uint16_t>(first_port + i), servers[i]);
  }
  expect_no_other_frames_at_real_servers();
}

void DrScheduling::expect_syn_dropped(const std::string& client, uint16_t cport) {
  bed_->client().port->send(tcp_from(client, cport, Tins::TCP::SYN));
  auto r = bed_->checker().expect_no_other_frames(bed_->rs_ports(), 500ms);
  EXPECT_TRUE(r.ok) << "SYN " << client << ":" << cport << " should reach no real server\n"
                    << r.report;
}

void DrScheduling::reset_connection(const std::string& client, uint16_t cport, int rs) {
  std::string what = client + ":" + std::to_string(cport);
  expect_reaches(tcp_from(client, cport, Tins::TCP::ACK), rs, "ACK " + what);
  expect_reaches(tcp_from(client, cport, Tins::TCP::RST | Tins::TCP::ACK), rs, "RST " + what);
}

void DrScheduling::expect_no_other_frames_at_real_servers() {
  auto r = bed_->checker().expect_no_other_frames(bed_->rs_ports());
  EXPECT_TRUE(r.ok) << r.report;
}

std::vector<int> DrScheduling::spray(const std::vector<Tins::EthernetII>& frames,
                                     std::chrono::milliseconds timeout) {
  std::map<FlowKey, std::size_t> index;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    auto [it, fresh] = index.emplace(flow_key(frames[i]), i);
    if (!fresh)
      ADD_FAILURE() << "spray: two frames share " << it->first.first << ":" << it->first.second;
  }

  std::vector<int> reached(frames.size(), 0);
  std::size_t found = 0;
  int reported = 0;
  std::map<int, std::size_t> examined;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Sent in bursts of kBurst, each once the one before has arrived (or the deadline passed):
  // hundreds of frames at once can overflow a queue on the way under a loaded machine, and
  // the test is about where frames go, not about how many a burst may hold.
  constexpr std::size_t kBurst = 32;
  std::size_t sent = 0;
  auto burst_sent_at = std::chrono::steady_clock::now();
  while (found < frames.size() && std::chrono::steady_clock::now() < deadline) {
    auto now = std::chrono::steady_clock::now();
    // A lost frame must not hold the rest back: a burst gets a second to arrive.
    if (sent < frames.size() && (found >= sent || now - burst_sent_at > std::chrono::seconds(1))) {
      for (std::size_t end = std::min(sent + kBurst, frames.size()); sent < end; ++sent)
        bed_->client().port->send(frames[sent]);
      burst_sent_at = now;
    }
    for (int rs = 1; rs <= 3; ++rs) {
      bed_->rs(rs).port->wait_until(
          [&](std::vector<port::CapturedFrame>& captured) {
            for (auto& next = examined[rs]; next < captured.size(); ++next) {
              auto& c = captured[next];
              if (c.claimed) continue;
              auto key = flow_key(c.bytes);
              auto it = key ? index.find(*key) : index.end();
              if (it == index.end()) continue;
              c.claimed = true;
              std::size_t i = it->second;
              auto cmp = at_real_server(frames[i], rs).compare(c.bytes);
              // A handful of diffs says what is wrong; hundreds would drown it.
              if ((!cmp.ok() || reached[i] != 0) && reported++ < 5)
                ADD_FAILURE() << key->first << ":" << key->second << " at rs" << rs
                              << (reached[i] ? " arrived twice (also at rs" +
                                                   std::to_string(reached[i]) + ")"
                                             : " is not the DR rewrite of what was sent")
                              << "\n"
                              << cmp.diff();
              if (reached[i] == 0) ++found;
              reached[i] = rs;
            }
            return found >= sent;
          },
          2ms);
    }
  }
  return reached;
}

std::string DrScheduling::connection_listing() {
  auto listing = bed_->admin({"-L", "-n", "-c"});
  EXPECT_TRUE(listing.ok()) << listing.output;
  return listing.output;
}

bool DrScheduling::eventually(const std::function<bool()>& what,
                              std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!what()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    // Pacing only: each poll runs vsadm, and the box is shared. The condition, not this
    // pause, is what the caller waits for.
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace vslab::conformance
