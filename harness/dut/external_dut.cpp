#include "dut/external_dut.h"

#include <algorithm>
#include <cctype>
#include <span>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/config_reader.h"
#include "dut/run.h"
#include "dut/schedulers.h"
#include "topology/netns.h"
#include "topology/parse.h"

namespace vslab::dut {
namespace {

constexpr std::string_view kModes[] = {"nat", "dr", "tun", "fullnat"};

// Mistakes about a whole missing table have no better place than the top of the file.
constexpr toml::source_position kTopOfFile{1, 1};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "xx:xx:xx:xx:xx:xx" in lower case, as `ip link` prints and captures compare; a multicast
// address cannot be an interface's own.
std::optional<std::string> unicast_mac(const std::string& text) {
  if (text.size() != 17) return std::nullopt;
  std::string lower;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool separator = i % 3 == 2;
    if (separator ? text[i] != ':' : hex_value(text[i]) < 0) return std::nullopt;
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  if (hex_value(text[1]) & 1 || lower == "00:00:00:00:00:00") return std::nullopt;
  return lower;
}

std::string listed(std::span<const std::string_view> names) {
  std::string text;
  for (auto n : names) text += (text.empty() ? "" : ", ") + std::string(n);
  return text;
}

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

class ExternalConfigReader {
 public:
  explicit ExternalConfigReader(ConfigErrors& errors) : errors_(errors) {}

  ExternalConfig read(const toml::table& root) {
    reject_unknown_keys(root, {"dut", "ports", "claims", "failover"}, "at top level", errors_);
    if (const toml::table* dut = table_or_missing(
            root, "dut",
            "no [dut] table: say how the box takes rules, e.g. [dut] restore = \"ssh box "
            "ipvsadm -R\""))
      read_dut(*dut);
    if (const toml::table* ports = table_or_missing(
            root, "ports",
            "no [ports] table: map each director interface of the topology to an existing "
            "interface of this machine, e.g. [ports] eth0 = \"enp3s0\""))
      read_ports(*ports);
    if (const toml::table* claims = table_or_missing(
            root, "claims",
            "no [claims] table: list what the box supports, e.g. [claims] modes = [\"nat\"] "
            "and schedulers = [\"rr\", \"wrr\"]; other cases skip as not claimed"))
      read_claims(*claims);
    if (const toml::table* failover = optional_table(root, "failover", errors_))
      read_failover(*failover);
    return std::move(config_);
  }

 private:
  const toml::table* table_or_missing(const toml::table& root, std::string_view key,
                                      const char* missing) {
    if (!root.contains(key)) errors_.add(kTopOfFile, missing);
    return optional_table(root, key, errors_);
  }

  void read_dut(const toml::table& dut) {
    reject_unknown_keys(dut, {"name", "restore", "admin"}, "in [dut]", errors_);
    if (auto name = optional_string(dut, "name", errors_)) config_.name = name->value;
    if (auto restore = required_string(dut, "restore", "[dut]", errors_)) {
      if (is_blank(restore->value))
        errors_.add(restore->pos,
                    "'restore' is empty: give the command that takes an ipvsadm rule file on "
                    "stdin, e.g. \"ssh box ipvsadm -R\"");
      config_.restore = restore->value;
    }
    if (auto admin = optional_string(dut, "admin", errors_)) {
      if (admin->value.find("{args}") == std::string::npos)
        errors_.add(admin->pos,
                    "'admin' has no {args}, where the words of one ipvsadm command go, e.g. "
                    "\"ssh box ipvsadm {args}\"");
      config_.admin = admin->value;
    }
  }

