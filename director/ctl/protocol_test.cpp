// The control protocol: JSON round trips, every kind of bad request answered (never thrown),
// failures that change nothing, and vsadm's client talking to a served socket.
#include "ctl/protocol.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "ctl/client.h"
#include "ctl/command.h"
#include "ctl/format.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vsd::ctl {
namespace {

using nlohmann::json;

Endpoint ep(const char* addr, uint16_t port) {
  return {*Ipv4::parse(addr), port};
}
ServiceKey tcp(const char* addr, uint16_t port) {
  return {Proto::Tcp, ep(addr, port), 0};
}

RuleSet sample_rules() {
  Service web;
  web.key = tcp("192.168.1.100", 80);
  web.scheduler = "sh";
  web.sched_flags = {"sh-fallback", "sh-port"};
  web.persistent = true;
  web.persistence_timeout = 120;
  web.persistence_mask = Ipv4::from_octets(255, 255, 255, 0);
  web.destinations = {{ep("192.168.1.13", 80), Method::Tun, 0, 0, 0},
                      {ep("192.168.1.12", 8080), Method::FullNat, 7, 100, 50},
                      {ep("192.168.1.11", 8080), Method::Nat, 3, 0, 0}};
  web.local_addresses = {Ipv4::from_octets(10, 0, 2, 1)};
  Service dns;
  dns.key = {Proto::Udp, ep("192.168.1.100", 53), 0};
  dns.one_packet = true;
  Service mark;
  mark.key = {Proto::Tcp, Endpoint{}, 7};
  RuleSet rules;
  rules.services = {web, dns, mark};
  rules.timeouts = {100, 20, 30};
  return rules;
}

DirectorState sample_state() {
  DirectorState state;
  state.rules = sample_rules();
  ServiceState web;
  web.key = tcp("192.168.1.100", 80);
  web.totals = {1, 2, 3, 4, 5000000000000ULL};
  web.rates = {6, 7, 8, 9, 10};
  DestinationState rs;
  rs.addr = ep("192.168.1.12", 8080);
  rs.active = 3;
  rs.inactive = 4;
  rs.persistent = 1;
  rs.overloaded = true;
  rs.totals = {11, 12, 13, 14, 15};
  web.destinations = {rs};
  state.services = {web};
  state.connections = {{Proto::Udp, 296, "UDP", ep("10.0.0.2", 4000), ep("10.0.0.100", 53),
                        ep("192.168.1.11", 5353)}};
  state.connection_table_size = 65536;
  return state;
}

// --- JSON ------------------------------------------------------------------------------------

TEST(ProtocolJson, RuleSetRoundTrips) {
  const RuleSet rules = sample_rules();
  EXPECT_EQ(json(rules).get<RuleSet>(), rules);
  EXPECT_EQ(json::parse(json(rules).dump()).get<RuleSet>(), rules);
}

TEST(ProtocolJson, DirectorStateRoundTrips) {
  const DirectorState state = sample_state();
  EXPECT_EQ(json::parse(json(state).dump()).get<DirectorState>(), state);
}

TEST(ProtocolJson, DestinationShape) {
  const Destination d{ep("192.168.1.12", 8080), Method::FullNat, 7, 100, 50};
  EXPECT_EQ(json(d), json::parse(R"({"addr":"192.168.1.12:8080","method":"fullnat","weight":7,
                                     "upper_threshold":100,"lower_threshold":50})"));
}

TEST(ProtocolJson, ServiceKeyShapes) {
  EXPECT_EQ(json(tcp("10.0.0.1", 80)),
            json::parse(R"({"proto":"TCP","vip":"10.0.0.1:80","fwmark":0})"));
  // A fwmark key needs nothing but its mark.
  EXPECT_EQ(json::parse(R"({"fwmark":7})").get<ServiceKey>(),
            (ServiceKey{Proto::Tcp, Endpoint{}, 7}));
}

// IPv6 keeps its brackets in endpoints, and a fwmark key's family is its vip's.
TEST(ProtocolJson, Ipv6RulesRoundTrip) {
  const IpEndpoint vip(*IpAddr::parse_v6("2001:db8::80"), 80);
  Service web;
  web.key = ServiceKey{Proto::Tcp, vip, 0};
  web.persistent = true;
  web.persistence_prefix6 = 64;
  web.destinations = {
      {IpEndpoint(*IpAddr::parse_v6("2001:db8:1::11"), 8080), Method::Nat, 3, 0, 0}};
  Service mark6;
  mark6.key = ServiceKey{Proto::Tcp, IpEndpoint(IpAddr::zero(Family::V6), 0), 7};
  RuleSet rules;
  rules.services = {web, mark6};
  EXPECT_EQ(json::parse(json(rules).dump()).get<RuleSet>(), rules);
  EXPECT_EQ(json(web.key), json::parse(R"({"proto":"TCP","vip":"[2001:db8::80]:80","fwmark":0})"));
  EXPECT_EQ(json(web.destinations[0])["addr"], "[2001:db8:1::11]:8080");
  EXPECT_EQ(json(web)["persistence_prefix6"], 64);
  EXPECT_EQ(json::parse(R"({"fwmark":7,"vip":"[::]:0"})").get<ServiceKey>(), mark6.key);
  // A peer from before IPv6 sends no persistence_prefix6: 128, one client address.
  json old = json(web);
  old.erase("persistence_prefix6");
  EXPECT_EQ(old.get<Service>().persistence_prefix6, 128);
}

TEST(ProtocolJson, Ipv6EndpointsAreCheckedStrictly) {
  for (const char* bad : {R"("2001:db8::80:80")", R"("[2001:db8::80]")", R"("[10.0.0.1]:80")",
                          R"("[2001:db8:::80]:80")", R"("[2001:db8::80]:65536")"}) {
    EXPECT_THROW((void)json::parse(bad).get<IpEndpoint>(), std::exception) << bad;
  }
  const json service = json::parse(R"({"key":{"fwmark":7,"vip":"[::]:0"},"scheduler":"rr",
      "sched_flags":[],"persistent":true,"persistence_timeout":60,
      "persistence_mask":"255.255.255.255","persistence_prefix6":129,"one_packet":false,
      "destinations":[],"local_addresses":[]})");
  EXPECT_THROW((void)service.get<Service>(), std::exception);
}

