// DUT config files (--dut-config): what a good external box config gives, one file per kind of
// mistake with the place and words it must report, the builtin and kernel configs, and what
// make_dut does with a spec. Positions are counted by hand (line 1 is the line R"( opens).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include "dut/dut.h"
#include "dut/external_dut.h"
#include "dut/kernel_dut.h"
#include "dut/kinds.h"

namespace vslab::dut {
namespace {

constexpr char kFile[] = "box.toml";

const char* kGoodConfig = R"(
[dut]
name = "vsd by hand"
restore = "vsadm --socket /run/extdut/vsd.sock -R"
admin = "vsadm --socket /run/extdut/vsd.sock {args}"
[ports]          # topology director interface -> existing interface in the root namespace
eth0 = "xd-ext"
eth1 = { interface = "xd-int", mac = "02:AB:00:00:00:01" }
[claims]
modes = ["nat", "dr", "tun", "fullnat"]
schedulers = ["rr", "wrr", "lc", "wlc"]
)";

// Parsing `text` failed with exactly one error, at `where` ("box.toml:3:1: "), holding each of
// `words`.
testing::AssertionResult fails_with(std::string_view text, std::string_view where,
                                    std::initializer_list<std::string_view> words) {
  std::string error;
  try {
    parse_external_config(text, kFile);
    return testing::AssertionFailure() << "the config was accepted";
  } catch (const std::invalid_argument& e) {
    error = e.what();
  }
  if (error.find('\n') != std::string::npos)
    return testing::AssertionFailure() << "want one error, got:\n" << error;
  if (!error.starts_with(where))
    return testing::AssertionFailure() << "want an error at '" << where << "', got: " << error;
  for (auto word : words)
    if (error.find(word) == std::string::npos)
      return testing::AssertionFailure() << "want '" << word << "' in: " << error;
  return testing::AssertionSuccess();
}

DutSpec spec_of(const std::string& kind, const std::string& config_file = "") {
  DutSpec spec;
  spec.kind = kind;
  spec.config_file = config_file;
  return spec;
}

// A file that removes itself.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("vslab-dut-config-" + std::to_string(getpid()) + "-" + std::to_string(++count_) +
               ".toml")) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int count_ = 0;
  std::filesystem::path path_;
};

TEST(ExternalDutConfig, GivesEveryFieldOfAGoodFile) {
  auto config = parse_external_config(kGoodConfig, kFile);
  EXPECT_EQ(config.name, "vsd by hand");
  EXPECT_EQ(config.restore, "vsadm --socket /run/extdut/vsd.sock -R");
  EXPECT_EQ(config.admin.value_or(""), "vsadm --socket /run/extdut/vsd.sock {args}");
  ASSERT_EQ(config.ports.size(), 2u);
  EXPECT_EQ(config.ports.at("eth0").interface, "xd-ext");
  EXPECT_FALSE(config.ports.at("eth0").mac.has_value());
  EXPECT_EQ(config.ports.at("eth1").interface, "xd-int");
  EXPECT_EQ(config.ports.at("eth1").mac.value_or(""), "02:ab:00:00:00:01");
  EXPECT_EQ(config.modes, (std::set<std::string>{"nat", "dr", "tun", "fullnat"}));
  EXPECT_EQ(config.schedulers, (std::set<std::string>{"rr", "wrr", "lc", "wlc"}));
}

TEST(ExternalDutConfig, ReportsATomlSyntaxErrorWhereItIs) {
  EXPECT_TRUE(fails_with("[dut]\nrestore = \"x -R\n", "box.toml:2:", {}));
}