  void read_ports(const toml::table& ports) {
    if (ports.empty())
      errors_.add(ports.source().begin,
                  "[ports] is empty: map each director interface of the topology to an existing "
                  "interface, e.g. eth0 = \"enp3s0\"");
    std::map<std::string, std::string> taken;  // existing interface -> director interface
    for (auto&& [key, value] : ports) {
      const std::string ifname(key.str());
      if (!topo::is_valid_interface_name(ifname))
        errors_.add(key.source().begin,
                    fmt::format("'{}' is not an interface name (the topology's director "
                                "interface, e.g. eth0)",
                                ifname));
      ExternalPort port;
      std::optional<Located<std::string>> existing;
      if (const auto* text = value.as_string()) {
        existing = Located<std::string>{text->get(), value.source().begin};
      } else if (const toml::table* entry = value.as_table()) {
        const std::string where = "in port '" + ifname + "'";
        reject_unknown_keys(*entry, {"interface", "mac", "box_interface"}, where, errors_);
        existing = required_string(*entry, "interface", "port '" + ifname + "'", errors_);
        if (auto mac = optional_string(*entry, "mac", errors_)) {
          port.mac = unicast_mac(mac->value);
          if (!port.mac)
            errors_.add(mac->pos, fmt::format("'{}' is not a unicast MAC of the form "
                                              "xx:xx:xx:xx:xx:xx",
                                              mac->value));
        }
        if (auto own = optional_string(*entry, "box_interface", errors_)) {
          if (!topo::is_valid_interface_name(own->value))
            errors_.add(own->pos, fmt::format("'{}' is not a valid interface name", own->value));
          port.box_interface = own->value;
        }
      } else {
        errors_.add(value.source().begin,
                    fmt::format("port '{}' must be an interface name (\"enp3s0\") or a table "
                                "{{ interface = \"enp3s0\", mac = \"...\" }}",
                                ifname));
      }
      if (!existing) continue;
      if (!topo::is_valid_interface_name(existing->value)) {
        errors_.add(existing->pos,
                    fmt::format("'{}' is not a valid interface name", existing->value));
      } else if (auto [earlier, fresh] = taken.emplace(existing->value, ifname); !fresh) {
        errors_.add(existing->pos, fmt::format("'{}' is already the port for '{}'", existing->value,
                                               earlier->second));
      }
      port.interface = existing->value;
      config_.ports[ifname] = std::move(port);
    }
  }

  void read_claims(const toml::table& claims) {
    reject_unknown_keys(claims, {"modes", "schedulers"}, "in [claims]", errors_);
    // A missing list would claim nothing and skip every case quietly; say so instead.
    for (const char* key : {"modes", "schedulers"})
      if (!claims.contains(key))
        errors_.add(claims.source().begin,
                    fmt::format("[claims] has no '{}': list the ones the box supports", key));
    auto modes = optional_strings(claims, "modes", errors_);
    for (const auto& mode : modes ? *modes : std::vector<Located<std::string>>{}) {
      if (std::find(std::begin(kModes), std::end(kModes), mode.value) == std::end(kModes))
        errors_.add(mode.pos, fmt::format("unknown mode '{}'; expected one of {}", mode.value,
                                          listed(kModes)));
      config_.modes.insert(mode.value);
    }
    auto schedulers = optional_strings(claims, "schedulers", errors_);
    for (const auto& name : schedulers ? *schedulers : std::vector<Located<std::string>>{}) {
      if (!is_ipvs_scheduler(name.value))
        errors_.add(name.pos, fmt::format("unknown scheduler '{}'; ipvsadm knows {}, {}",
                                          name.value, listed(kKernel61Schedulers), kTwosScheduler));
      config_.schedulers.insert(name.value);
    }
  }

  void read_failover(const toml::table& failover) {
    reject_unknown_keys(failover, {"kill", "revive", "start_vrrp", "take_vip", "release_vip"},
                        "in [failover]", errors_);
    auto& f = config_.failover;
    for (auto [key, command] :
         {std::pair("kill", &f.kill), std::pair("revive", &f.revive),
          std::pair("start_vrrp", &f.start_vrrp), std::pair("take_vip", &f.take_vip),
          std::pair("release_vip", &f.release_vip)}) {
      auto text = optional_string(failover, key, errors_);
      if (!text) continue;
      if (is_blank(text->value))
        errors_.add(text->pos, fmt::format("'{}' is empty: leave it out, and the cases that need "
                                           "it skip",
                                           key));
      // An address command without the address would act on no VIP at all.
      const bool for_vip = std::string_view(key).ends_with("_vip");
      if (for_vip && text->value.find("{cidr}") == std::string::npos &&
          text->value.find("{address}") == std::string::npos)
        errors_.add(text->pos, fmt::format("'{}' names no address: put {{cidr}} (10.20.0.100/32) "
                                           "or {{address}} where it goes, and {{dev}} for the "
                                           "interface",
                                           key));
      *command = text->value;
    }
  }

  ConfigErrors& errors_;
  ExternalConfig config_;
};

// Replaces every "{name}" of the template by its value.
std::string filled(std::string text, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "{" + name + "}";
    for (auto at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size()))
      text.replace(at, placeholder.size(), value);
  }
  return text;
}

Result run_in_shell(const std::string& command, const std::string& input) {
  return run_with_input({"/bin/sh", "-c", command}, input);
}

}  // namespace

ExternalConfig parse_external_config(std::string_view text, const std::string& source_name) {
  ConfigErrors errors(source_name);
  ExternalConfig config;
  if (auto root = parse_config(text, source_name, errors))
    config = ExternalConfigReader(errors).read(*root);
  errors.throw_if_any();
  return config;
}

ExternalConfig read_external_config(const std::string& path) {
  auto config = parse_external_config(read_config_text(path), path);
  config.source = path;
  return config;
}

ExternalDut::ExternalDut(ExternalConfig config, Shell shell)
    : config_(std::move(config)), shell_(shell ? std::move(shell) : Shell(run_in_shell)) {}