void expect_decoding_error(const char* text, const std::string& mentions) {
  try {
    (void)json::parse(text).get<RuleSet>();
    ADD_FAILURE() << text << " decoded";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(mentions), std::string::npos) << e.what();
  }
}

TEST(ProtocolJson, DecodingNamesTheBadField) {
  expect_decoding_error(R"({"services":[]})", "timeouts");
  expect_decoding_error(R"({"services":[],"timeouts":{"tcp":900,"tcp_fin":120}})", "udp");
  expect_decoding_error(R"({"services":[],"timeouts":{"tcp":-1,"tcp_fin":120,"udp":1}})", "tcp");
  expect_decoding_error(R"({"services":[],"timeouts":{"tcp":"900","tcp_fin":120,"udp":1}})", "tcp");
  expect_decoding_error(R"({"services":{},"timeouts":{"tcp":1,"tcp_fin":1,"udp":1}})", "services");
  expect_decoding_error(
      R"({"services":[{"key":{"proto":"DCCP","vip":"10.0.0.1:80"}}],
          "timeouts":{"tcp":1,"tcp_fin":1,"udp":1}})",
      "DCCP");
  expect_decoding_error(
      R"({"services":[{"key":{"proto":"TCP","vip":"10.0.0.1:99999"}}],
          "timeouts":{"tcp":1,"tcp_fin":1,"udp":1}})",
      "10.0.0.1:99999");
}

// --- requests against a fake director ----------------------------------------------------------

