// A device under test: the director that a topology's "director" node stands for. The suites
// only ever talk to this interface (rules in ipvsadm save format, listings back), so the same
// checks run against vsd, kernel IPVS or a hardware box (docs/design.md rule 1).
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "os/child_process.h"
#include "os/unique_fd.h"
#include "topology/live.h"

namespace vslab::dut {

struct Result {
  int exit_code = 0;
  std::string output;  // stdout and stderr
  bool ok() const { return exit_code == 0; }
};

// Why a DUT cannot run at all here (no IPVS in this kernel, an external box not reachable):
// every case on it skips with this reason rather than failing.
struct DutUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Dut {
 public:
  virtual ~Dut() = default;
  virtual std::string name() const = 0;
  // What the DUT claims to support; a case outside its claims skips as "not claimed".
  // Modes are "nat", "dr", "tun", "fullnat"; schedulers by their ipvsadm names.
  virtual bool claims_mode(const std::string& /*mode*/) const { return true; }
  virtual bool claims_scheduler(const std::string& /*name*/) const { return true; }
  // The address families (4, 6) whose traffic it forwards; a case of another family skips
  // with unclaimed_family() as its reason. IPv4 alone unless a DUT says more.
  virtual bool claims_family(int family) const { return family == 4; }
  virtual std::string unclaimed_family(int family) const {
    return "not claimed by the DUT (" + name() + "): IPv" + std::to_string(family);
  }
  // The same for one mode ("nat", "dr", "tun", "fullnat"): a DUT may forward a family in some
  // modes only. By default the family's claim holds in every mode.
  virtual bool claims_family_in(int family, const std::string& /*mode*/) const {
    return claims_family(family);
  }
  virtual std::string unclaimed_family_in(int family, const std::string& /*mode*/) const {
    return unclaimed_family(family);
  }
  // What the DUT lacks for one kind of check in one family and mode ("" when nothing): a cell
  // there skips with this as its reason, naming the missing feature.
  virtual std::string missing_feature(std::string_view /*kind*/, int /*family*/,
                                      const std::string& /*mode*/) const {
    return "";
  }
  // How many times longer than a native director this DUT may take to show a change in its
  // listings (an emulated guest); waits for a listing to settle are scaled by it.
  virtual int slowness() const { return 1; }
  // How the topology is brought up for this DUT (e.g. an external box's ports).
  virtual topo::BringUpOptions bring_up_options() const { return {}; }
  // Why no health checker (Debian's ldirectord, which runs /sbin/ipvsadm) can run beside this
  // director, or nothing when one can; known before start.
  virtual std::optional<std::string> health_checker_unavailable() const;
  // After start: argv as a command line that runs it beside the director, in the director's
  // network (it reaches the real servers as the director does) with /sbin/ipvsadm configuring
  // this DUT; nothing of the machine's own changes. Throws DutUnavailable where it cannot.
  virtual std::vector<std::string> beside_director(const std::vector<std::string>& argv) const;
  // Starts the director inside the topology (returns when it is ready to forward); throws
  // DutUnavailable when it cannot run here at all.
  virtual void start(const topo::LiveTopology& topology) = 0;
  // Replaces the whole rule set: ipvsadm save format, one command per line (ipvsadm -R).
  virtual Result restore(const std::string& rules) = 0;
  // One ipvsadm command, e.g. {"-L", "-n"}.
  virtual Result admin(const std::vector<std::string>& args) = 0;
  // After start: net.ipv4.vs.NAME (the kernel's spelling, without the prefix) to VALUE, as
  // `sysctl -w` sets it on a Linux director: vsd through `vsadm --sysctl`, a kernel through
  // /proc/sys/net/ipv4/vs/NAME in its namespace or guest. The setting outlives the case: a
  // caller puts the default back. A DUT that cannot says so in the Result.
  virtual Result set_ipvs_sysctl(const std::string& name, const std::string& value);
  virtual void stop() = 0;
  // After start: why the director stopped running on its own (its process ended), or nothing
  // while it runs and where the harness cannot tell (the kernel, an external box). A run asks
  // after each case, so that a dead director is one clear error, not every later case failing.
  // `look_closer` (after a case failed): also wait a little for a director that is dying (a
  // process killed with big mappings takes a while to end) to be seen dead.
  virtual std::optional<std::string> failure(bool /*look_closer*/ = false) const {
    return std::nullopt;
  }
};

// Which DUT to build, as `vslab conform --dut KIND [--dut-config FILE]` names it.
struct DutSpec {
  std::string kind = "builtin";  // a name of dut_kinds() (dut/kinds.h)
  std::string config_file;       // the kind's --dut-config TOML, optional or required by kind
  std::string vsd_binary;        // builtin
  std::string vsadm_binary;      // builtin
  std::vector<std::string> vsd_args;
};

// vsd started in the director namespace on all of the director node's interfaces, configured
// with vsadm through its control socket.
class BuiltinDut final : public Dut {
 public:
  // vsd_args: more options for vsd (e.g. "--ipfrag-time 1"), after --socket and --port.
  BuiltinDut(std::string vsd_binary, std::string vsadm_binary,
             std::vector<std::string> vsd_args = {});
  ~BuiltinDut() override;
  std::string name() const override { return "builtin"; }
  // vsd forwards IPv6 in every mode: NAT, DR, TUN (ip6ip6) and FULLNAT.
  bool claims_family_in(int family, const std::string& mode) const override {
    return family == 4 ||
           (family == 6 && (mode == "nat" || mode == "dr" || mode == "tun" || mode == "fullnat"));
  }
  std::string unclaimed_family_in(int family, const std::string& mode) const override {
    if (family != 6) return Dut::unclaimed_family(family);
    return "vsd: no IPv6 data plane in mode " + mode;
  }
  std::string unclaimed_family(int family) const override {
    return family == 6 ? "vsd: IPv6 is forwarded in NAT, DR, TUN and FULLNAT only"
                       : Dut::unclaimed_family(family);
  }
  void start(const topo::LiveTopology& topology) override;
  Result restore(const std::string& rules) override;
  Result admin(const std::vector<std::string>& args) override;
  Result set_ipvs_sysctl(const std::string& name, const std::string& value) override;
  void stop() override;
  // SIGKILL, as a crash would end it (a failover scenario's dead master); start() again
  // restarts it with no rules.
  void kill() { vsd_process_.kill_and_reap(); }
  std::optional<std::string> failure(bool look_closer = false) const override;
  // vsadm bound over /sbin/ipvsadm in a mount namespace of the checker's own, VSD_SOCKET set.
  std::optional<std::string> health_checker_unavailable() const override;
  std::vector<std::string> beside_director(const std::vector<std::string>& argv) const override;
  // Which node it runs on: the topology's node of this role ("director" unless set before
  // start); a DUT of several directors (a master and a backup) has one BuiltinDut each, whose
  // socket and log are named after the role.
  void set_role(std::string role) { role_ = std::move(role); }
  std::string log() const;                                    // what vsd wrote to stderr
  const std::string& socket_path() const { return socket_; }  // vsd's control socket

