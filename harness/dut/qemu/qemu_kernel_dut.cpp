#include "dut/qemu/qemu_kernel_dut.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/core.h>

#include "dut/config_reader.h"
#include "dut/kernel_dut.h"
#include "dut/qemu/guest_channel.h"
#include "dut/qemu/guest_image.h"
#include "dut/run.h"
#include "dut/schedulers.h"
#include "os/unique_fd.h"
#include "topology/live.h"
#include "topology/netns.h"
#include "topology/runs.h"

namespace vslab::dut::qemu {
namespace fs = std::filesystem;
namespace {

// A command in the guest: ipvsadm -R of a big table under TCG takes a few seconds.
constexpr std::chrono::seconds kCommandTimeout{60};

std::string quoted(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-+=.,:/@%") == std::string::npos)
    return word;
  std::string out = "'";
  for (char c : word) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += '\'';
  return out;
}

std::string trimmed(const std::string& text) {
  auto end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

std::string must_run(const std::vector<std::string>& argv, const std::string& purpose) {
  auto result = run_with_input(argv, "");
  if (!result.ok())
    throw std::runtime_error(fmt::format("qemu-kernel DUT: {} failed\n  command: {}\n  {}", purpose,
                                         topo::shell_quote(argv), trimmed(result.output)));
  return result.output;
}

// The TSC frequency for the guest's command line: microvm has neither HPET nor the ACPI PM
// timer to calibrate against, and a calibration against nothing sometimes hangs the boot.
long host_tsc_khz() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.starts_with("cpu MHz")) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return std::lround(std::stod(line.substr(colon + 1)) * 1000);
    }
  return 0;
}

}  // namespace

QemuKernelConfig parse_qemu_kernel_config(std::string_view text, const std::string& source_name) {
  ConfigErrors errors(source_name);
  QemuKernelConfig config;
  if (auto root = parse_config(text, source_name, errors)) {
    reject_unknown_keys(*root, {"kernel_package", "cache_dir", "memory_mb", "boot_timeout_s"},
                        "at top level", errors);
    if (auto v = optional_string(*root, "kernel_package", errors)) config.kernel_package = v->value;
    if (auto v = optional_string(*root, "cache_dir", errors)) config.cache_dir = v->value;
    for (auto [key, field, low, high] :
         {std::tuple{"memory_mb", &config.memory_mb, 128, 4096},
          std::tuple{"boot_timeout_s", &config.boot_timeout_s, 5, 3600}})
      if (auto value = optional_integer(*root, key, low, high, errors))
        *field = static_cast<int>(value->value);
  }
  errors.throw_if_any();
  return config;
}

std::string shell_command(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& word : argv) {
    if (!line.empty()) line += ' ';
    line += quoted(word);
  }
  return line;
}