TEST(ExternalDutConfig, ReportsAnUnknownKeyWithASuggestion) {
  EXPECT_TRUE(fails_with(R"([dut]
restor = "ipvsadm -R"
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:2:1: ", {"unknown key 'restor' in [dut]", "'restore'"}));
}

TEST(ExternalDutConfig, NeedsARestoreCommand) {
  EXPECT_TRUE(fails_with(R"([dut]
name = "box"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:1:1: ", {"[dut] has no 'restore'"}));
}

TEST(ExternalDutConfig, RefusesAnEmptyRestoreCommand) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "  "
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:2:11: ", {"'restore' is empty"}));
}

TEST(ExternalDutConfig, NeedsArgsInTheAdminTemplate) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
admin = "ipvsadm -L -n"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:3:9: ", {"'admin' has no {args}"}));
}

TEST(ExternalDutConfig, NeedsEachTable) {
  EXPECT_TRUE(fails_with(R"([ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:1:1: ", {"no [dut] table"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:1:1: ", {"no [ports] table"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
)",
                         "box.toml:1:1: ", {"no [claims] table"}));
}

TEST(ExternalDutConfig, RefusesATableOfTheWrongType) {
  EXPECT_TRUE(fails_with(R"(dut = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:1:7: ", {"'dut' must be a table"}));
}

TEST(ExternalDutConfig, RefusesAnEmptyPortMap) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:3:1: ", {"[ports] is empty"}));
}

TEST(ExternalDutConfig, RefusesABadInterfaceName) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:8: ", {"'xd ext' is not a valid interface name"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
"eth0/1" = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:1: ", {"'eth0/1' is not an interface name"}));
}

TEST(ExternalDutConfig, RefusesOneInterfaceForTwoPorts) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
eth1 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:5:8: ", {"'xd-ext' is already the port for 'eth0'"}));
}

TEST(ExternalDutConfig, RefusesAPortOfTheWrongType) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = 3
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:8: ", {"port 'eth0' must be an interface name"}));
}

TEST(ExternalDutConfig, RefusesAPortTableWithoutInterfaceOrWithABadMac) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = { mac = "02:00:00:00:00:01" }
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:8: ", {"port 'eth0' has no 'interface'"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = { interface = "xd-ext", mac = "01:00:5e:00:00:01" }
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:38: ", {"'01:00:5e:00:00:01' is not a unicast MAC"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = { interface = "xd-ext", macc = "02:00:00:00:00:01" }
[claims]
modes = ["nat"]
schedulers = ["rr"]
)",
                         "box.toml:4:32: ", {"unknown key 'macc' in port 'eth0'", "'mac'"}));
}

TEST(ExternalDutConfig, RefusesUnknownModesAndSchedulers) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat", "snat"]
schedulers = ["rr"]
)",
                         "box.toml:6:17: ", {"unknown mode 'snat'", "nat, dr, tun, fullnat"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
schedulers = ["rr", "wrrr"]
)",
                         "box.toml:7:21: ", {"unknown scheduler 'wrrr'", "twos"}));
}

TEST(ExternalDutConfig, NeedsBothClaimLists) {
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = ["nat"]
)",
                         "box.toml:5:1: ", {"[claims] has no 'schedulers'"}));
  EXPECT_TRUE(fails_with(R"([dut]
restore = "ipvsadm -R"
[ports]
eth0 = "xd-ext"
[claims]
modes = "nat"
schedulers = ["rr"]
)",
                         "box.toml:6:9: ", {"'modes' must be an array of strings"}));
}

TEST(ExternalDutConfig, ListsEveryMistakeInFileOrder) {
  try {
    parse_external_config(R"([dut]
restore = "ipvsadm -R"
admin = "ipvsadm"
[ports]
eth0 = "xd ext"
[claims]
modes = ["snat"]
schedulers = ["rr"]
)",
                          kFile);
    FAIL() << "the config was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "box.toml:3:9: 'admin' has no {args}, where the words of one ipvsadm command "
                 "go, e.g. \"ssh box ipvsadm {args}\"\n"
                 "box.toml:5:8: 'xd ext' is not a valid interface name\n"
                 "box.toml:7:10: unknown mode 'snat'; expected one of nat, dr, tun, fullnat");
  }
}

