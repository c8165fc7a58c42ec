// make_dut: the DUT `vslab conform --dut KIND [--dut-config FILE]` names.
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <fmt/core.h>

#include "dut/config_reader.h"
#include "dut/dut.h"
#include "dut/external_dut.h"
#include "dut/kernel_dut.h"
#include "dut/qemu/qemu_kernel_dut.h"

namespace vslab::dut {

std::vector<std::string> parse_builtin_config(std::string_view text,
                                              const std::string& source_name) {
  ConfigErrors errors(source_name);
  std::vector<std::string> vsd_args;
  if (auto root = parse_config(text, source_name, errors)) {
    reject_unknown_keys(*root, {"vsd_args"}, "at top level", errors);
    if (auto args = optional_strings(*root, "vsd_args", errors))
      for (auto& arg : *args) vsd_args.push_back(std::move(arg.value));
  }
  errors.throw_if_any();
  return vsd_args;
}

std::unique_ptr<Dut> make_dut(const DutSpec& spec) {
  if (spec.kind == "builtin") {
    if (spec.vsd_binary.empty() || spec.vsadm_binary.empty())
      throw std::invalid_argument("builtin DUT: the paths of vsd and vsadm must be given");
    auto vsd_args = spec.vsd_args;
    if (!spec.config_file.empty())
      for (auto& arg : parse_builtin_config(read_config_text(spec.config_file), spec.config_file))
        vsd_args.push_back(std::move(arg));
    return std::make_unique<BuiltinDut>(spec.vsd_binary, spec.vsadm_binary, std::move(vsd_args));
  }
  if (spec.kind == "kernel") {
    KernelConfig config;
    if (!spec.config_file.empty())
      config = parse_kernel_config(read_config_text(spec.config_file), spec.config_file);
    return std::make_unique<KernelDut>(std::move(config));
  }
  if (spec.kind == "qemu-kernel") {
    qemu::QemuKernelConfig config;
    if (!spec.config_file.empty())
      config = qemu::parse_qemu_kernel_config(read_config_text(spec.config_file), spec.config_file);
    return std::make_unique<qemu::QemuKernelDut>(std::move(config));
  }
  if (spec.kind == "external") {
    if (spec.config_file.empty())
      throw std::invalid_argument(
          "external DUT: --dut-config FILE is required: a TOML file that maps the topology's "
          "director ports to existing interfaces, says how the box takes rules and what it "
          "claims (see harness/dut/external_dut.h)");
    return std::make_unique<ExternalDut>(read_external_config(spec.config_file));
  }
  throw std::invalid_argument(fmt::format(
      "unknown DUT kind '{}': expected builtin, kernel, qemu-kernel or external", spec.kind));
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

}  // namespace vslab::dut