std::string guest_setup_script(const topo::Node& director,
                               const std::map<std::string, std::string>& macs,
                               const std::string& vip_cidr, const std::string& vip_interface,
                               const std::string& vip6_cidr) {
  std::ostringstream s;
  s << "set -e\n"
       "nic_with_mac() {\n"
       "  for d in /sys/class/net/*; do\n"
       "    [ \"$(cat \"$d/address\")\" = \"$1\" ] && { echo \"${d##*/}\"; return 0; }\n"
       "  done\n"
       "  echo \"no guest NIC has MAC $1\" >&2; return 1\n"
       "}\n";
  // Through temporary names: the NICs' own names (eth0, eth1...) may be the topology's in
  // another order.
  int index = 0;
  for (const auto& iface : director.interfaces) {
    s << fmt::format("nic=$(nic_with_mac {})\n", quoted(macs.at(iface.name)));
    s << fmt::format("ip link set dev \"$nic\" name vslab{}\n", index++);
  }
  index = 0;
  for (const auto& iface : director.interfaces) {
    s << fmt::format("ip link set dev vslab{} name {}\n", index++, quoted(iface.name));
    const bool has_ipv6 =
        std::ranges::any_of(iface.addresses, [](const auto& a) { return a.is_v6; });
    if (has_ipv6) {
      // On (the guest starts with IPv6 off) and without duplicate address detection, so the
      // addresses are usable at once, as in the topology's namespaces. Before the link comes
      // up: the link-local address made then would otherwise stay tentative for a second or
      // two, and while it is, Linux sends no neighbour solicitation from that port (a DR
      // director's first frame to a real server waited for it and was lost).
      s << fmt::format(
          "sysctl -qw net.ipv6.conf.{0}.disable_ipv6=0 net.ipv6.conf.{0}.accept_dad=0\n",
          iface.name);
    }
    s << fmt::format("ip link set dev {} mtu {} up\n", quoted(iface.name), iface.mtu);
    for (const auto& address : iface.addresses)
      s << fmt::format("ip addr add {} dev {}{}\n", address.str(), quoted(iface.name),
                       address.is_v6 ? " nodad" : "");
  }
  for (const auto& address : director.loopback_addresses)
    s << fmt::format("ip addr add {} dev lo\n", address.str());
  for (const auto& route : director.routes) {
    std::vector<std::string> argv{"ip"};
    if (route.is_v6) argv.push_back("-6");
    argv.insert(argv.end(), {"route", "replace", route.to});
    if (route.via) argv.insert(argv.end(), {"via", *route.via});
    if (route.dev) argv.insert(argv.end(), {"dev", *route.dev});
    s << shell_command(argv) << "\n";
  }
  for (const auto& [key, value] : director.sysctls)
    s << shell_command({"sysctl", "-qw", key + "=" + value}) << "\n";
  // What kernel IPVS needs whatever the topology set for a user-space director (spec 11).
  s << "sysctl -qw net.ipv4.ip_forward=1 net.ipv4.vs.conntrack=1\n";
  s << fmt::format("ip addr replace {} dev {}\n", vip_cidr, quoted(vip_interface));
  if (!vip6_cidr.empty()) {
    // Kernel IPVS forwards IPv6 only where the host forwards it.
    s << "sysctl -qw net.ipv6.conf.all.forwarding=1\n";
    s << fmt::format("ip addr replace {} dev {} nodad\n", vip6_cidr, quoted(vip_interface));
  }
  s << "ipvsadm -C\n";
  return s.str();
}

QemuKernelDut::QemuKernelDut(QemuKernelConfig config) : config_(std::move(config)) {}

QemuKernelDut::~QemuKernelDut() {
  stop();
}

bool QemuKernelDut::claims_mode(const std::string& mode) const {
  return mode == "nat" || mode == "dr" || mode == "tun";
}

bool QemuKernelDut::claims_scheduler(const std::string& name) const {
  return is_kernel61_scheduler(name);
}

void QemuKernelDut::start(const topo::LiveTopology& topology) {
  const topo::Topology& t = topology.topology();
  const topo::Node* director = t.find_role(role_);
  if (!director) throw std::runtime_error("topology '" + t.name + "' has no " + role_ + " node");
  if (!t.lvs.vip)
    throw std::runtime_error(
        fmt::format("topology '{}' has no [lvs] vip for the kernel director to own", t.name));
  if (run_with_input({"qemu-system-x86_64", "--version"}, "").exit_code != 0)
    throw DutUnavailable(
        "qemu-kernel DUT: qemu-system-x86_64 is not installed (scripts/setup.sh installs "
        "qemu-system-x86)");
  const fs::path cache = config_.cache_dir.empty() ? cache_dir() : fs::path(config_.cache_dir);
  fs::path package;
  try {
    package = config_.kernel_package.empty() ? find_kernel_package(cache)
                                             : fs::path(config_.kernel_package);
  } catch (const std::exception& e) {
    throw DutUnavailable(std::string("qemu-kernel DUT: ") + e.what());
  }
  if (!fs::exists(package))
    throw DutUnavailable("qemu-kernel DUT: kernel package " + package.string() + " not found");
  // Built (or found in the cache) before the namespace is touched: a failed build leaves the
  // topology as it was.
  const GuestImage image = prepare_guest_image(cache, package);
  stop();
  netns_ = topology.netns(director->name);
  // A directory per role: the two guests of a failover pair have a channel and console each.
  auto run_dir = fs::path(topo::run_files_dir(topology.naming().prefix)) / ("qemu-" + role_);
  fs::create_directories(run_dir);

  std::map<std::string, std::string> macs;
  wire_ports(*director, macs);
  start_qemu(*director, macs, image, run_dir);
  auto setup = guest(guest_setup_script(*director, macs, *t.lvs.vip + "/32",
                                        interface_towards_client(t, role_),
                                        t.lvs.vip6 ? *t.lvs.vip6 + "/128" : std::string()));
  if (!setup.ok()) {
    std::string why = trimmed(setup.output);
    stop();
    throw std::runtime_error("qemu-kernel DUT: configuring the guest failed: " + why);
  }
}

