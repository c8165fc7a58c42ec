// The table of DUT kinds, and make_dut and the --dut options that read it.
#include "dut/kinds.h"

#include <filesystem>
#include <stdexcept>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "dut/external_dut.h"
#include "dut/kernel_dut.h"
#include "dut/qemu/qemu_kernel_dut.h"

namespace vslab::dut {

std::span<const DutKind> dut_kinds() {
  static constexpr DutKind kinds[] = {
      {"builtin", "vsd", make_builtin_dut},
      {"kernel", "IPVS", make_kernel_dut},
      {"qemu-kernel", "IPVS of a Debian kernel under qemu", qemu::make_qemu_kernel_dut},
      {"external", "a real box wired to named interfaces", make_external_dut, true},
  };
  return kinds;
}

const DutKind* find_dut_kind(std::string_view name) {
  for (const auto& kind : dut_kinds())
    if (kind.name == name) return &kind;
  return nullptr;
}

bool serves_one_topology(std::string_view name) {
  const DutKind* kind = find_dut_kind(name);
  return kind && kind->serves_one_topology;
}

std::string dut_kind_names() {
  const auto kinds = dut_kinds();
  std::string names;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) names += i + 1 == kinds.size() ? " or " : ", ";
    names += kinds[i].name;
  }
  return names;
}

std::string dut_kinds_help() {
  std::string help;
  for (const auto& kind : dut_kinds()) {
    if (!help.empty()) help += ", ";
    help += fmt::format("{} ({})", kind.name, kind.description);
  }
  return help;
}

CLI::Option* add_dut_kind_option(CLI::App& cmd, const std::string& name, std::string& kind,
                                 const std::string& help_lead) {
  std::vector<std::string> names;
  for (const auto& k : dut_kinds()) names.emplace_back(k.name);
  return cmd.add_option(name, kind, help_lead + dut_kinds_help())
      ->check(CLI::IsMember(names))
      ->capture_default_str();
}

std::unique_ptr<Dut> make_dut(const DutSpec& spec) {
  if (const DutKind* kind = find_dut_kind(spec.kind)) return kind->make(spec);
  throw std::invalid_argument(
      fmt::format("unknown DUT kind '{}': expected {}", spec.kind, dut_kind_names()));
}

std::string beside_this_program(const std::string& name) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return name;
  auto beside = self.parent_path() / name;
  // Installed, vslab is in <prefix>/bin and the daemon and its admin tool in <prefix>/sbin.
  auto in_sbin = self.parent_path().parent_path() / "sbin" / name;
  if (!std::filesystem::exists(beside) && std::filesystem::exists(in_sbin)) return in_sbin.string();
  return beside.string();
}

DutSpec dut_spec(const std::string& kind, const std::string& config_file,
                 const std::string& vsd_binary, const std::string& vsadm_binary) {
  DutSpec spec;
  spec.kind = kind;
  spec.config_file = config_file;
  spec.vsd_binary = vsd_binary.empty() ? beside_this_program("vsd") : vsd_binary;
  spec.vsadm_binary = vsadm_binary.empty() ? beside_this_program("vsadm") : vsadm_binary;
  return spec;
}

namespace {

std::string shell_quoted(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789@%+=:,./_-") == std::string::npos)
    return word;
  std::string out = "'";
  for (char ch : word) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

}  // namespace

std::string dut_flags(const DutSpec& spec) {
  std::string out = "--dut " + shell_quoted(spec.kind);
  if (!spec.config_file.empty())
    out += " --dut-config " + shell_quoted(std::filesystem::absolute(spec.config_file).string());
  if (spec.kind == "builtin") {
    if (!spec.vsd_binary.empty() && spec.vsd_binary != beside_this_program("vsd"))
      out += " --vsd " + shell_quoted(spec.vsd_binary);
    if (!spec.vsadm_binary.empty() && spec.vsadm_binary != beside_this_program("vsadm"))
      out += " --vsadm " + shell_quoted(spec.vsadm_binary);
  }
  return out;
}

}  // namespace vslab::dut
