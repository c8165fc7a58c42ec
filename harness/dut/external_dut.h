// A real box as the DUT: a director the harness neither starts nor sees inside, wired to the
// topology through existing interfaces of this machine, given rules by a command template
// (e.g. over ssh). What it supports is what its config claims; the rest skips as not claimed.
//
// The config (--dut-config FILE):
//
//   [dut]
//   name = "vsd by hand"                              # optional, for reports
//   restore = "ssh box ipvsadm -R"                    # run by /bin/sh -c; the rules on stdin
//   admin = "ssh box ipvsadm {args}"                  # optional; {args} = one command's words
//   [ports]                  # the topology's director interface -> existing interface here
//   eth0 = "xd-ext"
//   eth1 = { interface = "xd-int", mac = "02:00:00:00:00:02" }  # mac: the box's, if known
//   [claims]
//   modes = ["nat", "dr", "tun"]
//   schedulers = ["rr", "wrr", "lc", "wlc"]
//   [failover]               # optional: for `vslab failover`, each by /bin/sh -c, all optional
//   kill = "ssh box systemctl kill -s KILL keepalived ipvsadm-sync"   # the crash
//   revive = "ssh box systemctl start ipvsadm-sync"   # back, no rules, its VRRP not yet
//   start_vrrp = "ssh box systemctl start keepalived" # the box's VRRP back: the failback
//   take_vip = "ssh box ip addr add {cidr} dev {dev}"          # the harness as VIP mover
//   release_vip = "ssh box ip addr del {cidr} dev {dev}"
//
// A port may also say the box's own name for the interface, where it is not the topology's:
// eth1 = { interface = "xd-int", box_interface = "enp4s0" }; {dev} and the sync daemons'
// --mcast-interface use it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dut/dut.h"

namespace vslab::dut {

struct ExternalPort {
  std::string interface;           // an existing interface of the harness's namespace
  std::optional<std::string> mac;  // the box's MAC on this port; learned by ARP when absent
  std::optional<std::string> box_interface;  // the box's own name for it, if not the topology's
};

// What `vslab failover` runs on the box for its events; a case that needs one not given skips,
// naming the key.
struct FailoverCommands {
  std::optional<std::string> kill, revive, start_vrrp;
  std::optional<std::string> take_vip, release_vip;  // with {cidr}, {address}, {dev}
};

struct ExternalConfig {
  std::string source;                         // the file it was read from, for messages
  std::string name;                           // empty: none given
  std::string restore;                        // shell command that takes a rule file on stdin
  std::optional<std::string> admin;           // shell command with "{args}"
  std::map<std::string, ExternalPort> ports;  // by the topology's director interface
  std::set<std::string> modes;
  std::set<std::string> schedulers;
  FailoverCommands failover;
};

// Throws std::invalid_argument with one "FILE:LINE:COLUMN: message" line per mistake.
ExternalConfig parse_external_config(std::string_view text, const std::string& source_name);
ExternalConfig read_external_config(const std::string& path);
// The external kind of dut/kinds.h: spec.config_file is required.
std::unique_ptr<Dut> make_external_dut(const DutSpec& spec);

class ExternalDut final : public Dut {
 public:
  // Runs a shell command line with a text on its standard input (a seam for tests).
  using Shell = std::function<Result(const std::string& command, const std::string& input)>;

  explicit ExternalDut(ExternalConfig config, Shell shell = {});
  std::string name() const override;
  bool claims_mode(const std::string& mode) const override;
  bool claims_scheduler(const std::string& name) const override;
  topo::BringUpOptions bring_up_options() const override;
  // Checks that the topology was brought up with this DUT's ports, and that the box answers
  // (admin "-L -n", when there is an admin command): DutUnavailable when it does not.
  void start(const topo::LiveTopology& topology) override;
  // The rule file starts with "-C", so that the box's old rules go (ipvsadm -R adds).
  Result restore(const std::string& rules) override;
  Result admin(const std::vector<std::string>& args) override;
  // Clears the box's rules; the box itself keeps running, as it is not ours.
  void stop() override;

  // The admin template with {args} replaced by the shell-quoted words.
  std::optional<std::string> admin_command(const std::vector<std::string>& args) const;

  // Which node of the topology the box stands for: "director" unless set before
  // bring_up_options() (a failover pair's second box is "backup").
  void set_role(std::string role) { role_ = std::move(role); }
  const std::string& role() const { return role_; }
  const ExternalConfig& config() const { return config_; }
  // The box's own name for a topology interface of its node.
  std::string box_interface(const std::string& ifname) const;
  // "[failover] kill in FILE": where a missing command would go, for skip messages.
  std::string config_key(const std::string& table_key) const;
  // Runs a command of [failover]; nothing when the config has none of that key.
  std::optional<Result> run_failover_command(const std::optional<std::string>& command);
  // take_vip or release_vip with {cidr}, {address} and {dev} (the box's own name for the
  // topology interface `ifname`) filled in; nothing when not configured.
  std::optional<Result> run_vip_command(const std::optional<std::string>& command,
                                        const std::string& cidr, const std::string& ifname);

 private:
  ExternalConfig config_;
  Shell shell_;
  std::string role_ = "director";
  bool started_ = false;
};

}  // namespace vslab::dut
