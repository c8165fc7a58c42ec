// The case format: a case written by write_case() reads back as written, every mistake in
// case.toml is one "case.toml:LINE:COL: message" line, and [readdress] maps a capture's
// addresses onto the topology's.
#include "replay/case.h"

#include <gtest/gtest.h>
#include <tins/tins.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "dut/dut.h"
#include "frames/frame_builder.h"

namespace vslab::replay {
namespace {

const std::filesystem::path kTopologies = std::filesystem::path(VSLAB_SOURCE_DIR) / "topologies";

class CaseTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vslab-case-test-" + std::to_string(getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  // A client SYN to the NAT VIP as topologies/nat.toml addresses it.
  static std::vector<uint8_t> syn(const char* src = "10.10.0.2", const char* dst = "10.20.0.100") {
    return frames::frame()
        .eth("02:76:73:01:01:00", "02:76:73:02:01:00")
        .ipv4(src, dst)
        .ttl(64)
        .tcp(40000, 80)
        .flags(frames::SYN)
        .bytes();
  }
  void write_input(const std::vector<uint8_t>& frame, const std::string& name = "in-client.pcap") {
    port::write_pcap((dir_ / name).string(), {{frame, {1, 0}}});
  }
  // The errors of a case.toml text (the NAT topology, one client SYN as input).
  std::vector<std::string> errors_of(const std::string& toml) {
    if (!std::filesystem::exists(dir_ / "in-client.pcap")) write_input(syn());
    auto r = parse_case(toml, dir_, kTopologies);
    EXPECT_FALSE(r.ok());
    for (const auto& e : r.errors) {
      EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
    return r.errors;
  }
  void expect_error(const std::string& toml, int line, const std::string& words) {
    auto errors = errors_of(toml);
    ASSERT_FALSE(errors.empty()) << toml;
    std::regex shape(".*case\\.toml:([0-9]+):([0-9]+): .+");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(errors.front(), m, shape)) << errors.front();
    EXPECT_EQ(std::stoi(m[1]), line) << errors.front();
    EXPECT_NE(errors.front().find(words), std::string::npos) << errors.front();
  }