class FakeDirector : public ControlTarget {
 public:
  RuleSet rules() const override {
    if (broken) throw std::runtime_error("rules unavailable");
    return rules_;
  }
  std::string install(const RuleSet& next) override {
    ++installs;
    if (!refuse_install.empty()) return refuse_install;
    rules_ = next;
    return "";
  }
  DirectorState state() const override {
    DirectorState s;
    s.rules = rules_;
    return s;
  }
  void zero(const std::optional<ServiceKey>& which) override { zeroed.push_back(which); }

  RuleSet rules_;
  int installs = 0;
  std::string refuse_install;
  bool broken = false;
  std::vector<std::optional<ServiceKey>> zeroed;
};

json ask(FakeDirector& director, const json& request) {
  return json::parse(handle_request(request.dump(), director));
}

json ask_text(FakeDirector& director, std::string_view text) {
  return json::parse(handle_request(text, director));
}

TEST(HandleRequest, ApplyInstallsTheChangedRules) {
  FakeDirector director;
  EXPECT_EQ(ask(director, apply_request({"-A", "-t", "10.0.0.1:80", "-s", "rr"})),
            json::parse(R"({"ok":true,"exit":0,"output":"","error":""})"));
  ASSERT_EQ(director.rules_.services.size(), 1u);
  EXPECT_EQ(director.rules_.services[0].scheduler, "rr");
}

TEST(HandleRequest, RefusedCommandInstallsNothing) {
  FakeDirector director;
  ask(director, apply_request({"-A", "-t", "10.0.0.1:80"}));
  const RuleSet before = director.rules_;
  EXPECT_EQ(ask(director, apply_request({"-A", "-t", "10.0.0.1:80"})),
            json::parse(R"({"ok":false,"exit":255,"output":"","error":"Service already exists"})"));
  EXPECT_EQ(ask(director, apply_request({"-a", "-t", "10.0.0.1:80", "-r", "10.0.1.1", "-w", "-1"})),
            json::parse(R"({"ok":false,"exit":2,"output":"","error":"illegal weight specified"})"));
  EXPECT_EQ(director.installs, 1);
  EXPECT_EQ(director.rules_, before);
}

TEST(HandleRequest, InstallFailureIsReported) {
  FakeDirector director;
  director.refuse_install = "out of memory for the new snapshot";
  json answer = ask(director, apply_request({"-A", "-t", "10.0.0.1:80"}));
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["exit"], 255);
  EXPECT_EQ(answer["error"], "out of memory for the new snapshot");
  EXPECT_TRUE(director.rules_.services.empty());
}

// A director that keeps its settings, as vsd's data plane does.
class SysctlDirector : public FakeDirector {
 public:
  Sysctls sysctls() const override { return settings; }
  std::string set_sysctl(std::string_view name, std::string_view value) override {
    Sysctls next = settings;
    std::string error = vsd::set_sysctl(next, name, value);
    if (error.empty()) settings = next;
    return error;
  }
  Sysctls settings;
};

TEST(HandleRequest, SysctlListsReadsAndSets) {
  SysctlDirector director;
  json all = ask(director, sysctl_request());
  EXPECT_EQ(all["exit"], 0);
  EXPECT_NE(all["output"].get<std::string>().find("net.ipv4.vs.conn_reuse_mode = 1\n"),
            std::string::npos);
  EXPECT_EQ(ask(director, sysctl_request("net.ipv4.vs.conn_reuse_mode", "0")),
            json::parse(R"({"ok":true,"exit":0,"output":"net.ipv4.vs.conn_reuse_mode = 0\n",)"
                        R"("error":""})"));
  EXPECT_EQ(director.settings.conn_reuse_mode, 0);
  EXPECT_EQ(ask(director, sysctl_request("conn_reuse_mode"))["output"],
            "net.ipv4.vs.conn_reuse_mode = 0\n");
}

