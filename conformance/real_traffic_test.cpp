// Real TCP through the director: curl in the client namespace fetches a page from busybox
// httpd in each real server's namespace through the VIP, and repeated fetches are spread as
// rr spreads connections (spec section 6: rs3, rs2, rs1 for servers added rs1, rs2, rs3).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mode_bed.h"

namespace vslab::conformance {
namespace {

struct Case {
  const char* mode;
  const char* rules;
};

class RealTraffic : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (!can_build_topologies())
      GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root) to create network "
                      "namespaces";
    for (const char* tool : {"curl", "busybox"})
      if (!topo::run_command({"sh", "-c", std::string("command -v ") + tool}).ok())
        GTEST_SKIP() << tool << " is not installed (scripts/setup.sh installs it)";
    bed_ = std::make_unique<ModeBed>(GetParam().mode, std::string("RealTraffic.") + GetParam().mode,
                                     false);
    pages_ = std::filesystem::temp_directory_path() /
             ("vslab-pages-" + std::to_string(getpid()) + "-" + GetParam().mode);
    for (int i = 1; i <= 3; ++i) {
      auto dir = pages_ / ("rs" + std::to_string(i));
      std::filesystem::create_directories(dir);
      std::ofstream(dir / "index.html") << "rs" << i << "\n";
      // Without -f, httpd returns once it listens: no waiting for it to come up.
      auto started = bed_->exec("rs" + std::to_string(i),
                                {"busybox", "httpd", "-p", "80", "-h", dir.string()});
      ASSERT_TRUE(started.ok()) << started.output;
    }
    bed_->restore(GetParam().rules);
  }
  void TearDown() override {
    if (HasFailure() && bed_) std::cerr << "vsd log:\n" << bed_->dut_log();
    bed_.reset();  // kills httpd with the namespaces
    std::filesystem::remove_all(pages_);
  }

  std::string fetch() {
    auto r = bed_->exec("client",
                        {"curl", "-s", "--max-time", "5", "http://" + bed_->vip() + "/index.html"});
    return r.ok() ? r.output : "curl failed (" + std::to_string(r.exit_code) + "): " + r.output;
  }

  std::unique_ptr<ModeBed> bed_;
  std::filesystem::path pages_;
};

TEST_P(RealTraffic, CurlFetchesThroughTheVipInRoundRobinOrder) {
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) got.push_back(fetch());
  std::vector<std::string> want{"rs3\n", "rs2\n", "rs1\n", "rs3\n", "rs2\n", "rs1\n"};
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Modes, RealTraffic,
                         testing::Values(Case{"nat",
                                              "-A -t 10.20.0.100:80 -s rr\n"
                                              "-a -t 10.20.0.100:80 -r 192.168.10.11:80 -m\n"
                                              "-a -t 10.20.0.100:80 -r 192.168.10.12:80 -m\n"
                                              "-a -t 10.20.0.100:80 -r 192.168.10.13:80 -m\n"},
                                         Case{"dr",
                                              "-A -t 10.30.0.100:80 -s rr\n"
                                              "-a -t 10.30.0.100:80 -r 10.30.0.11:80 -g\n"
                                              "-a -t 10.30.0.100:80 -r 10.30.0.12:80 -g\n"
                                              "-a -t 10.30.0.100:80 -r 10.30.0.13:80 -g\n"},
                                         Case{"fullnat",
                                              "-A -t 10.60.0.100:80 -s rr\n"
                                              "-a -t 10.60.0.100:80 -r 192.168.60.11:80 -b\n"
                                              "-a -t 10.60.0.100:80 -r 192.168.60.12:80 -b\n"
                                              "-a -t 10.60.0.100:80 -r 192.168.60.13:80 -b\n"
                                              "--add-laddr -z 192.168.60.200 -t 10.60.0.100:80\n"}),
                         [](const testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.mode);
                         });

}  // namespace
}  // namespace vslab::conformance
