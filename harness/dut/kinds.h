// The DUT kinds that --dut names, one table line each (kinds.cpp): make_dut, the commands' --dut
// options and their help read the table, so a new kind is its own file and one line there.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "dut/dut.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace vslab::dut {

struct DutKind {
  std::string_view name;         // what --dut takes
  std::string_view description;  // in --dut's help, after the name
  std::unique_ptr<Dut> (*make)(const DutSpec& spec);
  // Its ports serve one topology at a time (a box lent by interface), so runs take it at -j1.
  bool serves_one_topology = false;
};

// Every kind, in the order help texts and error messages list them.
std::span<const DutKind> dut_kinds();
// nullptr for a name no kind has.
const DutKind* find_dut_kind(std::string_view name);
// Whether the kind of that name serves one topology at a time (false for no kind).
bool serves_one_topology(std::string_view name);
// "builtin, kernel, qemu-kernel or external".
std::string dut_kind_names();
// "builtin (vsd), kernel (IPVS), ...": the kinds with their descriptions, for a --dut help text.
std::string dut_kinds_help();
// The command-line flags that name this DUT again (--dut KIND, --dut-config FILE with its path
// made absolute, --vsd/--vsadm when not the ones beside vslab), quoted for a shell: what a
// replay hint needs to replay a failure against the same director.
std::string dut_flags(const DutSpec& spec);
// Adds an option to cmd that takes a kind's name into kind, refuses any other name as CLI11's
// IsMember does, and has help "<help_lead><dut_kinds_help()>".
CLI::Option* add_dut_kind_option(CLI::App& cmd, const std::string& name, std::string& kind,
                                 const std::string& help_lead);

}  // namespace vslab::dut
