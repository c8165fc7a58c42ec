// ipvsadm 1.31's listings, byte for byte (print_title, print_service_entry, print_conn,
// list_timeout in ipvsadm.c), from a DirectorState. Pure functions: no I/O, no clock.
//
// Sort order (libipvs ipvs_cmp_services / ipvs_cmp_dests): services by fwmark (address
// services, mark 0, first), then protocol number (TCP before UDP), address, port; destinations
// by address, then port. --nosort keeps rule order (services in creation order, destinations
// in scheduling order).
//
// Without -n ipvsadm resolves addresses (gethostbyaddr) and ports (getservbyport). vsd shows
// ports by service name (":http") but keeps addresses numeric: reverse DNS would make listings
// slow and depend on the resolver, and nothing in vslab names hosts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/state.h"
#include "ctl/command.h"
#include "ctl/port_names.h"
#include "ctl/result.h"
#include "sync/daemon_config.h"

namespace vsd::ctl {

// What a -L, -S or --get-laddr command prints, or why it cannot ("No such service", exit 1).
Result<std::string> format_command(const DirectorState& state, const Command& command);

// -L [-n]: the version line, the column titles and every service.
std::string format_services(const DirectorState& state, const ListOptions& options);
// -L -t VIP:PORT: the titles and that one service (no version line).
Result<std::string> format_one_service(const DirectorState& state, const ServiceKey& key,
                                       const ListOptions& options);
// -L -c: the title, then one line per entry (what a streamed listing sends a chunk at a time).
std::string format_connections(const DirectorState& state, const ListOptions& options);
std::string connections_title(const ListOptions& options);
// names: the port names to use without -n (made for the call when not given).
void append_connections(const std::vector<ConnectionEntry>& entries, const ListOptions& options,
                        std::string& out, const PortNames* names = nullptr);
// -L --timeout
std::string format_timeouts(const Timeouts& timeouts);
// -S [-n]: commands that -R restores to the same rules. TUN destinations carry
// "--tun-type ipip", FULLNAT ones "-b", and each local address is an --add-laddr line after
// its service's destinations. with_marks (-S --marks) adds the classifier as --add-mark lines,
// in evaluation order, after every service; without it the text is what ipvsadm -S prints,
// which ipvsadm -R can load.
std::string format_save(const RuleSet& rules, bool numeric, bool with_marks = false);
// -L --daemon: a line per running sync daemon, as ipvsadm's list_daemon prints the kernel's
// (every default filled in): "master sync daemon (mcast=eth0, syncid=0, maxlen=1472,
// group=224.0.0.81, port=8848, ttl=1)"; nothing when none runs.
std::string format_daemons(const std::vector<sync::DaemonConfig>& daemons);
// --list-marks: the classifier rules in evaluation order (vsd's own table; ipvsadm has none).
std::string format_marks(const RuleSet& rules);
// --get-laddr [SERVICE], as DPVS's ipvsadm prints it.
Result<std::string> format_local_addresses(const RuleSet& rules,
                                           const std::optional<ServiceKey>& only);

// A counter as --stats/--rate print it (print_largenum): 9 columns, right-aligned, a space
// included. Below 10^8 as is; below 10^9 in thousands with a K; below 10^11 in millions (M);
// below 10^14 in billions (G); else in trillions (T), each as 8 digits and the letter,
// truncated. --exact prints every digit, widening the column to keep one leading space.
std::string format_counter(uint64_t value, bool exact);

}  // namespace vsd::ctl
