// vsadm installed or mounted under the name ipvsadm (as ldirectord and other ipvsadm users run
// it) finds vsd the way vsadm does: --socket PATH, else $VSD_SOCKET, else /run/vsd/vsd.sock.
// A stand-in vsd on a socket of the test's own records what reaches it and answers it.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

// Answers one request on `path` with a listing and keeps the request line.
class StandInVsd {
 public:
  explicit StandInVsd(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0)
      throw std::runtime_error("cannot listen on " + path);
    thread_ = std::thread([this] {
      const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) return;
      char buffer[4096];
      for (ssize_t n; (n = ::read(conn, buffer, sizeof buffer)) > 0;) {
        request_.append(buffer, static_cast<std::size_t>(n));
        if (request_.find('\n') != std::string::npos) break;
      }
      const std::string answer = R"({"exit":0,"output":"from the stand-in\n"})"
                                 "\n";
      (void)!::write(conn, answer.data(), answer.size());
      ::close(conn);
    });
  }
  ~StandInVsd() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes an accept() that got no client
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  // The request line, once the one client has been answered.
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  int fd_ = -1;
  std::string request_;
  std::thread thread_;
};

struct Output {
  int status = -1;
  std::string text;
};

Output run_shell(const std::string& command) {
  Output out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[512];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    out.text.append(buffer, n);
  out.status = ::pclose(pipe);
  return out;
}

class VsadmAsIpvsadm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vsadm-as-ipvsadm-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::create_symlink(VSLAB_VSADM_BINARY, dir_ / "ipvsadm");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string ipvsadm() const { return (dir_ / "ipvsadm").string(); }
  std::string socket(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

TEST_F(VsadmAsIpvsadm, FindsVsdThroughVsdSocket) {
  StandInVsd vsd(socket("env.sock"));
  const Output out = run_shell("VSD_SOCKET=" + socket("env.sock") + " " + ipvsadm() + " -L -n");
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(out.text, "from the stand-in\n");
  EXPECT_NE(vsd.request().find(R"("argv":["-L","-n"])"), std::string::npos) << vsd.request();
}

TEST_F(VsadmAsIpvsadm, SocketOptionWinsOverTheEnvironment) {
  StandInVsd vsd(socket("option.sock"));
  const Output out = run_shell("VSD_SOCKET=" + socket("absent.sock") + " " + ipvsadm() +
                               " --socket " + socket("option.sock") + " -L -n --thresholds");
  EXPECT_EQ(out.status, 0) << out.text;
  EXPECT_NE(vsd.request().find(R"("argv":["-L","-n","--thresholds"])"), std::string::npos)
      << vsd.request();
}

// What ldirectord logs when vsd is not there: the socket vsadm tried.
TEST_F(VsadmAsIpvsadm, AnUnreachableSocketIsNamedInTheError) {
  const Output out = run_shell("VSD_SOCKET=" + socket("absent.sock") + " " + ipvsadm() + " -L -n");
  EXPECT_NE(out.status, 0);
  EXPECT_NE(out.text.find("cannot reach vsd at " + socket("absent.sock")), std::string::npos)
      << out.text;
}

}  // namespace