 private:
  bool accepts_control() const;  // a connection to the control socket succeeds

  std::string vsd_, vsadm_;
  std::vector<std::string> vsd_args_;
  std::string role_ = "director";
  std::string netns_, socket_;
  os::ChildProcess vsd_process_;
  os::UniqueFd output_fd_;
  std::string log_path_;
  std::string ready_line_;
};

// The shell script that writes VALUE to /proc/sys/net/ipv4/vs/NAME, for a kernel director;
// throws std::invalid_argument for a name that is not one word of [a-z_] or a value that is not
// integers (what the kernel's handlers read), so that nothing else reaches a shell.
std::string ipvs_sysctl_script(const std::string& name, const std::string& value);

// A builtin DUT's --dut-config: a TOML file with `vsd_args = ["--opt", "value"]`, options for
// vsd after DutSpec::vsd_args (e.g. a test-only fault switch). Throws std::invalid_argument
// with "FILE:LINE:COLUMN: message" lines.
std::vector<std::string> parse_builtin_config(std::string_view text,
                                              const std::string& source_name);
// The builtin kind of dut/kinds.h: throws std::invalid_argument without both binaries.
std::unique_ptr<Dut> make_builtin_dut(const DutSpec& spec);

// The DUT that VSLAB_DUT names (builtin when unset; VSLAB_DUT_CONFIG its --dut-config), as
// `vslab conform --dut` would build it: for tests that run on whichever DUT CTest picks.
std::unique_ptr<Dut> make_dut_from_environment(const std::string& vsd_binary,
                                               const std::string& vsadm_binary);

// The DUT of spec.kind's line in dut/kinds.h. Throws std::invalid_argument for an unknown kind,
// a missing binary or config file, or a config file that does not parse (its errors as
// "FILE:LINE:COLUMN: message" lines).
std::unique_ptr<Dut> make_dut(const DutSpec& spec);

// `name` in the folder of the running program (vsd and vsadm are built beside vslab), or in
// ../sbin when only that has it (installed: vslab in bin/, vsd and vsadm in sbin/), or `name`
// alone (found on PATH) when that cannot be told.
std::string beside_this_program(const std::string& name);
// The DutSpec of a command line's --dut, --dut-config, --vsd and --vsadm (empty binaries: the
// ones beside this program).
DutSpec dut_spec(const std::string& kind, const std::string& config_file,
                 const std::string& vsd_binary, const std::string& vsadm_binary);

// Whether a line of `listing` (an admin command's output) holds every one of `words` as a whole
// whitespace-separated word: "CLOSE" is not "CLOSE_WAIT".
bool lists_line_with(const std::string& listing, const std::vector<std::string>& words);

}  // namespace vslab::dut
