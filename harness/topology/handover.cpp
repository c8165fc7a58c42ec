#include "topology/handover.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <vector>

#include <fmt/core.h>

#include "os/unique_fd.h"
#include "topology/netns.h"

namespace vslab::topo {
namespace {

// The offloads a topology sets (script.cpp), by the names `ethtool -k` prints them under.
constexpr std::pair<const char*, const char*> kOffloadNames[] = {
    {"tx-checksumming", "tx"},           {"rx-checksumming", "rx"},
    {"tcp-segmentation-offload", "tso"}, {"generic-segmentation-offload", "gso"},
    {"generic-receive-offload", "gro"},
};

std::string trimmed(const std::string& text) {
  auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  auto end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

std::string offloads_text(const std::map<std::string, bool>& offloads) {
  if (offloads.empty()) return "-";
  std::string text;
  for (const auto& [name, on] : offloads) {
    if (!text.empty()) text += ',';
    text += name + (on ? "=on" : "=off");
  }
  return text;
}

std::optional<std::map<std::string, bool>> offloads_from_text(const std::string& text) {
  std::map<std::string, bool> offloads;
  if (text == "-") return offloads;
  std::istringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return std::nullopt;
    auto value = item.substr(eq + 1);
    if (value != "on" && value != "off") return std::nullopt;
    offloads[item.substr(0, eq)] = value == "on";
  }
  return offloads;
}

bool link_in_netns(const std::string& netns, const std::string& ifname) {
  return netns_exists(netns) &&
         run_command({"ip", "-n", netns, "link", "show", "dev", ifname}).ok();
}

// Runs argv; on failure appends "command: output" to `problems`.
bool run_noting(const std::vector<std::string>& argv, std::string& problems) {
  auto result = run_command(argv);
  if (result.ok()) return true;
  problems +=
      fmt::format("{}: {}", shell_quote(argv), result.output.empty() ? "failed\n" : result.output);
  return false;
}

void restore_state(const std::string& ifname, const LinkState& saved, std::string& problems) {
  auto now = read_link_state(ifname);
  if (!now) return;
  if (now->mac != saved.mac || now->mtu != saved.mtu)
    run_noting({"ip", "link", "set", "dev", ifname, "address", saved.mac, "mtu",
                std::to_string(saved.mtu)},
               problems);
  // Only what differs: ethtool fails on a request that changes nothing it can change.
  std::vector<std::string> ethtool{"ethtool", "-K", ifname};
  for (const auto& [name, on] : saved.offloads) {
    auto current = now->offloads.find(name);
    if (current != now->offloads.end() && current->second != on)
      ethtool.insert(ethtool.end(), {name, on ? "on" : "off"});
  }
  if (ethtool.size() > 3) run_noting(ethtool, problems);
  if (saved.up && !now->up) run_noting({"ip", "link", "set", "dev", ifname, "up"}, problems);
}

}  // namespace

std::string PortHandover::record_value() const {
  return fmt::format("{} {} {} {} {} {} {}", original, netns, moved_name, saved.mac, saved.mtu,
                     saved.up ? 1 : 0, offloads_text(saved.offloads));
}

std::optional<PortHandover> PortHandover::from_record_value(const std::string& text) {
  std::istringstream fields(text);
  PortHandover h;
  int up = 0;
  std::string offloads;
  if (!(fields >> h.original >> h.netns >> h.moved_name >> h.saved.mac >> h.saved.mtu >> up >>
        offloads))
    return std::nullopt;
  h.saved.up = up != 0;
  auto parsed = offloads_from_text(offloads);
  if (!parsed) return std::nullopt;
  h.saved.offloads = std::move(*parsed);
  return h;
}

std::map<std::string, bool> parse_ethtool_features(const std::string& text) {
  std::map<std::string, bool> offloads;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto name = trimmed(line.substr(0, colon));
    auto value = trimmed(line.substr(colon + 1));
    if (value.find("[fixed]") != std::string::npos) continue;
    for (const auto& [long_name, short_name] : kOffloadNames) {
      if (name != long_name) continue;
      if (value.rfind("on", 0) == 0) offloads[short_name] = true;
      if (value.rfind("off", 0) == 0) offloads[short_name] = false;
    }
  }
  return offloads;
}

std::optional<LinkState> read_link_state(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return std::nullopt;
  const os::UniqueFd socket_fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!socket_fd) return std::nullopt;
  const int fd = socket_fd.get();
  ifreq req{};
  std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  LinkState state;
  bool ok = ioctl(fd, SIOCGIFHWADDR, &req) == 0;
  if (ok) {
    const auto* b = reinterpret_cast<const unsigned char*>(req.ifr_hwaddr.sa_data);
    state.mac = fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3],
                            b[4], b[5]);
  }
  ok = ok && ioctl(fd, SIOCGIFMTU, &req) == 0;
  if (ok) state.mtu = req.ifr_mtu;
  ok = ok && ioctl(fd, SIOCGIFFLAGS, &req) == 0;
  if (ok) state.up = (req.ifr_flags & IFF_UP) != 0;
  if (!ok) return std::nullopt;
  auto features = run_command({"ethtool", "-k", ifname});
  if (features.ok()) state.offloads = parse_ethtool_features(features.output);
  return state;
}

GiveBackResult give_back(const PortHandover& h) {
  GiveBackResult result;
  // By its name there, or by its own when a person or an older run renamed it already.
  for (const auto& name : {h.moved_name, h.original}) {
    if (!link_in_netns(h.netns, name)) continue;
    // One request moves and renames it ("netns PID": the namespace this process runs in,
    // where the port came from); the kernel brings it down on the way, as a rename needs.
    if (!run_noting({"ip", "-n", h.netns, "link", "set", "dev", name, "netns",
                     std::to_string(getpid()), "name", h.original},
                    result.problem))
      result.held = true;
    break;
  }
  if (result.held) return result;
  if (!read_link_state(h.original)) {
    result.problem += fmt::format(
        "external port {} is neither in {} (as {}) nor back in this namespace; its namespace "
        "was deleted before it could be given back\n",
        h.original, h.netns, h.moved_name);
    return result;
  }
  restore_state(h.original, h.saved, result.problem);
  return result;
}

}  // namespace vslab::topo