void QemuKernelDut::wire_ports(const topo::Node& director,
                               std::map<std::string, std::string>& macs) {
  // One nftables table joins each veth to its tap: whatever arrives on one leaves by the
  // other, before the namespace's own stack could see it.
  std::string rules = "table netdev vslab_qemu {\n";
  for (std::size_t i = 0; i < director.interfaces.size(); ++i) {
    const auto& iface = director.interfaces[i];
    const std::string tap = fmt::format("vslabq{}", i);
    macs[iface.name] = trimmed(must_run(
        {"ip", "netns", "exec", netns_, "cat", "/sys/class/net/" + iface.name + "/address"},
        "reading the MAC of " + iface.name));
    must_run({"ip", "-n", netns_, "tuntap", "add", "dev", tap, "mode", "tap"}, "tap " + tap);
    taps_.push_back(tap);
    must_run(
        {"ip", "-n", netns_, "link", "set", "dev", tap, "mtu", std::to_string(iface.mtu), "up"},
        "tap " + tap + " up");
    // The namespace keeps the veth but gives its addresses to the guest, so that only the
    // guest answers ARP and owns the director's addresses.
    must_run({"ip", "-n", netns_, "addr", "flush", "dev", iface.name},
             "moving the addresses of " + iface.name + " to the guest");
    rules += fmt::format(
        "  chain from_{0} {{ type filter hook ingress device \"{0}\" priority 0; fwd to \"{1}\"; "
        "}}\n  chain from_{1} {{ type filter hook ingress device \"{1}\" priority 0; fwd to "
        "\"{0}\"; }}\n",
        iface.name, tap);
  }
  rules += "}\n";
  auto loaded = run_with_input({"ip", "netns", "exec", netns_, "nft", "-f", "-"}, rules);
  if (!loaded.ok())
    throw std::runtime_error("qemu-kernel DUT: joining taps to the director's ports failed:\n" +
                             trimmed(loaded.output) + "\nrules:\n" + rules);
}

