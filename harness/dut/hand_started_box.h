// A box of our own for the external DUT: vsd started by hand in a namespace that no topology
// knows, as a person following director/README.md would set up a director, and wired to this
// (the root) namespace through one veth per interface of a topology's director node. The
// root-namespace ends are what the box's external config names in [ports]; a topology brought
// up with that config lends them in and gives them back.
//
// Test support only: it starts the vsd and vsadm programs, it links nothing of director/.
#pragma once

#include <sys/types.h>
#include <map>
#include <string>
#include <vector>

#include "os/child_process.h"
#include "topology/model.h"

namespace vslab::dut {

// The vsd and vsadm this build made (their paths, compiled in).
std::string built_vsd_binary();
std::string built_vsadm_binary();

class HandStartedBox {
 public:
  // Builds namespace xdut-<pid>-<n> with the director node's interfaces (veths whose other
  // ends, xd<n><a,b,..>-<pid>, stay in this namespace and are up), their addresses, MTUs and
  // offloads, the node's loopback addresses, sysctls and routes, and starts vsd on all of its
  // interfaces; returns once vsd said it is ready. Throws std::runtime_error (having removed
  // what it made) when a step fails or an interface of that name exists already.
  // vsd_args: more options for vsd after its ports (e.g. "--vips-follow-host" for a box of a
  // failover pair, which must not answer for a VIP it does not hold).
  explicit HandStartedBox(const topo::Node& director, std::vector<std::string> vsd_args = {},
                          std::string vsd_binary = built_vsd_binary(),
                          std::string vsadm_binary = built_vsadm_binary());
  // Stops vsd and removes the namespace, its veths and its files.
  ~HandStartedBox();
  HandStartedBox(const HandStartedBox&) = delete;
  HandStartedBox& operator=(const HandStartedBox&) = delete;

  const std::string& netns() const { return netns_; }
  const std::string& dir() const { return dir_; }  // vsd's socket and log, the config
  std::string socket() const { return dir_ + "/vsd.sock"; }
  const std::string& vsadm_binary() const { return vsadm_; }
  // Director interface -> the interface of this namespace that stands for it.
  const std::map<std::string, std::string>& ports() const { return ports_; }
  // Throws std::out_of_range for an interface the director node does not have.
  const std::string& root_interface(const std::string& director_ifname) const;
  // The box's own MAC on a director interface (the kernel's random one: a real box's MACs are
  // not the topology's, so the harness has to learn them).
  std::string mac(const std::string& director_ifname) const;
  std::string log() const;  // what vsd wrote to stderr
  bool vsd_running() const;

  // Shell commands for a failover config's [failover], as a person would write them for a box
  // reached by `ip netns exec`: the crash (the floating addresses removed, as a dead box answers
  // for none of them, then vsd SIGKILLed by the pid in <dir>/vsd.pid), and vsd started again
  // with no rules, returning once its control socket answers (or failing after 10 s).
  std::string kill_command(const std::vector<std::string>& floating_cidrs) const;
  std::string revive_command() const;
  // take_vip and release_vip: the address on {dev} in the box's namespace, announced by a
  // gratuitous ARP; or removed.
  std::string take_vip_command() const;
  std::string release_vip_command() const;

 private:
  void build(const topo::Node& director);
  void start_vsd();
  void clean_up() noexcept;
  std::vector<std::string> vsd_argv() const;  // in the namespace, as started by hand

  std::string vsd_, vsadm_;
  std::vector<std::string> vsd_args_, port_names_;
  std::string netns_, dir_;
  std::map<std::string, std::string> ports_;
  bool made_netns_ = false;
  os::ChildProcess vsd_process_;
};

// The external DUT config a person would write for the box: rules and commands through vsadm
// on the box's control socket, each director interface on its root-namespace veth, and every
// mode and every scheduler ipvsadm knows claimed.
std::string external_config_text(const HandStartedBox& box);
// A TOML basic string of the text (quotes and backslashes escaped), for configs written by tests.
std::string quoted_toml(const std::string& text);
// Writes that config to <box.dir()>/dut.toml (removed with the box) and returns the path.
std::string write_external_config(const HandStartedBox& box);

}  // namespace vslab::dut