TEST(HandleRequest, SysctlRefusalsChangeNothingAndExit255) {
  SysctlDirector director;
  for (const auto& [name, value, words] :
       {std::tuple{"nope", "1", "unknown sysctl 'nope'"},
        {"drop_entry", "9", "invalid value '9' for net.ipv4.vs.drop_entry: allowed is 0 (off)"},
        {"sync_ports", "3",
         "invalid value '3' for net.ipv4.vs.sync_ports: allowed is a power of 2"}}) {
    json answer = ask(director, sysctl_request(name, value));
    EXPECT_EQ(answer["exit"], 255) << name;
    EXPECT_NE(answer["error"].get<std::string>().find(words), std::string::npos) << answer;
  }
  EXPECT_EQ(director.settings, Sysctls{});
  EXPECT_EQ(ask(director, sysctl_request("nope"))["exit"], 255);
  EXPECT_EQ(ask_text(director, R"({"version":1,"op":"sysctl","value":"1"})")["exit"], 2);
  EXPECT_EQ(ask_text(director, R"({"version":1,"op":"sysctl","name":1})")["exit"], 2);
}

TEST(HandleRequest, ATargetWithoutSettingsRefusesAChangeWithTheReason) {
  FakeDirector director;
  json answer = ask(director, sysctl_request("conn_reuse_mode", "0"));
  EXPECT_EQ(answer["exit"], 255);
  EXPECT_EQ(answer["error"], "this director cannot change net.ipv4.vs settings");
}

TEST(HandleRequest, ListingComesBackAsOutput) {
  FakeDirector director;
  ask(director, apply_request({"-A", "-t", "10.0.0.1:80", "-s", "rr"}));
  json answer = ask(director, apply_request({"-L", "-n"}));
  EXPECT_EQ(answer["ok"], true);
  EXPECT_EQ(answer["output"],
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:80 rr\n");
  EXPECT_EQ(ask(director, apply_request({"-S", "-n"}))["output"], "-A -t 10.0.0.1:80 -s rr\n");
  EXPECT_EQ(ask(director, apply_request({"-L", "-n", "-t", "10.0.0.9:80"})),
            json::parse(R"({"ok":false,"exit":1,"output":"","error":"No such service"})"));
}

TEST(HandleRequest, RestoreIsAllOrNothing) {
  FakeDirector director;
  json answer = ask(director, restore_request("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n"));
  EXPECT_EQ(answer["exit"], 255);
  EXPECT_EQ(answer["error"], "line 2: Service already exists");
  EXPECT_EQ(director.installs, 0);
  EXPECT_EQ(ask(director, restore_request("-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n"))["ok"], true);
  EXPECT_EQ(director.rules_.services.size(), 2u);
}

TEST(HandleRequest, DashRThroughApplyPointsAtRestore) {
  FakeDirector director;
  json answer = ask(director, apply_request({"-R"}));
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["exit"], 2);
}

TEST(HandleRequest, StateIsReturnedAsJson) {
  FakeDirector director;
  director.rules_ = sample_rules();
  json answer = ask(director, state_request());
  EXPECT_EQ(answer["ok"], true);
  EXPECT_EQ(answer["state"].get<DirectorState>().rules, sample_rules());
}

TEST(HandleRequest, ZeroOneServiceOrAll) {
  FakeDirector director;
  director.rules_ = sample_rules();
  EXPECT_EQ(ask(director, zero_request(std::nullopt))["ok"], true);
  EXPECT_EQ(ask(director, zero_request(tcp("192.168.1.100", 80)))["ok"], true);
  EXPECT_EQ(ask(director, apply_request({"-Z", "-t", "192.168.1.100:80"}))["ok"], true);
  EXPECT_EQ(ask(director, zero_request(tcp("10.0.0.9", 80))),
            json::parse(R"({"ok":false,"exit":255,"output":"","error":"No such service"})"));
  EXPECT_EQ(director.zeroed,
            (std::vector<std::optional<ServiceKey>>{std::nullopt, tcp("192.168.1.100", 80),
                                                    tcp("192.168.1.100", 80)}));
}

TEST(HandleRequest, HelpComesFromTheDaemonToo) {
  FakeDirector director;
  EXPECT_EQ(ask(director, apply_request({"-h"}))["output"], usage_text());
}