void QemuKernelDut::start_qemu(const topo::Node& director,
                               const std::map<std::string, std::string>& macs,
                               const GuestImage& image, const fs::path& run_dir) {
  channel_ = std::make_unique<GuestChannel>((run_dir / "qemu-ctl.sock").string());
  console_path_ = run_dir / "qemu-console.log";

  std::string append = "console=ttyS0 quiet panic=-1 reboot=t";
  if (long khz = host_tsc_khz(); khz > 0) append += fmt::format(" tsc_early_khz={}", khz);
  std::vector<std::string> argv{
      "ip", "netns", "exec", netns_, "qemu-system-x86_64",
      // microvm: no PCI, no firmware tables to walk: seconds less of boot under TCG.
      "-M", "microvm,pit=off,pic=off,rtc=off,isa-serial=on", "-accel", "tcg", "-smp", "1", "-m",
      std::to_string(config_.memory_mb), "-nodefaults", "-no-user-config", "-nographic",
      "-no-reboot", "-kernel", image.vmlinux.string(), "-initrd", image.initramfs.string(),
      "-append", append, "-serial", "file:" + console_path_.string(), "-chardev",
      "socket,id=ctl,path=" + channel_->socket_path(), "-device", "virtio-serial-device", "-device",
      "virtserialport,chardev=ctl,name=vslab.ctl"};
  for (std::size_t i = 0; i < director.interfaces.size(); ++i) {
    const auto& iface = director.interfaces[i];
    argv.insert(
        argv.end(),
        {"-netdev",
         fmt::format("tap,id=n{},ifname={},script=no,downscript=no,vnet_hdr=off", i, taps_[i]),
         "-device",
         // No offloads: the guest computes every checksum and sends wire-sized frames,
         // as the topology's veths do (docs/design.md, "veth offloads").
         fmt::format("virtio-net-device,netdev=n{},mac={},csum=off,guest_csum=off,"
                     "gso=off,guest_tso4=off,guest_tso6=off,guest_ecn=off,"
                     "guest_ufo=off,host_tso4=off,host_tso6=off,host_ecn=off,"
                     "host_ufo=off,mrg_rxbuf=off",
                     i, macs.at(iface.name))});
  }
  const auto started = std::chrono::steady_clock::now();
  const os::UniqueFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  const std::string log = (run_dir / "qemu.log").string();
  const os::UniqueFd log_fd(open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  os::SpawnOptions options;
  options.stdin_fd = null_fd.get();
  options.stdout_fd = log_fd.get();
  options.stderr_fd = log_fd.get();
  // qemu never outlives the harness process that started it.
  options.parent_death_signal = SIGKILL;
  options.new_process_group = true;  // ^C is for the harness, which then stops the guest
  try {
    qemu_ = os::ChildProcess::spawn(argv, options);
  } catch (const std::system_error&) {
    throw std::runtime_error("fork failed");
  }
  std::string release;
  try {
    release = channel_->wait_ready(started + std::chrono::seconds(config_.boot_timeout_s));
  } catch (const std::exception& e) {
    std::ifstream in(run_dir / "qemu.log");
    std::string qemu_log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string message = fmt::format(
        "qemu-kernel DUT: the guest did not come up within {} s: {}\nqemu said: {}\nconsole "
        "(last lines):\n{}",
        config_.boot_timeout_s, e.what(), trimmed(qemu_log), console_tail(console(), 20));
    stop();
    throw std::runtime_error(message);
  }
  boot_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // For the run's log: what a kernel reference costs on this machine.
  fmt::print(stderr, "vslab: qemu-kernel guest (Linux {}) up in {:.1f} s\n", release,
             boot_seconds_);
}

Result QemuKernelDut::guest(const std::string& script) {
  if (!channel_) return {-1, "qemu-kernel DUT: not started"};
  return channel_->run(script, kCommandTimeout);
}

Result QemuKernelDut::restore(const std::string& rules) {
  // ipvsadm -R adds to what is there; the contract is to replace it.
  std::string script = "ipvsadm -C || exit\nipvsadm -R <<'VSLAB_RULES_END'\n" + rules;
  if (!rules.empty() && rules.back() != '\n') script += '\n';
  return guest(script + "VSLAB_RULES_END\n");
}

Result QemuKernelDut::admin(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ipvsadm"};
  argv.insert(argv.end(), args.begin(), args.end());
  return guest(shell_command(argv));
}

std::optional<std::string> QemuKernelDut::failure(bool /*look_closer*/) const {
  if (!qemu_.owns() || !qemu_.has_exited()) return std::nullopt;
  return fmt::format("qemu (pid {}), the guest running the kernel's IPVS, is no longer running",
                     qemu_.pid());
}

void QemuKernelDut::stop() {
  channel_.reset();
  qemu_.kill_and_reap();
  if (netns_.empty()) return;
  // Best effort: the topology may be gone already, and its namespace with these.
  run_with_input({"ip", "netns", "exec", netns_, "nft", "delete", "table", "netdev", "vslab_qemu"},
                 "");
  for (const auto& tap : taps_) run_with_input({"ip", "-n", netns_, "link", "del", tap}, "");
  taps_.clear();
  netns_.clear();
}

std::string QemuKernelDut::console() const {
  std::ifstream in(console_path_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string console_tail(const std::string& console, std::size_t lines) {
  // A guest that never ran its kernel (a bad image, qemu stuck before the boot) printed
  // nothing, and the message must still say that the guest did not come up.
  if (console.find_first_not_of(" \t\r\n") == std::string::npos)
    return "(nothing: the guest printed nothing on its console)";
  std::size_t cut = console.size();
  for (std::size_t n = 0; n <= lines; ++n) {
    if (cut == 0) return console;
    cut = console.rfind('\n', cut - 1);
    if (cut == std::string::npos) return console;
  }
  return console.substr(cut + 1);
}

std::unique_ptr<Dut> make_qemu_kernel_dut(const DutSpec& spec) {
  QemuKernelConfig config;
  if (!spec.config_file.empty())
    config = parse_qemu_kernel_config(read_config_text(spec.config_file), spec.config_file);
  return std::make_unique<QemuKernelDut>(std::move(config));
}

}  // namespace vslab::dut::qemu