  std::filesystem::path dir_;
};

const char* kGood =
    "description = \"SYN to the VIP reaches rs3\"\n"
    "topology = \"nat\"\n"
    "rules = \"-A -t 10.20.0.100:80 -s rr\\n\"\n";

TEST_F(CaseTest, AWrittenCaseReadsBackAsWritten) {
  CaseToWrite w;
  w.description = "Round trip: \"quoted\" text\nand a second line";
  w.topology = "nat";
  w.rules = "-A -t 10.20.0.100:80 -s rr\n-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n";
  w.inputs = {{"client", {syn(), {}}},
              {"rs1", {syn("192.168.10.11", "10.10.0.2"), {}}},
              {"client", {syn("10.10.0.2", "10.20.0.101"), {}}}};
  CaseToWrite::Expected x;
  x.ports = {"rs1", "rs2"};
  x.after_input = 1;
  x.frame = syn("10.10.0.2", "192.168.10.11");
  // Masks come back grouped by kind (ignore, any_of, in_range, text), as case.toml lists them.
  x.masks = {{"ip.id", Mask::Kind::Ignore, {}, 0, 0},
             {"eth.dst", Mask::Kind::AnyOf, {"rs1", "02:76:73:05:01:00"}, 0, 0},
             {"l4.sport", Mask::Kind::InRange, {}, 1024, 65535},
             {"l4.csum", Mask::Kind::Text, {"valid"}, 0, 0}};
  x.timeout_ms = 750;
  w.expected = {x};
  w.no_other = std::vector<std::string>{"client", "rs3"};
  w.admin = {{2, {"-e", "-t", "10.20.0.100:80", "-r", "192.168.10.11:8080", "-m", "-w", "0"}, {}},
             {3, {"-L", "-n", "-c"}, {"TIME_WAIT", "10.10.0.2:40000"}}};
  write_case(dir_, w);

  auto r = load_case(dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front());
  const Case& c = *r.value;
  EXPECT_EQ(c.description, w.description);
  EXPECT_EQ(c.topology, "nat");
  EXPECT_EQ(c.rules, w.rules);
  EXPECT_EQ(c.timing, Timing::AfterExpected);
  ASSERT_EQ(c.inputs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {  // the order across ports survives
    EXPECT_EQ(c.inputs[i].port, w.inputs[i].port);
    EXPECT_EQ(c.inputs[i].frame.bytes, w.inputs[i].frame.bytes);
  }
  ASSERT_EQ(c.expectations.size(), 1u);
  EXPECT_EQ(c.expectations[0].ports, x.ports);
  EXPECT_EQ(c.expectations[0].after_input, 1);
  EXPECT_EQ(c.expectations[0].base, x.frame);
  EXPECT_EQ(c.expectations[0].masks, x.masks);
  EXPECT_EQ(c.expectations[0].timeout_ms, 750);
  EXPECT_EQ(c.no_other, w.no_other);
  EXPECT_EQ(c.admin, w.admin);
}

// A case written where an earlier one was: the earlier inputs and expectations do not become
// part of it (an expect-*.pcap no [[expect]] names would be expected as it is).
TEST_F(CaseTest, ACaseWrittenOverAnotherKeepsNoneOfItsFrames) {
  write_input(syn("10.10.0.9"), "in-rs2.pcap");
  port::write_pcap((dir_ / "expect-client.pcap").string(), {{syn(), {1, 0}}});
  port::write_pcap((dir_ / "captured-client.pcap").string(), {{syn(), {1, 0}}});
  CaseToWrite w;
  w.description = "the second case";
  w.topology = "nat";
  w.rules = "-A -t 10.20.0.100:80 -s rr\n";
  w.inputs = {{"client", {syn(), {}}}};
  CaseToWrite::Expected x;
  x.ports = {"rs1"};
  x.after_input = 1;
  x.frame = syn("10.10.0.2", "192.168.10.11");
  w.expected = {x};
  write_case(dir_, w);

  auto r = load_case(dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front());
  ASSERT_EQ(r.value->inputs.size(), 1u);
  EXPECT_EQ(r.value->inputs[0].port, "client");
  ASSERT_EQ(r.value->expectations.size(), 1u);
  EXPECT_EQ(r.value->expectations[0].ports, x.ports);
  // What was captured is the reader's to look at, not the case's: it stays.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "captured-client.pcap"));
}

TEST_F(CaseTest, ExpectPcapsNamedByNoExpectAreExpectedAsTheyAre) {
  write_input(syn());
  port::write_pcap((dir_ / "expect-rs3.pcap").string(),
                   {{syn("10.10.0.2", "192.168.10.13"), {1, 0}}, {syn(), {1, 1}}});
  auto r = parse_case(kGood, dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  ASSERT_EQ(r.value->expectations.size(), 2u);
  EXPECT_EQ(r.value->expectations[1].ports, std::vector<std::string>{"rs3"});
  EXPECT_EQ(r.value->expectations[1].frame, 2);
}

TEST_F(CaseTest, AnAdminStepMayComeAfterTheLastInput) {
  write_input(syn());
  auto r = parse_case(std::string(kGood) + "no_other = [\"rs1\"]\n" +
                          "[[admin]]\nbefore_input = 2\nargs = [\"-L\", \"-n\"]\n",
                      dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  ASSERT_EQ(r.value->admin.size(), 1u);
  EXPECT_EQ(r.value->admin[0].before_input, 2);
}

TEST_F(CaseTest, ReaddressMapsTheCapturesAddressesOntoTheTopology) {
  write_input(syn("203.0.113.7", "198.51.100.10"));
  auto r = parse_case(std::string(kGood) +
                          "[readdress]\n"
                          "client = { ip = \"203.0.113.7\" }\n"
                          "vip = { ip = \"198.51.100.10\" }\n"
                          "[[expect]]\nport = \"rs3\"\nfrom_input = 1\n"
                          "set = { \"ip.dst\" = \"rs3\", \"eth.dst\" = \"port\" }\n",
                      dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_EQ(r.value->inputs[0].frame.bytes, syn("10.10.0.2", "10.20.0.100"));
}

TEST_F(CaseTest, AnIpv6FieldTakesIpv6LiteralsAndAnIpv4FieldDoesNot) {
  write_input(syn());
  auto r = parse_case(std::string(kGood) +
                          "[[expect]]\nport = \"rs3\"\nfrom_input = 1\n"
                          "any_of = { \"ip6.src\" = [\"fd00:20::2\", \"fd00:20::100\"] }\n",
                      dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  expect_error(std::string(kGood) +
                   "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nset = { \"ip.dst\" = "
                   "\"fd00:20::2\" }\n",
               7, "neither a role");
  expect_error(std::string(kGood) +
                   "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nset = { \"ip6.dst\" = "
                   "\"10.20.0.2\" }\n",
               7, "neither a role");
  // The quoted header's fields serve ICMP and ICMPv6 errors alike: either family.
  auto quoted = parse_case(std::string(kGood) +
                               "[[expect]]\nport = \"rs3\"\nfrom_input = 1\n"
                               "text = { \"quoted.ip.src\" = \"fd00:10::2\", "
                               "\"quoted.ip.dst\" = \"10.20.0.100\" }\n",
                           dir_, kTopologies);
  ASSERT_TRUE(quoted.ok()) << quoted.errors.front();
  expect_error(std::string(kGood) +
                   "[[expect]]\nport = \"rs1\"\nfrom_input = 1\ntext = { \"quoted.ip.src\" = "
                   "\"fd00:10::zz\" }\n",
               7, "neither a role");
}

TEST_F(CaseTest, EachMistakeIsOneLineWithItsPosition) {
  write_input(syn());
  expect_error("description = \"x\"\ntopology = \"nat\"\nrules = \"\"\"\n", 3, "");
  expect_error("topology = \"nat\"\nrules = \"\"\n", 1, "case.toml has no 'description'");
  expect_error(std::string(kGood) + "colour = \"blue\"\n", 4, "unknown key 'colour'");
  expect_error(std::string(kGood) + "timming = \"asap\"\n", 4,
               "unknown key 'timming' at top level (did you mean 'timing'?)");
  expect_error("description = \"x\"\ntopology = \"natt\"\nrules = \"\"\n", 2, "no topology 'natt'");
  expect_error(std::string(kGood) + "timing = \"soon\"\n", 4, "timing 'soon'");
  expect_error(std::string(kGood) + "[[expect]]\nport = \"rs9\"\nfrom_input = 1\n", 5,
               "'rs9' is no node");
  expect_error(std::string(kGood) + "[[expect]]\nport = \"rs1\"\nfrom_input = 2\n", 6,
               "'from_input' 2 is out of range (1..1)");
  expect_error(
      std::string(kGood) + "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nignore = [\"ip.idd\"]\n", 7,
      "unknown field 'ip.idd'");
  expect_error(std::string(kGood) +
                   "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nset = { \"ip.dst\" = \"rs7\" }\n",
               7, "neither a role");
  expect_error(
      std::string(kGood) +
          "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nset = { \"l4.dport\" = \"$lport\" }\n",
      7, "not captured");
  expect_error(std::string(kGood) +
                   "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nset = { \"ip.ttl\" = \"sixty\" }\n",
               7, "needs a number");
  expect_error(std::string(kGood) + "[readdress]\nclient = { ip = \"203.0.113\" }\n", 5,
               "not an IPv4 address");
  expect_error(std::string(kGood) + "[readdress]\nmoon = { ip = \"203.0.113.1\" }\n", 5, "no role");
  expect_error(std::string(kGood) + "rules_file = \"r.txt\"\n", 4, "not both");
  expect_error(std::string(kGood) + "[[expect]]\nport = \"rs1\"\n", 4, "needs 'from_input'");
  expect_error(std::string(kGood) + "[[admin]]\nbefore_input = 1\n", 4, "needs 'args'");
  // One past the last input runs after every input; two past is a mistake.
  expect_error(std::string(kGood) + "[[admin]]\nbefore_input = 3\nargs = [\"-L\"]\n", 5,
               "'before_input' 3 is out of range (1..2)");
  expect_error(std::string(kGood) + "[[admin]]\nargs = [\"-L\"]\nuntil_unlisted = []\n", 4,
               "at least one word");
  expect_error(
      std::string(kGood) +
          "[[expect]]\nport = \"rs1\"\nfrom_input = 1\nin_range = { \"l4.sport\" = [9, 1] }\n",
      7, "is empty");
}

TEST_F(CaseTest, ACaseWithoutExpectationsOrInputsIsRefused) {
  write_input(syn());
  auto errors = errors_of(kGood);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.front().find("expects nothing"), std::string::npos) << errors.front();
  std::filesystem::remove(dir_ / "in-client.pcap");
  auto r = parse_case(std::string(kGood) + "no_other = []\n", dir_, kTopologies);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors.front().find("no input frame"), std::string::npos) << r.errors.front();
}

TEST_F(CaseTest, MissingFolderCaseTomlAndPcapAreOneLineErrors) {
  auto r = load_case(dir_ / "nothing-here", kTopologies);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("no such case folder"), std::string::npos) << r.errors[0];
  r = load_case(dir_, kTopologies);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("case.toml: cannot read"), std::string::npos) << r.errors[0];
  r = parse_case(std::string(kGood) +
                     "no_other = []\n[[input]]\nport = \"client\"\n"
                     "file = \"gone.pcap\"\n",
                 dir_, kTopologies);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("gone.pcap: "), std::string::npos) << r.errors[0];
  EXPECT_EQ(r.errors[0].find('\n'), std::string::npos);
}

TEST_F(CaseTest, ACorruptInputPcapIsReportedNotCrashedOn) {
  write("in-client.pcap", std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8));  // cut header
  auto r = parse_case(std::string(kGood) + "no_other = []\n", dir_, kTopologies);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("in-client.pcap: "), std::string::npos) << r.errors[0];
  EXPECT_EQ(r.errors[0].find('\n'), std::string::npos);
}