TEST(ExternalDutConfig, SaysWhenTheFileCannotBeRead) {
  try {
    read_external_config("/nonexistent/box.toml");
    FAIL() << "a missing file was read";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/box.toml:0:0: cannot read: No such file or directory");
  }
}

TEST(BuiltinDutConfig, AppendsVsdArgs) {
  EXPECT_EQ(parse_builtin_config("vsd_args = [\"--fault\", \"no-ttl\"]\n", "b.toml"),
            (std::vector<std::string>{"--fault", "no-ttl"}));
  EXPECT_TRUE(parse_builtin_config("", "b.toml").empty());
}

TEST(BuiltinDutConfig, ReportsMistakesWithTheirPlace) {
  try {
    parse_builtin_config("vsd_arg = [\"--x\"]\n", "b.toml");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "b.toml:1:1: unknown key 'vsd_arg' at top level (did you mean "
                 "'vsd_args'?)");
  }
  try {
    parse_builtin_config("vsd_args = [\"--x\", 1]\n", "b.toml");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "b.toml:1:20: each entry of 'vsd_args' must be a string");
  }
}

TEST(KernelDutConfig, TakesTheIpvsadmPath) {
  EXPECT_EQ(parse_kernel_config("ipvsadm = \"/opt/ipvsadm\"\n", "k.toml").ipvsadm, "/opt/ipvsadm");
  EXPECT_EQ(parse_kernel_config("", "k.toml").ipvsadm, "ipvsadm");
  EXPECT_THROW(parse_kernel_config("ipvsadm = 1\n", "k.toml"), std::invalid_argument);
}

TEST(MakeDut, BuildsEachKind) {
  DutSpec builtin;
  builtin.vsd_binary = "/bin/vsd";
  builtin.vsadm_binary = "/bin/vsadm";
  EXPECT_EQ(make_dut(builtin)->name(), "builtin");

  DutSpec kernel;
  kernel.kind = "kernel";
  auto kernel_dut = make_dut(kernel);
  EXPECT_EQ(kernel_dut->name(), "kernel");
  EXPECT_FALSE(kernel_dut->claims_mode("fullnat"));

  TempFile box(kGoodConfig);
  auto external = make_dut(spec_of("external", box.path()));
  EXPECT_EQ(external->name(), "external (vsd by hand)");
  EXPECT_TRUE(external->claims_mode("fullnat"));
  EXPECT_FALSE(external->claims_scheduler("sh"));
}

TEST(MakeDut, AppendsTheBuiltinConfigsVsdArgs) {
  TempFile config("vsd_args = [\"--ipfrag-time\", \"1\"]\n");
  DutSpec spec = spec_of("builtin", config.path());
  spec.vsd_binary = "/bin/vsd";
  spec.vsadm_binary = "/bin/vsadm";
  spec.vsd_args = {"--log-level", "debug"};
  // The arguments show only when vsd runs; a broken file must already fail here.
  EXPECT_NO_THROW(make_dut(spec));
  TempFile broken("vsd_args = \"--ipfrag-time 1\"\n");
  spec.config_file = broken.path();
  EXPECT_THROW(make_dut(spec), std::invalid_argument);
}

