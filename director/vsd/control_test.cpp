// vsd's control socket is served beside the data plane, not by it: a vsadm that connects and
// then stalls mid-request must not hold up forwarding, and the socket serves the next client
// once the stalled one is dropped.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <gtest/gtest.h>
#include <tins/tins.h>

#include "frames/frame_builder.h"
#include "nat_bed.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"
#include "port/port.h"

namespace vsd {
namespace {

using namespace vslab;
using namespace std::chrono_literals;

os::UniqueFd connect_to(const std::string& path) {
  os::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

// One request line as a client of our own writes it, and the one line vsd answers ("" when
// vsd closes the connection without an answer).
std::string exchange(const std::string& path, const std::string& request_line) {
  auto fd = connect_to(path);
  if (!fd.valid() || !os::write_all(fd.get(), request_line + "\n")) return "";
  std::string answer;
  os::read_to_end(fd.get(), answer);
  return answer;
}

// A client that connects and sends half a request, then nothing.
class StalledClient {
 public:
  explicit StalledClient(const std::string& path) : fd_(connect_to(path)) {
    connected_ = fd_.valid();
    const char half[] = R"({"version":1,"op":)";
    connected_ = connected_ && os::write_all(fd_.get(), std::string_view(half, sizeof half - 1));
  }
  bool connected() const { return connected_; }

 private:
  os::UniqueFd fd_;
  bool connected_ = false;
};

TEST(VsdControl, AStalledClientDoesNotHoldUpForwarding) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& live = bed.live();
  auto& dut = bed.dut();
  ASSERT_TRUE(dut.restore("-A -t 10.20.0.100:80 -s rr\n"
                          "-a -t 10.20.0.100:80 -r 192.168.10.11:8080 -m\n")
                  .ok());
  port::Port wire(live.netns("router"), "eth1", "router-eth1");
  port::Port rs1(live.netns("rs1"), "eth0", "rs1");
  auto syn_to_vip = [&](uint16_t sport) {
    return frames::frame()
        .eth(wire.mac(), live.mac("director", "eth0"))
        .ipv4("10.10.0.2", "10.20.0.100")
        .tcp(sport, 80)
        .flags(frames::SYN)
        .bytes();
  };
  auto arrived = [&](uint16_t sport) {
    for (const auto& f : rs1.captured()) {
      Tins::EthernetII e(f.bytes.data(), f.bytes.size());
      if (auto* tcp = e.find_pdu<Tins::TCP>(); tcp && tcp->sport() == sport) return true;
    }
    return false;
  };

  {
    StalledClient stalled(dut.socket_path());
    ASSERT_TRUE(stalled.connected());
    // vsd gives a client 3 s to finish its request; forwarding must not wait for that.
    wire.send(syn_to_vip(40001));
    EXPECT_TRUE(rs1.wait_until([&](auto&) { return arrived(40001); }, 1s))
        << "a SYN waited for a stalled control client\n"
        << dut.log();
  }
  // The socket still serves: a rule change applies and the listing shows it.
  ASSERT_TRUE(dut.admin({"-a", "-t", "10.20.0.100:80", "-r", "192.168.10.12:8080", "-m"}).ok());
  auto listing = dut.admin({"-L", "-n"});
  ASSERT_TRUE(listing.ok()) << listing.output;
  EXPECT_NE(listing.output.find("192.168.10.12:8080"), std::string::npos) << listing.output;
}

// A request is checked by type before use: an "op" that is no string (a number, null, an
// array, an object) is refused with a clear error, and vsd lives on to serve the next client.
TEST(VsdControl, AnOpOfTheWrongTypeIsRefusedAndVsdServesOn) {
  if (!topo::have_net_admin())
    GTEST_SKIP() << "needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)";
  NatBed bed;
  auto& dut = bed.dut();
  for (const char* op : {"1", "null", "[]", "{}", "true"}) {
    const std::string request = std::string(R"({"version":1,"op":)") + op + "}";
    const std::string answer = exchange(dut.socket_path(), request);
    EXPECT_NE(answer.find(R"("ok":false)"), std::string::npos) << request << " -> " << answer;
    EXPECT_NE(answer.find("'op' must be a string"), std::string::npos)
        << request << " -> " << answer << "\n"
        << dut.log();
  }
  auto listing = dut.admin({"-L", "-n"});
  EXPECT_TRUE(listing.ok()) << listing.output << dut.log();
}

}  // namespace
}  // namespace vsd