struct BadRequest {
  const char* text;
  const char* mentions;
};
// Test names show the request, not the struct's bytes.
void PrintTo(const BadRequest& r, std::ostream* os) {
  *os << "request '" << r.text << "'";
}

class HandleBadRequest : public testing::TestWithParam<BadRequest> {};

TEST_P(HandleBadRequest, IsAnsweredWithExitTwo) {
  FakeDirector director;
  json answer = ask_text(director, GetParam().text);
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["exit"], 2);
  const std::string error = answer["error"];
  EXPECT_NE(error.find(GetParam().mentions), std::string::npos) << error;
  EXPECT_EQ(director.installs, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Protocol, HandleBadRequest,
    testing::Values(
        BadRequest{"", "not a JSON document"}, BadRequest{"{\"version\":1,", "not a JSON document"},
        BadRequest{"[1,2]", "expected a JSON object"},
        BadRequest{R"({"op":"state"})", "missing 'version'"},
        BadRequest{R"({"version":"1","op":"state"})", "'version' must be an integer"},
        BadRequest{R"({"version":2,"op":"state"})", "unsupported protocol version 2"},
        BadRequest{R"({"version":1})", "missing 'op'"},
        BadRequest{R"({"version":1,"op":7})", "'op' must be a string"},
        BadRequest{R"({"version":1,"op":"reboot"})", "unknown op 'reboot'"},
        BadRequest{R"({"version":1,"op":"apply"})", "missing field 'argv'"},
        BadRequest{R"({"version":1,"op":"apply","argv":"-L"})", "'argv' must be an array"},
        BadRequest{R"({"version":1,"op":"apply","argv":["-L",1]})", "'argv' must be an array"},
        BadRequest{R"({"version":1,"op":"restore"})", "missing field 'text'"},
        BadRequest{R"({"version":1,"op":"restore","text":5})", "'text' must be a string"},
        BadRequest{R"({"version":1,"op":"zero","service":{"proto":"TCP"}})", "vip"},
        BadRequest{R"({"version":1,"op":"zero","service":"10.0.0.1:80"})", "service"},
        BadRequest{R"({"version":1,"op":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]})",
                   "request nests deeper than 16 levels"}));

// Brackets inside a string are text, not nesting: a rule text full of them is still parsed.
TEST(HandleRequest, BracketsInsideStringsAreNotNesting) {
  FakeDirector director;
  json answer = ask_text(
      director, R"({"version":1,"op":"restore","text":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \" {{{"})");
  const std::string error = answer["error"];
  EXPECT_EQ(error.find("nests deeper"), std::string::npos) << error;
  EXPECT_EQ(error.find("not a JSON document"), std::string::npos) << error;
}

TEST(HandleRequest, ExceptionsFromTheTargetBecomeErrors) {
  FakeDirector director;
  director.broken = true;
  json answer = ask(director, apply_request({"-A", "-t", "10.0.0.1:80"}));
  EXPECT_EQ(answer["ok"], false);
  EXPECT_EQ(answer["exit"], 255);
  EXPECT_EQ(answer["error"], "vsd: internal error: rules unavailable");
}

