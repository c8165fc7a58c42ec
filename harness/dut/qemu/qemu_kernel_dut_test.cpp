// The qemu-kernel DUT's parts that need no guest: the control channel's encoding, the shell
// lines it sends, the guest's set-up script for a topology, and its config file.
#include "dut/qemu/qemu_kernel_dut.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "dut/qemu/guest_channel.h"
#include "dut/run.h"
#include "topology/parse.h"

namespace vslab::dut::qemu {
namespace {

TEST(GuestChannelEncoding, Base64IsRfc4648) {
  // RFC 4648, section 10.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain);
  }
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  EXPECT_EQ(base64_decode(base64_encode(all_bytes)), all_bytes);
  EXPECT_THROW(base64_decode("Zm9v!"), std::invalid_argument);
}

TEST(GuestShellCommand, AShellSplitsItIntoTheSameWords) {
  const std::vector<std::string> argv{"-A",   "-t",        "10.0.0.1:80", "-s", "rr",
                                      "it's", "two words", "$HOME",       "",   "a\"b"};
  auto printed = run_with_input({"sh", "-c", "printf '[%s]' " + shell_command(argv)}, "");
  ASSERT_TRUE(printed.ok()) << printed.output;
  EXPECT_EQ(printed.output, "[-A][-t][10.0.0.1:80][-s][rr][it's][two words][$HOME][][a\"b]");
}

// A guest that never booted left an empty console; the boot failure's message took its tail
// with substr past the end, and the harness reported basic_string::substr instead.
TEST(ConsoleTail, AnEmptyConsoleSaysSoInsteadOfThrowing) {
  for (const std::string empty : {"", "\n", " \r\n"}) {
    std::string tail;
    ASSERT_NO_THROW(tail = console_tail(empty, 20)) << "console '" << empty << "'";
    EXPECT_EQ(tail, "(nothing: the guest printed nothing on its console)");
  }
}

TEST(ConsoleTail, KeepsTheLastLines) {
  EXPECT_EQ(console_tail("one line, no newline", 20), "one line, no newline");
  EXPECT_EQ(console_tail("a\nb\n", 20), "a\nb\n");
  EXPECT_EQ(console_tail("\nlate\n", 20), "\nlate\n");
  std::string many;
  for (int i = 1; i <= 30; ++i) many += "line " + std::to_string(i) + "\n";
  const std::string tail = console_tail(many, 20);
  EXPECT_TRUE(tail.starts_with("line 11\n")) << tail;
  EXPECT_TRUE(tail.ends_with("line 30\n")) << tail;
  EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 20);
}

topo::Topology topology(const std::string& name) {
  auto parsed =
      topo::parse_topology_file(std::string(VSLAB_SOURCE_DIR) + "/topologies/" + name + ".toml");
  EXPECT_TRUE(parsed.ok()) << (parsed.errors.empty() ? "" : parsed.errors.front());
  return *parsed.topology;
}

// Where `needle` is in `text`, failing the test when it is not.
std::size_t position(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << "no '" << needle << "' in:\n" << text;
  return at;
}

TEST(GuestSetupScript, GivesTheGuestTheNatDirectorsAddressesRoutesAndVip) {
  auto t = topology("nat");
  const topo::Node* director = t.find_role("director");
  ASSERT_NE(director, nullptr);
  auto script =
      guest_setup_script(*director, {{"eth0", "02:00:00:00:00:10"}, {"eth1", "02:00:00:00:00:11"}},
                         "10.20.0.100/32", "eth0");
  // topologies/nat.toml's director, as an admin would type it.
  auto rename0 = position(script, "nic=$(nic_with_mac 02:00:00:00:00:10)");
  position(script, "nic=$(nic_with_mac 02:00:00:00:00:11)");
  auto up = position(script, "ip link set dev eth0 mtu 1500 up");
  auto address = position(script, "ip addr add 10.20.0.2/24 dev eth0");
  position(script, "ip addr add 192.168.10.1/24 dev eth1");
  auto route = position(script, "ip route replace default via 10.20.0.1");
  auto own_sysctl = position(script, "sysctl -qw net.ipv4.ip_forward=0");
  auto forwarding = position(script, "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1");
  auto vip = position(script, "ip addr replace 10.20.0.100/32 dev eth0");
  auto flush = position(script, "ipvsadm -C");
  // Names before addresses, addresses before routes, kernel IPVS's forwarding after the
  // topology's own sysctls, the VIP and an empty table last.
  EXPECT_LT(rename0, up);
  EXPECT_LT(up, address);
  EXPECT_LT(address, route);
  EXPECT_LT(own_sysctl, forwarding);
  EXPECT_LT(forwarding, vip);
  EXPECT_LT(vip, flush);
}

TEST(GuestSetupScript, GivesADualStackDirectorItsIpv6AddressesForwardingAndVip) {
  auto t = topology("nat");
  auto script = guest_setup_script(*t.find_role("director"),
                                   {{"eth0", "02:00:00:00:00:10"}, {"eth1", "02:00:00:00:00:11"}},
                                   "10.20.0.100/32", "eth0", "fd00:20::100/128");
  auto on = position(
      script, "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0");
  auto up = position(script, "ip link set dev eth0 mtu 1500 up");
  auto address = position(script, "ip addr add fd00:20::2/64 dev eth0 nodad");
  position(script, "ip addr add fd00:168:10::1/64 dev eth1 nodad");
  auto route = position(script, "ip -6 route replace default via fd00:20::1");
  auto forwarding = position(script, "sysctl -qw net.ipv6.conf.all.forwarding=1");
  auto vip = position(script, "ip addr replace fd00:20::100/128 dev eth0 nodad");
  auto own_sysctl = position(script, "sysctl -qw net.ipv6.conf.all.forwarding=0");
  // Before the link is up: its link-local address is then never tentative.
  EXPECT_LT(on, up);
  EXPECT_LT(up, address);
  EXPECT_LT(address, route);
  EXPECT_LT(own_sysctl, forwarding);  // kernel IPVS's forwarding wins over the topology's
  EXPECT_LT(forwarding, vip);
}

TEST(GuestSetupScript, StopsAtTheFirstCommandThatFails) {
  auto t = topology("dr");
  auto script = guest_setup_script(*t.find_role("director"), {{"eth0", "02:00:00:00:00:10"}},
                                   "10.30.0.100/32", "eth0");
  EXPECT_EQ(script.rfind("set -e\n", 0), 0u) << script;
}

TEST(QemuKernelConfig, ReadsItsKeysAndNamesEveryMistake) {
  auto config = parse_qemu_kernel_config(
      "kernel_package = \"/tmp/k.deb\"\nmemory_mb = 512\nboot_timeout_s = 60\n", "q.toml");
  EXPECT_EQ(config.kernel_package, "/tmp/k.deb");
  EXPECT_EQ(config.memory_mb, 512);
  EXPECT_EQ(config.boot_timeout_s, 60);
  try {
    parse_qemu_kernel_config("memory_mb = 16\nboot_timeout_s = \"soon\"\nkernel = 1\n", "q.toml");
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("q.toml:1:"), std::string::npos) << what;
    EXPECT_NE(what.find("'memory_mb' 16 is out of range (128..4096)"), std::string::npos) << what;
    EXPECT_NE(what.find("'boot_timeout_s' must be an integer"), std::string::npos) << what;
    EXPECT_NE(what.find("q.toml:2:"), std::string::npos) << what;
    EXPECT_NE(what.find("unknown key 'kernel'"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace vslab::dut::qemu
