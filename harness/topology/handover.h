// Existing interfaces lent to a topology: an external director's ports are interfaces of this
// machine that the bring-up moves into a peer's namespace, and that must come back under their
// own names and settings, because they belong to the user (never deleted, also not by gc).
#pragma once

#include <map>
#include <optional>
#include <string>

namespace vslab::topo {

// What the bring-up changes on a lent interface and so puts back.
struct LinkState {
  std::string mac;  // "xx:xx:xx:xx:xx:xx"
  int mtu = 0;
  bool up = false;
  // ethtool -K short name (tx, rx, tso, gso, gro) -> on; features ethtool calls [fixed] or
  // does not list are left out, as they cannot be changed anyway.
  std::map<std::string, bool> offloads;
  bool operator==(const LinkState&) const = default;
};

struct PortHandover {
  std::string original;    // its name in the namespace the harness runs in
  std::string netns;       // the run's namespace it goes to
  std::string moved_name;  // its name there (the peer's interface or the bridge port)
  LinkState saved;         // as it was before the bring-up touched it

  // One line of a run record, so that gc can give the port back after a crash.
  std::string record_value() const;
  static std::optional<PortHandover> from_record_value(const std::string& text);
  bool operator==(const PortHandover&) const = default;
};

// The state of an interface of this thread's namespace, or nothing when there is none.
std::optional<LinkState> read_link_state(const std::string& ifname);

// `ethtool -k` output -> the offloads LinkState keeps.
std::map<std::string, bool> parse_ethtool_features(const std::string& text);

struct GiveBackResult {
  // Still inside the run's namespace: deleting that namespace would destroy a veth, so the
  // caller must keep it (and the run record) and report `problem`.
  bool held = false;
  std::string problem;  // empty when the port is back as it was
};

// Moves the port back to this process's namespace under its original name and restores its
// saved state. Idempotent: works from any point of a half-done bring-up or give-back.
GiveBackResult give_back(const PortHandover& handover);

}  // namespace vslab::topo
