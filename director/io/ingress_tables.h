// The netdev tables that hold vsd's ingress drop (io/ingress_drop.h), as the kernel holds them:
// one per data port, owned by the netlink socket of the vsd that made it, and the leftovers
// that are no live process's (an older vsd's single unowned table, or one made by hand).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "io/nft_session.h"

namespace vsd {

// "vsd_" and the interface name, each byte but a letter, a digit, '-' or '.' written as _XX
// (nft takes no quoted table names; '_' is escaped too, so two interfaces never share a name).
std::string ingress_table_name(const std::string& ifname);
// The one table, for every port, of vsd before it owned its tables.
inline constexpr std::string_view kOldIngressTable = "vsd";

// What vsd writes as the comment of a table it owns, read back to name the owner.
std::string owner_comment(int pid);

struct IngressTable {
  std::string name;
  bool owned = false;                // flags owner: a live process's netlink socket holds it
  int owner_pid = 0;                 // from its comment; 0 when it does not say
  std::vector<std::string> devices;  // the interfaces its chains hook
  bool hooks_any(const std::vector<std::string>& ifnames) const;
};

// A table as `nft -t list table netdev NAME` prints it.
IngressTable parse_ingress_table(const std::string& name, std::string_view listing);
// The names in `nft list tables netdev`'s output that are vsd's: "vsd" and "vsd_*".
std::vector<std::string> vsd_table_names(std::string_view listing);

// The vsd tables of the namespace now; throws with nft's message.
std::vector<IngressTable> list_ingress_tables(NftSession& nft);

// Deletes, in one transaction, the vsd tables that no live process owns and that hook one of
// `ports` (every such table when `ports` is empty); returns what it deleted. A table a live
// vsd owns is never touched. Throws with nft's message.
std::vector<IngressTable> remove_leftover_tables(NftSession& nft,
                                                 const std::vector<std::string>& ports);

}  // namespace vsd