TEST(HandleRequest, InvalidUtf8IsAnsweredNotThrown) {
  FakeDirector director;
  const std::string request =
      std::string(R"({"version":1,"op":"apply","argv":["-L","\u00e9)") + "\xff" + R"("]})";
  json answer = ask_text(director, request);
  EXPECT_EQ(answer["ok"], false);
}

// Connections in chunks of two, as a data plane hands them out.
class ChunkedDirector : public FakeDirector {
 public:
  explicit ChunkedDirector(int count) {
    for (int i = 0; i < count; ++i) {
      ConnectionEntry e;
      e.proto = Proto::Udp;
      e.expires_s = 299;
      e.state = "UDP";
      e.client = Endpoint{*Ipv4::parse("10.0.0.2"), uint16_t(40000 + i)};
      e.virtual_addr = Endpoint{*Ipv4::parse("10.0.0.1"), 53};
      e.destination = Endpoint{*Ipv4::parse("10.0.1.1"), 53};
      entries_.push_back(e);
    }
  }
  DirectorState state() const override {
    DirectorState s = FakeDirector::state();
    s.connections = entries_;
    return s;
  }
  std::size_t connections(std::size_t from, std::vector<ConnectionEntry>& out) const override {
    ++calls;
    for (std::size_t i = from; i < std::min(from + 2, entries_.size()); ++i)
      out.push_back(entries_[i]);
    return from + 2 >= entries_.size() ? kNoMoreConnections : from + 2;
  }
  std::vector<ConnectionEntry> entries_;
  mutable int calls = 0;
};

TEST(HandleRequest, AConnectionListingIsMadeAChunkAtATime) {
  ChunkedDirector director(5);
  json request = apply_request({"-L", "-n", "-c"});
  auto answer = start_request(request.dump(), director);
  EXPECT_EQ(director.calls, 0) << "nothing asked before the first step";
  std::string lines;
  int steps = 1;
  while (answer->next(lines)) ++steps;
  EXPECT_EQ(director.calls, 3);
  EXPECT_EQ(steps, 3);
  // Not streamed: one response line holding the whole listing, as format_connections has it.
  ListOptions options;
  options.kind = ListKind::Connections;
  options.numeric = true;
  ASSERT_EQ(std::count(lines.begin(), lines.end(), '\n'), 1) << lines;
  EXPECT_EQ(json::parse(lines)["output"], format_connections(director.state(), options));
}

TEST(HandleRequest, AStreamedListingSendsPiecesBeforeTheResponseLine) {
  ChunkedDirector director(40000);  // a few pieces' worth
  json request = apply_request({"-L", "-n", "-c"});
  request["stream"] = true;
  auto answer = start_request(request.dump(), director);
  std::string lines;
  while (answer->next(lines)) {
  }
  std::string text;
  std::istringstream in(lines);
  std::vector<json> parsed;
  for (std::string line; std::getline(in, line);) parsed.push_back(json::parse(line));
  ASSERT_GT(parsed.size(), 2u);
  for (std::size_t i = 0; i + 1 < parsed.size(); ++i) {
    EXPECT_FALSE(parsed[i].contains("exit")) << "a piece, not the response line";
    text += parsed[i]["output"].get<std::string>();
  }
  EXPECT_EQ(parsed.back()["exit"], 0);
  text += parsed.back()["output"].get<std::string>();
  ListOptions options;
  options.kind = ListKind::Connections;
  options.numeric = true;
  EXPECT_EQ(text, format_connections(director.state(), options));
}

TEST(HandleRequest, StreamMustBeABoolean) {
  FakeDirector director;
  json request = apply_request({"-L", "-n"});
  request["stream"] = "yes";
  json answer = ask(director, request);
  EXPECT_EQ(answer["exit"], 2);
  EXPECT_EQ(answer["error"], "vsd: bad request: 'stream' must be true or false");
}

// --- client and server over a real socket ----------------------------------------------------

class SocketPair : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vsd-ctl-test-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "vsd.sock").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Listens on path_ and serves `connections` requests on a thread.
  std::thread serve(ControlTarget& target, int connections) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_.get(), 4), 0);
    return std::thread([this, &target, connections] {
      for (int i = 0; i < connections; ++i) {
        const vslab::os::UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
        if (!client) return;
        serve_connection(client.get(), target);
      }
      listener_.reset();
    });
  }

  std::filesystem::path dir_;
  std::string path_;
  vslab::os::UniqueFd listener_;
};

