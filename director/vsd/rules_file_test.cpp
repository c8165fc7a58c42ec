// vsd --rules as a service unit uses it: the file is loaded at start, SIGHUP loads it again and
// the file's rules replace the whole set, and a file that does not parse on SIGHUP changes
// nothing and says why in the log. vsd runs as a program in topologies/nat.toml.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "nat_bed.h"
#include "topology/netns.h"

namespace vsd {
namespace {

using namespace std::chrono_literals;

// ipvsadm -S -n of each file's rules, as ipvsadm prints them (weight 1 is printed).
constexpr const char* kFirst =
    "-A -t 10.20.0.100:80 -s rr\n"
    "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m -w 1\n";
constexpr const char* kSecond =
    "-A -t 10.20.0.100:443 -s wlc\n"
    "-a -t 10.20.0.100:443 -r 192.168.10.12:443 -m -w 3\n";

class RulesFile : public testing::Test {
 protected:
  void SetUp() override {
    if (!vslab::topo::have_net_admin())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
    path_ = std::filesystem::temp_directory_path() /
            ("vsd-rules-" + std::to_string(getpid()) + "-" +
             testing::UnitTest::GetInstance()->current_test_info()->name() + ".rules");
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }
  std::vector<std::string> vsd_args() const { return {"--rules", path_.string()}; }

  // vsd's pid, from the peer of a connection to its control socket.
  static pid_t vsd_pid(const std::string& socket_path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    ucred peer{};
    socklen_t len = sizeof peer;
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0;
    close(fd);
    return ok ? peer.pid : -1;
  }

  // Polls vsd's log until `text` has appeared `times` times, for at most 5 s.
  static bool log_shows(vslab::dut::BuiltinDut& dut, const std::string& text, int times) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    do {
      const std::string log = dut.log();
      int seen = 0;
      for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++seen;
      if (seen >= times) return true;
      std::this_thread::sleep_for(10ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
  }

  std::filesystem::path path_;
};

TEST_F(RulesFile, IsLoadedBeforeVsdSaysReady) {
  write(std::string("# the web service\n") + kFirst);
  NatBed bed(vsd_args());
  auto saved = bed.dut().admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output, kFirst);
}

TEST_F(RulesFile, SighupReplacesTheWholeSetWithTheFile) {
  write(kFirst);
  NatBed bed(vsd_args());
  auto& dut = bed.dut();
  // A change by hand is not in the file, so the reload drops it.
  ASSERT_TRUE(dut.admin({"-A", "-u", "10.20.0.100:53", "-s", "sh"}).ok());
  write(kSecond);
  pid_t pid = vsd_pid(dut.socket_path());
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  ASSERT_TRUE(log_shows(dut, "rules loaded from", 2)) << dut.log();
  auto saved = dut.admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << saved.output;
  EXPECT_EQ(saved.output, kSecond);
}

TEST_F(RulesFile, AFileThatDoesNotParseOnSighupChangesNothing) {
  write(kFirst);
  NatBed bed(vsd_args());
  auto& dut = bed.dut();
  write(std::string(kSecond) + "-a -t 10.20.0.100:443 -r 192.168.10.13:443 -m -w many\n");
  ASSERT_EQ(kill(vsd_pid(dut.socket_path()), SIGHUP), 0);
  ASSERT_TRUE(log_shows(dut, "line 3:", 1)) << dut.log();
  EXPECT_NE(dut.log().find("the rules in service are unchanged"), std::string::npos) << dut.log();
  auto saved = dut.admin({"-S", "-n"});
  ASSERT_TRUE(saved.ok()) << "vsd should still serve: " << saved.output << dut.log();
  EXPECT_EQ(saved.output, kFirst);
}

}  // namespace
}  // namespace vsd
