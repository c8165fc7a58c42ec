// Applying a parsed command to a RuleSet with the kernel's semantics (ip_vs_ctl.c), and -R.
//
// What the kernel does, and so what apply() does:
//  - -A/-E take every service field from the command, defaults included: ipvsadm sends a
//    complete service (wlc, not persistent, mask /32, no flags unless given) and
//    ip_vs_edit_service overwrites scheduler, flags, timeout and netmask. So `-E -t VIP:80 -s rr`
//    on a persistent service makes it non-persistent.
//  - -e likewise replaces method, weight and thresholds (defaults -g, 1, 0, 0); the destination
//    is found by address and port, with DR/TUN ports forced to the service port as for -a.
//  - a new destination goes to the head of the list (__ip_vs_add_dest), so the newest is
//    scanned first; -e keeps the position.
//  - --set: a value of 0 keeps the current timeout.
//  - --add-mark appends to the classifier (first match wins); --del-mark removes the rule equal
//    to the one given; -C clears the services and the classifier.
//  - every failure leaves the RuleSet exactly as it was.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/rules.h"
#include "ctl/command.h"
#include "ctl/result.h"

namespace vsd::ctl {

// Commands that do not change rules (list, save, zero, help...) change nothing here.
std::optional<Failure> apply(RuleSet& rules, const Command& command);

// -R: one ipvsadm command per line, as -S prints them (a leading "ipvsadm" or "vsadm" word is
// ignored); blank lines and everything after '#' are skipped. All or nothing: on the first
// failing line nothing changes and the message starts with "line N: ".
std::optional<Failure> apply_restore(RuleSet& rules, std::string_view text);

// Whether vsd has a scheduler of that name (the registry of sched/).
bool is_known_scheduler(std::string_view name);

// Scheduler flag bits named as ipvsadm prints them for this scheduler, in ipvsadm's order.
std::vector<std::string> sched_flag_names(std::string_view scheduler, uint32_t bits);

// The words of one restore line (split on blanks, '#' starts a comment).
std::vector<std::string> split_restore_line(std::string_view line);

}  // namespace vsd::ctl
