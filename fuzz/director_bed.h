// The director the dataplane and control targets drive: vsd's data plane over two memory ports
// (vsd/memory_bed.h's addresses: clients behind the router 10.0.0.254 on ext, the real servers
// on int) on a clock the input moves, with a service of every forwarding method, both
// protocols, persistence (one service with the SIP engine), a port-0 service and a
// firewall-mark service. A fresh one per input,
// so that a crash reproduces from its input alone.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "conn/clock.h"
#include "ctl/apply.h"
#include "io/memory_port.h"
#include "vsd/dataplane.h"
#include "vsd/memory_bed.h"

namespace vslab::fuzz {

// In ipvsadm's save format, as -R reads it.
inline constexpr const char* kBedRules = R"(-A -t 10.0.0.100:80 -s rr
-a -t 10.0.0.100:80 -r 192.168.1.11:8080 -m -w 1
-a -t 10.0.0.100:80 -r 192.168.1.12:8080 -m -w 2
-A -u 10.0.0.100:53 -s wlc
-a -u 10.0.0.100:53 -r 192.168.1.11:53 -m
-A -t 10.0.0.100:81 -s rr --toa
-a -t 10.0.0.100:81 -r 192.168.1.11:8080 -b
--add-laddr -z 192.168.1.2 -t 10.0.0.100:81
-A -u 10.0.0.100:81 -s rr
-a -u 10.0.0.100:81 -r 192.168.1.12:5353 -b
--add-laddr -z 192.168.1.2 -u 10.0.0.100:81
-A -t 10.0.0.100:82 -s wrr
-a -t 10.0.0.100:82 -r 192.168.1.12 -g
-A -t 10.0.0.100:83 -s lc
-a -t 10.0.0.100:83 -r 192.168.1.13 -i
-A -u 10.0.0.100:83 -s sh
-a -u 10.0.0.100:83 -r 192.168.1.13 -i
-A -t 10.0.0.100:443 -s sh -p 300
-a -t 10.0.0.100:443 -r 192.168.1.11:443 -m
-a -t 10.0.0.100:443 -r 192.168.1.12:443 -m
-A -u 10.0.0.100:5060 -s rr -p 60 --pe sip
-a -u 10.0.0.100:5060 -r 192.168.1.11:5060 -m
-a -u 10.0.0.100:5060 -r 192.168.1.12:5060 -m
-A -u 10.0.0.101:0 -s rr -p 60
-a -u 10.0.0.101:0 -r 192.168.1.12 -g
-A -f 7 -s rr
-a -f 7 -r 192.168.1.12:443 -m
--add-mark -f 7 --proto tcp --dest 172.20.0.0/24 --dport 443
)";

inline constexpr std::size_t kExt = 0, kInt = 1;

class DirectorBed {
 public:
  DirectorBed() : clock_(1'000'000) {
    const vsd::Mac ext{{0x02, 0, 0, 0, 0, 0xfe}}, intl{{0x02, 0, 0, 0, 1, 0xfe}};
    ports_.push_back(std::make_unique<vsd::MemoryPort>("ext", ext, 1500, 32, 2048));
    ports_.push_back(std::make_unique<vsd::MemoryPort>("int", intl, 1500, 32, 2048));
    // Small limits, so that an input can fill them.
    vsd::fwd::ReassemblyLimits reassembly{16, 64 << 10, 30000};
    plane_ = std::make_unique<vsd::MemoryDataplane>(ports_, vsd::two_port_routes(), clock_,
                                                    reassembly, vsd::ConnTableConfig{64, 64});
    vsd::RuleSet rules;
    if (auto failure = vsd::ctl::apply_restore(rules, kBedRules)) die(failure->message);
    if (auto error = plane_->install(rules); !error.empty()) die(error);
  }

  vsd::MemoryDataplane& plane() { return *plane_; }
  vsd::ManualClock& clock() { return clock_; }
  vsd::MemoryPort& port(std::size_t i) { return *ports_[i]; }

 private:
  [[noreturn]] static void die(const std::string& why) {
    std::fprintf(stderr, "fuzz/director_bed.h: the bed's rules do not install: %s\n", why.c_str());
    std::abort();
  }
  vsd::ManualClock clock_;
  std::vector<std::unique_ptr<vsd::MemoryPort>> ports_;
  std::unique_ptr<vsd::MemoryDataplane> plane_;
};

}  // namespace vslab::fuzz