TEST(MakeDut, RefusesWhatItCannotBuild) {
  auto message = [](const DutSpec& spec) {
    try {
      make_dut(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message(spec_of("qemu")),
            "unknown DUT kind 'qemu': expected builtin, kernel, qemu-kernel or external");
  EXPECT_NE(message(spec_of("external")).find("--dut-config FILE is required"), std::string::npos);
  EXPECT_NE(message(spec_of("builtin")).find("the paths of vsd and vsadm"), std::string::npos);
  EXPECT_EQ(message(spec_of("external", "/nonexistent.toml")),
            "/nonexistent.toml:0:0: cannot read: No such file or directory");
}

// The --dut option reads the table of kinds: every kind's name is taken, anything else is
// refused with CLI11's IsMember message naming them in the table's order.
TEST(DutKinds, TheDutOptionTakesEachKindAndRefusesAnyOther) {
  for (const std::string name : {"builtin", "kernel", "qemu-kernel", "external"}) {
    CLI::App app;
    std::string kind;
    add_dut_kind_option(app, "--dut", kind, "Device under test: ");
    app.parse(std::vector<std::string>{name, "--dut"});  // CLI11 parses a reversed argv
    EXPECT_EQ(kind, name);
  }
  CLI::App app;
  std::string kind = "builtin";
  add_dut_kind_option(app, "--dut", kind, "Device under test: ");
  try {
    app.parse(std::vector<std::string>{"bogus", "--dut"});
    ADD_FAILURE() << "--dut bogus was taken";
  } catch (const CLI::ValidationError& e) {
    EXPECT_STREQ(e.what(), "--dut: bogus not in {builtin,kernel,qemu-kernel,external}");
  }
}

TEST(DutKinds, OnlyTheExternalBoxServesOneTopologyAtATime) {
  EXPECT_TRUE(serves_one_topology("external"));
  EXPECT_FALSE(serves_one_topology("builtin"));
  EXPECT_FALSE(serves_one_topology("kernel"));
  EXPECT_FALSE(serves_one_topology("qemu-kernel"));
  EXPECT_FALSE(serves_one_topology("nonsense"));
}

// The adapter with its shell replaced: what it would run, and with which input.
class ExternalDutCommands : public testing::Test {
 protected:
  ExternalDutCommands()
      : dut_(parse_external_config(kGoodConfig, kFile),
             [this](const std::string& command, const std::string& input) {
               ran_.push_back({command, input});
               return Result{0, "ok"};
             }) {}
  struct Ran {
    std::string command, input;
  };
  std::vector<Ran> ran_;
  ExternalDut dut_;
};

TEST_F(ExternalDutCommands, RestoreSendsTheRulesAfterAClear) {
  EXPECT_TRUE(dut_.restore("-A -t 10.20.0.100:80 -s rr\n").ok());
  ASSERT_EQ(ran_.size(), 1u);
  EXPECT_EQ(ran_[0].command, "vsadm --socket /run/extdut/vsd.sock -R");
  EXPECT_EQ(ran_[0].input, "-C\n-A -t 10.20.0.100:80 -s rr\n");
}

TEST_F(ExternalDutCommands, AdminQuotesTheWordsIntoTheTemplate) {
  dut_.admin({"-a", "-t", "10.20.0.100:80", "-r", "192.168.10.11:8080", "-m"});
  dut_.admin({"--weird", "it's"});
  ASSERT_EQ(ran_.size(), 2u);
  EXPECT_EQ(ran_[0].command,
            "vsadm --socket /run/extdut/vsd.sock -a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m");
  EXPECT_EQ(ran_[1].command, "vsadm --socket /run/extdut/vsd.sock --weird 'it'\\''s'");
  EXPECT_EQ(ran_[1].input, "");
}

TEST_F(ExternalDutCommands, ClaimsOnlyWhatTheConfigLists) {
  EXPECT_TRUE(dut_.claims_mode("nat"));
  EXPECT_TRUE(dut_.claims_mode("fullnat"));
  EXPECT_TRUE(dut_.claims_scheduler("wlc"));
  EXPECT_FALSE(dut_.claims_scheduler("mh"));
  EXPECT_FALSE(dut_.claims_scheduler("twos"));
}

TEST_F(ExternalDutCommands, HandsItsPortsAndKnownMacsToTheBringUp) {
  auto options = dut_.bring_up_options();
  EXPECT_EQ(options.external_director_ports,
            (topo::ExternalPorts{{"eth0", "xd-ext"}, {"eth1", "xd-int"}}));
  EXPECT_EQ(options.external_director_macs,
            (std::map<std::string, std::string>{{"eth1", "02:ab:00:00:00:01"}}));
}

// A failover pair's box: its [failover] commands, {cidr} {address} {dev} filled in quoted, and
// {dev} the box's own name for the topology interface where its port gives one.
TEST(ExternalDutFailover, RunsItsCommandsWithTheAddressAndTheBoxsInterface) {
  std::string text(kGoodConfig);
  text.replace(text.find("mac = \"02:AB:00:00:00:01\""), 26, "box_interface = \"ens1f1\"");
  text += R"([failover]
kill = "ssh box systemctl kill -s KILL keepalived"
take_vip = "ssh box ip addr add {cidr} dev {dev} && arping -U -I {dev} {address}"
)";
  std::vector<std::string> ran;
  ExternalDut dut(parse_external_config(text, kFile),
                  [&](const std::string& command, const std::string&) {
                    ran.push_back(command);
                    return Result{0, ""};
                  });
  EXPECT_EQ(dut.box_interface("eth1"), "ens1f1");
  EXPECT_EQ(dut.box_interface("eth0"), "eth0");
  ASSERT_TRUE(dut.run_failover_command(dut.config().failover.kill).has_value());
  ASSERT_TRUE(
      dut.run_vip_command(dut.config().failover.take_vip, "192.168.10.1/32", "eth1").has_value());
  EXPECT_FALSE(dut.run_failover_command(dut.config().failover.revive).has_value());
  EXPECT_FALSE(
      dut.run_vip_command(dut.config().failover.release_vip, "10.20.0.100/32", "eth0").has_value());
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0], "ssh box systemctl kill -s KILL keepalived");
  EXPECT_EQ(ran[1],
            "ssh box ip addr add 192.168.10.1/32 dev ens1f1 && arping -U -I ens1f1 192.168.10.1");
}