TEST_F(SocketPair, ClientGetsTheDaemonsAnswer) {
  FakeDirector director;
  std::thread server = serve(director, 3);
  Reply added = send_request(path_, apply_request({"-A", "-t", "10.0.0.1:80"}));
  EXPECT_EQ(added.exit, 0);
  EXPECT_EQ(added.error, "");
  Reply listed = send_request(path_, apply_request({"-S", "-n"}));
  EXPECT_EQ(listed.exit, 0);
  EXPECT_EQ(listed.output, "-A -t 10.0.0.1:80 -s wlc\n");
  Reply refused = send_request(path_, apply_request({"-D", "-t", "10.0.0.9:80"}));
  EXPECT_EQ(refused.exit, 255);
  EXPECT_EQ(refused.error, "No such service");
  server.join();
}

TEST_F(SocketPair, AStreamedListingReachesTheSinkInPieces) {
  ChunkedDirector director(40000);
  std::thread server = serve(director, 1);
  std::vector<std::string> pieces;
  Reply reply = send_request(path_, apply_request({"-L", "-n", "-c"}),
                             [&](std::string_view piece) { pieces.emplace_back(piece); });
  server.join();
  EXPECT_EQ(reply.exit, 0) << reply.error;
  EXPECT_EQ(reply.output, "") << "everything went to the sink";
  EXPECT_GT(pieces.size(), 1u);
  std::string text;
  for (const auto& p : pieces) text += p;
  ListOptions options;
  options.kind = ListKind::Connections;
  options.numeric = true;
  EXPECT_EQ(text, format_connections(director.state(), options));
}

TEST_F(SocketPair, StateReplyCarriesTheWholeBody) {
  FakeDirector director;
  director.rules_ = sample_rules();
  std::thread server = serve(director, 1);
  Reply reply = send_request(path_, state_request());
  server.join();
  ASSERT_EQ(reply.exit, 0);
  EXPECT_EQ(reply.body["state"].get<DirectorState>().rules, sample_rules());
}

TEST_F(SocketPair, MissingSocketSaysIsVsdRunning) {
  Reply reply = send_request(path_, state_request());
  EXPECT_EQ(reply.exit, 2);
  EXPECT_EQ(reply.error,
            "vsadm: cannot reach vsd at " + path_ + ": No such file or directory; is vsd running?");
}

TEST_F(SocketPair, SocketNobodyListensOnIsRefused) {
  FakeDirector director;
  std::thread server = serve(director, 0);
  server.join();  // closed the listener: the path stays, nobody accepts
  Reply reply = send_request(path_, state_request());
  EXPECT_EQ(reply.exit, 2);
  EXPECT_EQ(reply.error,
            "vsadm: cannot reach vsd at " + path_ + ": Connection refused; is vsd running?");
}

TEST_F(SocketPair, PermissionDeniedSaysSo) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may connect to any socket";
  FakeDirector director;
  std::thread server = serve(director, 0);
  server.join();
  std::filesystem::permissions(dir_, std::filesystem::perms::none);
  Reply reply = send_request(path_, state_request());
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
  EXPECT_EQ(reply.exit, 2);
  EXPECT_NE(reply.error.find("Permission denied"), std::string::npos) << reply.error;
}

TEST_F(SocketPair, OverlongPathIsRejected) {
  Reply reply = send_request(std::string(200, 'x'), state_request());
  EXPECT_EQ(reply.exit, 2);
  EXPECT_NE(reply.error.find("bad socket path"), std::string::npos) << reply.error;
}

TEST_F(SocketPair, GarbageFromTheDaemonIsABadResponse) {
  vslab::os::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path_.copy(address.sun_path, sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  std::thread server([listener = std::move(listener)] {
    const vslab::os::UniqueFd client(::accept(listener.get(), nullptr, nullptr));
    char request[4096];
    (void)!::read(client.get(), request, sizeof request);  // as a daemon would, before answering
    vslab::os::write_all(client.get(), "hello\n");
  });
  Reply reply = send_request(path_, state_request());
  server.join();
  EXPECT_EQ(reply.exit, 2);
  EXPECT_EQ(reply.error, "vsadm: bad response from vsd at " + path_ + ": hello");
}

}  // namespace
}  // namespace vsd::ctl
