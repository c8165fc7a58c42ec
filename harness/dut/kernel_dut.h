// Linux IPVS as the DUT: the director namespace's own kernel forwards, configured with ipvsadm
// run inside that namespace. Where the running kernel has no IPVS (/proc/net/ip_vs) or
// ipvsadm is missing, start() throws DutUnavailable saying which, and every case skips.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dut/dut.h"

namespace vslab::dut {

// What the adapter asks of the machine; tests replace it to see the commands it would run.
struct KernelHost {
  std::function<Result(const std::vector<std::string>& argv, const std::string& input)> run;
  std::function<bool(const std::string& path)> exists;
  std::function<bool(const std::string& program)> installed;  // a path, or a name on PATH
  std::string kernel_release;                                 // uname -r
  static KernelHost real();
};

// A kernel DUT's optional --dut-config: `ipvsadm = "/path/to/ipvsadm"`. Throws
// std::invalid_argument with "FILE:LINE:COLUMN: message" lines.
struct KernelConfig {
  std::string ipvsadm = "ipvsadm";
};
KernelConfig parse_kernel_config(std::string_view text, const std::string& source_name);
// The kernel kind of dut/kinds.h, with spec.config_file read as a KernelConfig when given.
std::unique_ptr<Dut> make_kernel_dut(const DutSpec& spec);

// The director's interface on the client's side: the one from which the client node can be
// reached over links and bridges without passing through the director. Throws when none is.
// `role`: the director's role (a topology of two directors names the second otherwise).
std::string interface_towards_client(const topo::Topology& topology,
                                     const std::string& role = "director");

class KernelDut final : public Dut {
 public:
  explicit KernelDut(KernelConfig config = {}, KernelHost host = KernelHost::real());
  ~KernelDut() override;
  std::string name() const override { return "kernel"; }
  // FULLNAT is not in mainline; twos is (since 6.5) but cannot be detected without loading
  // modules, so it is not claimed.
  bool claims_mode(const std::string& mode) const override;
  bool claims_scheduler(const std::string& name) const override;
  // Linux IPVS forwards IPv6 in NAT, DR and TUN (ip6ip6).
  bool claims_family(int family) const override { return family == 4 || family == 6; }
  void start(const topo::LiveTopology& topology) override;
  // The same for a topology known by its description and director namespace.
  void start_in(const topo::Topology& topology, const std::string& director_netns);
  // ipvsadm -C, then ipvsadm -R with the rules.
  Result restore(const std::string& rules) override;
  Result admin(const std::vector<std::string>& args) override;
  Result set_ipvs_sysctl(const std::string& name, const std::string& value) override;
  void stop() override;
  // In the director's namespace as it is: any ipvsadm there configures this kernel's IPVS.
  std::optional<std::string> health_checker_unavailable() const override { return std::nullopt; }
  std::vector<std::string> beside_director(const std::vector<std::string>& argv) const override {
    return in_netns(argv);
  }

  // Why kernel IPVS cannot run in that namespace, or nothing when it can.
  std::optional<std::string> unavailable_reason(const std::string& netns) const;

 private:
  std::vector<std::string> in_netns(std::vector<std::string> argv) const;
  void must_run(const std::vector<std::string>& argv, const std::string& purpose);

  KernelConfig config_;
  KernelHost host_;
  std::string netns_;  // empty until started
  std::string vip_cidr_, vip_interface_;
  std::string vip6_cidr_;  // empty: the topology has no vip6
};

}  // namespace vslab::dut