TEST_F(CaseTest, RulesFromAFileAndTheTimingAreRead) {
  write_input(syn());
  write("rules.txt", "-A -t 10.20.0.100:80 -s wlc\n");
  auto r = parse_case(
      "description = \"d\"\ntopology = \"nat\"\nrules_file = \"rules.txt\"\n"
      "timing = \"recorded\"\nno_other = [\"rs1\"]\n",
      dir_, kTopologies);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_EQ(r.value->rules, "-A -t 10.20.0.100:80 -s wlc\n");
  EXPECT_EQ(r.value->timing, Timing::Recorded);
  EXPECT_EQ(r.value->no_other, std::vector<std::string>{"rs1"});
  auto missing = errors_of(
      "description = \"d\"\ntopology = \"nat\"\nrules_file = \"none.txt\"\nno_other = []\n");
  ASSERT_FALSE(missing.empty());
  EXPECT_NE(missing.front().find("case.toml:3:14: cannot read"), std::string::npos)
      << missing.front();
}

TEST_F(CaseTest, FieldNamesAreTheDiffsNames) {
  EXPECT_EQ(field_by_name("ip.ttl"), expect::Field::IpTtl);
  EXPECT_EQ(field_by_name("quoted.dport"), expect::Field::QuotedDstPort);
  EXPECT_EQ(field_by_name("udp.csum"), expect::Field::L4Checksum);  // as the diff prints it
  EXPECT_FALSE(field_by_name("ip.tll"));
}