std::string ExternalDut::name() const {
  return config_.name.empty() ? "external" : "external (" + config_.name + ")";
}

bool ExternalDut::claims_mode(const std::string& mode) const {
  return config_.modes.contains(mode);
}

bool ExternalDut::claims_scheduler(const std::string& name) const {
  return config_.schedulers.contains(name);
}

topo::BringUpOptions ExternalDut::bring_up_options() const {
  topo::BringUpOptions options;
  topo::BringUpOptions::ExternalBox box;
  for (const auto& [ifname, port] : config_.ports) {
    box.ports[ifname] = port.interface;
    if (port.mac) box.macs[ifname] = *port.mac;
  }
  if (role_ == "director") {
    options.external_director_ports = std::move(box.ports);
    options.external_director_macs = std::move(box.macs);
  } else {
    options.external_boxes[role_] = std::move(box);
  }
  return options;
}

void ExternalDut::start(const topo::LiveTopology& topology) {
  topo::ExternalPorts mine;
  for (const auto& [ifname, port] : config_.ports) mine[ifname] = port.interface;
  if (topology.external_ports(role_) != mine)
    throw std::logic_error(
        fmt::format("topology '{}' was not brought up for {}: pass the DUT's bring_up_options() to "
                    "LiveTopology, so that its ports are wired in",
                    topology.topology().name, name()));
  if (config_.admin) {
    auto listing = admin({"-L", "-n"});
    if (!listing.ok())
      throw DutUnavailable(fmt::format("{} does not answer: `{}` exited with {}: {}", name(),
                                       *admin_command({"-L", "-n"}), listing.exit_code,
                                       listing.output));
  }
  // The box's MACs the config does not declare are learned by ARP now, before any case
  // captures: the answer to the probe may be flooded to every host of a bridged segment.
  // One that cannot be learned is left for the first case that asks, which reports why.
  for (const auto& [ifname, port] : config_.ports) {
    if (port.mac) continue;
    try {
      topology.mac(topology.topology().find_role(role_)->name, ifname);
    } catch (const std::exception&) {
    }
  }
  started_ = true;
}

Result ExternalDut::restore(const std::string& rules) {
  return shell_(config_.restore, "-C\n" + rules);
}

Result ExternalDut::admin(const std::vector<std::string>& args) {
  auto command = admin_command(args);
  if (!command)
    return {2, fmt::format("{} has no admin command: add [dut] admin = \"... {{args}}\" to its "
                           "config",
                           name())};
  return shell_(*command, "");
}

void ExternalDut::stop() {
  if (!started_) return;
  started_ = false;
  // Best effort: a box that went away meanwhile has no rules of ours to clear.
  shell_(config_.restore, "-C\n");
}

std::optional<std::string> ExternalDut::admin_command(const std::vector<std::string>& args) const {
  if (!config_.admin) return std::nullopt;
  static constexpr std::string_view kPlaceholder = "{args}";
  std::string command = *config_.admin;
  const std::string words = topo::shell_quote(args);
  for (auto at = command.find(kPlaceholder); at != std::string::npos;
       at = command.find(kPlaceholder, at + words.size()))
    command.replace(at, kPlaceholder.size(), words);
  return command;
}

std::string ExternalDut::box_interface(const std::string& ifname) const {
  auto port = config_.ports.find(ifname);
  if (port == config_.ports.end() || !port->second.box_interface) return ifname;
  return *port->second.box_interface;
}

std::string ExternalDut::config_key(const std::string& table_key) const {
  return table_key + " in " + (config_.source.empty() ? name() + "'s config" : config_.source);
}

std::optional<Result> ExternalDut::run_failover_command(const std::optional<std::string>& command) {
  if (!command) return std::nullopt;
  return shell_(*command, "");
}

std::optional<Result> ExternalDut::run_vip_command(const std::optional<std::string>& command,
                                                   const std::string& cidr,
                                                   const std::string& ifname) {
  if (!command) return std::nullopt;
  const std::string address = cidr.substr(0, cidr.find('/'));
  return shell_(filled(*command, {{"cidr", topo::shell_quote({cidr})},
                                  {"address", topo::shell_quote({address})},
                                  {"dev", topo::shell_quote({box_interface(ifname)})}}),
                "");
}

std::unique_ptr<Dut> make_external_dut(const DutSpec& spec) {
  if (spec.config_file.empty())
    throw std::invalid_argument(
        "external DUT: --dut-config FILE is required: a TOML file that maps the topology's "
        "director ports to existing interfaces, says how the box takes rules and what it "
        "claims (see harness/dut/external_dut.h)");
  return std::make_unique<ExternalDut>(read_external_config(spec.config_file));
}

}  // namespace vslab::dut