TEST(ExternalDutFailover, RefusesAVipCommandWithoutTheAddressAndUnknownKeys) {
  std::string text(kGoodConfig);
  EXPECT_TRUE(fails_with(text + "[failover]\ntake_vip = \"ssh box vip-up\"\n",
                         "box.toml:13:12: ", {"'take_vip' names no address", "{cidr}"}));
  EXPECT_TRUE(
      fails_with(text + "[failover]\nkil = \"x\"\n", "box.toml:13:1: ", {"unknown key 'kil'"}));
}

// A pair's second box lends its ports for the node of its role, not the director's.
TEST(ExternalDutFailover, ABackupBoxHandsItsPortsForTheBackupNode) {
  ExternalDut dut(parse_external_config(kGoodConfig, kFile));
  dut.set_role("backup");
  auto options = dut.bring_up_options();
  EXPECT_TRUE(options.external_director_ports.empty());
  EXPECT_EQ(options.external_boxes.at("backup").ports,
            (topo::ExternalPorts{{"eth0", "xd-ext"}, {"eth1", "xd-int"}}));
}

TEST(ExternalDut, WithoutAnAdminTemplateAdminSaysSo) {
  auto config = parse_external_config(kGoodConfig, kFile);
  config.admin.reset();
  ExternalDut dut(config, [](const std::string&, const std::string&) { return Result{0, ""}; });
  auto result = dut.admin({"-L", "-n"});
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.output.find("has no admin command"), std::string::npos) << result.output;
}

TEST(ExternalDut, RunsTheTemplateThroughTheShellWithTheRulesOnStdin) {
  auto config = parse_external_config(kGoodConfig, kFile);
  config.restore = "cat; echo done >&2; exit 3";
  ExternalDut dut(config);
  auto result = dut.restore("-A -t 10.0.0.1:80\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.output, "-C\n-A -t 10.0.0.1:80\ndone\n");
}

TEST(ExternalDut, SurvivesATemplateThatReadsNothing) {
  auto config = parse_external_config(kGoodConfig, kFile);
  config.restore = "exit 0";
  ExternalDut dut(config);
  // Larger than a pipe's buffer: a writer that ignored the early exit would block or die.
  EXPECT_TRUE(dut.restore(std::string(1 << 20, '#')).ok());
}

}  // namespace
}  // namespace vslab::dut