// The wait of an until_unlisted step ends when no line holds all its words, as whole words.
TEST(ListsLineWith, EveryWordWholeOnOneLine) {
  const std::string listing =
      "IPVS connection entries\n"
      "pro expire state       source             virtual            destination\n"
      "TCP 01:59  TIME_WAIT   10.10.0.2:20155    10.20.0.100:1092   192.168.10.13:8080\n"
      "TCP 00:59  SYN_RECV    10.10.0.2:20155    10.20.0.100:1092   192.168.10.12:8080\n"
      "TCP 00:09  CLOSE_WAIT  10.10.0.2:20156    10.20.0.100:1092   192.168.10.11:8080\n";
  EXPECT_TRUE(dut::lists_line_with(listing, {"TIME_WAIT", "10.10.0.2:20155", "10.20.0.100:1092"}));
  EXPECT_FALSE(dut::lists_line_with(listing, {"TIME_WAIT", "10.10.0.2:20156"}));
  EXPECT_FALSE(dut::lists_line_with(listing, {"CLOSE", "10.10.0.2:20156"}));  // not CLOSE_WAIT
  EXPECT_FALSE(dut::lists_line_with(listing, {"TIME_WAIT", "10.10.0.2:2015"}));
  EXPECT_FALSE(dut::lists_line_with("", {"TIME_WAIT"}));
}

}  // namespace
}  // namespace vslab::replay
