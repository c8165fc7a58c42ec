// Linux IPVS as the DUT on a machine whose own kernel has none: a stock Debian kernel booted
// under qemu (software emulation, microvm) inside the topology's director namespace. Each of
// the director's interfaces becomes a virtio-net NIC of the guest with the same name, MAC and
// addresses; its tap is joined to the topology's veth by an nftables netdev forward both ways,
// so the guest sits on the wire exactly where vsd would. The guest is configured as an LVS
// admin configures a director (addresses, routes, the node's sysctls, ip_forward, the VIP,
// ipvsadm) through a virtio-serial control channel; its NICs carry only the topology's traffic.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dut/dut.h"
#include "os/child_process.h"

namespace vslab::dut::qemu {

class GuestChannel;
struct GuestImage;

// The qemu-kernel DUT's optional --dut-config (TOML); every key is optional.
struct QemuKernelConfig {
  std::string kernel_package;  // a linux-image-*.deb; default: the newest in <cache>/debs
  std::string cache_dir;       // default: $VSLAB_CACHE_DIR or /var/cache/vslab
  int memory_mb = 256;
  int boot_timeout_s = 120;  // from qemu's start to the guest's READY, under TCG and load
};
QemuKernelConfig parse_qemu_kernel_config(std::string_view text, const std::string& source_name);
// The qemu-kernel kind of dut/kinds.h, with spec.config_file read when given.
std::unique_ptr<Dut> make_qemu_kernel_dut(const DutSpec& spec);

// What the guest runs to become the topology's director: NICs renamed to the director's
// interface names (found by MAC), their MTUs, addresses and routes, the loopback addresses, the
// node's sysctls, forwarding and IPVS conntrack, the VIP on `vip_interface`, an empty IPVS
// table. `macs`: director interface -> the MAC its guest NIC was given. With `vip6_cidr` (a
// dual-stack topology's vip6) also IPv6 forwarding and that VIP beside the first.
std::string guest_setup_script(const topo::Node& director,
                               const std::map<std::string, std::string>& macs,
                               const std::string& vip_cidr, const std::string& vip_interface,
                               const std::string& vip6_cidr = "");

// The last `lines` lines of the guest's console for a boot failure's message, or a sentence
// saying that it is empty.
std::string console_tail(const std::string& console, std::size_t lines);

// ipvsadm's arguments as one shell command line for the guest's sh.
std::string shell_command(const std::vector<std::string>& argv);

class QemuKernelDut final : public Dut {
 public:
  explicit QemuKernelDut(QemuKernelConfig config = {});
  ~QemuKernelDut() override;
  std::string name() const override { return "qemu-kernel"; }
  // Linux 6.1: no FULLNAT (not in mainline), no twos (since 6.5).
  bool claims_mode(const std::string& mode) const override;
  bool claims_scheduler(const std::string& name) const override;
  // Linux IPVS forwards IPv6 in NAT, DR and TUN (ip6ip6).
  bool claims_family(int family) const override { return family == 4 || family == 6; }
  // Software emulation: the guest's 2 s stats estimator and its timers run late under load.
  int slowness() const override { return 4; }
  // ldirectord is a perl program; the guest's initramfs has busybox, iproute2 and ipvsadm only.
  std::optional<std::string> health_checker_unavailable() const override {
    return "the qemu guest has no perl (its initramfs holds busybox, iproute2 and ipvsadm "
           "only), so ldirectord cannot run beside its IPVS";
  }
  // Builds (or finds in the cache) the guest, boots it wired into the director's ports and
  // configures it. Throws DutUnavailable when qemu or the kernel package is missing.
  void start(const topo::LiveTopology& topology) override;
  Result restore(const std::string& rules) override;
  Result admin(const std::vector<std::string>& args) override;
  Result set_ipvs_sysctl(const std::string& name, const std::string& value) override {
    return guest(ipvs_sysctl_script(name, value));
  }
  void stop() override;
  // A shell script run by the guest's sh (busybox, iproute2, ipvsadm): what an admin types on
  // the director's console beyond ipvsadm, e.g. `ip addr del` of the VIP on a backup.
  Result shell(const std::string& script) { return guest(script); }
  // Which node it runs on: the topology's node of this role ("director" unless set before
  // start), for a topology of two directors.
  void set_role(std::string role) { role_ = std::move(role); }
  // A crash of the director's box: qemu SIGKILLed, its taps left until the next start or stop.
  void kill() { qemu_.kill_and_reap(); }
  std::optional<std::string> failure(bool look_closer = false) const override;

  // Seconds from qemu's start to the guest's READY line, for the notes and the report.
  double boot_seconds() const { return boot_seconds_; }
  // What the guest printed on its serial console (kernel messages, /init's complaints).
  std::string console() const;

 private:
  void wire_ports(const topo::Node& director, std::map<std::string, std::string>& macs);
  void start_qemu(const topo::Node& director, const std::map<std::string, std::string>& macs,
                  const GuestImage& image, const std::filesystem::path& run_dir);
  Result guest(const std::string& script);

  QemuKernelConfig config_;
  std::string role_ = "director";
  std::string netns_;
  std::vector<std::string> taps_;
  std::filesystem::path console_path_;
  std::unique_ptr<GuestChannel> channel_;
  os::ChildProcess qemu_;
  double boot_seconds_ = 0;
};

}  // namespace vslab::dut::qemu
