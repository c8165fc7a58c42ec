#include "io/ingress_drop.h"

#include <unistd.h>

namespace vsd {
namespace {

std::string elements(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// "add element" with no elements is a syntax error: an empty set gets no line.
void add_elements(std::string& script, const std::string& table, const char* set,
                  const std::vector<std::string>& items) {
  if (!items.empty())
    script += "add element netdev " + table + " " + set + " { " + elements(items) + " }\n";
}

std::string proto_number(Proto p) {
  return std::to_string(unsigned(p));
}

// nft reads a device name between double quotes, with no escapes.
void check_nameable(const std::string& ifname) {
  for (unsigned char c : ifname)
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
      throw std::runtime_error("port " + ifname + ": nft cannot name this interface");
}

}  // namespace

std::string IngressDrop::set_update(const std::vector<std::string>& ifnames,
                                    const IngressServices& services, const HostAddresses& host) {
  std::vector<std::string> ports, addresses, marked, local;
  for (const auto& p : services.ports)
    ports.push_back(p.addr.str() + " . " + proto_number(p.proto) + " . " + std::to_string(p.port));
  for (const auto& a : services.addresses)
    addresses.push_back(a.addr.str() + " . " + proto_number(a.proto));
  for (const auto& r : services.marked)
    marked.push_back(r.network.str() + "/" + std::to_string(r.prefix_len) + " . " +
                     proto_number(r.proto) + " . " + std::to_string(r.port_min) + "-" +
                     std::to_string(r.port_max));
  for (auto a : host.local()) local.push_back(a.str());
  for (auto a : host.broadcast()) local.push_back(a.str());
  std::string s;
  for (const auto& ifname : ifnames) {
    const std::string table = ingress_table_name(ifname);
    for (const char* set : {"services", "service_addresses", "marked", "host"})
      s += "flush set netdev " + table + " " + set + "\n";
    add_elements(s, table, "services", ports);
    add_elements(s, table, "service_addresses", addresses);
    add_elements(s, table, "marked", marked);
    add_elements(s, table, "host", local);
  }
  return s;
}

std::string IngressDrop::ruleset(const std::vector<std::string>& ifnames,
                                 const IngressServices& services, const HostAddresses& host,
                                 int owner_pid) {
  std::string s;
  for (const auto& ifname : ifnames) {
    // The owner flag makes the table this session's socket's: no "delete" first, as a table
    // of that name left by anyone else must make the claim fail, not vanish.
    s += "table netdev " + ingress_table_name(ifname) +
         " {\n"
         "  flags owner\n"
         "  comment \"" +
         owner_comment(owner_pid) +
         "\"\n"
         "  set services { type ipv4_addr . inet_proto . inet_service; }\n"
         "  set service_addresses { type ipv4_addr . inet_proto; }\n"
         "  set marked { type ipv4_addr . inet_proto . inet_service; flags interval; }\n"
         "  set host { type ipv4_addr; }\n";
    // The kernel resolves its own neighbours, and vsd forwards no IPv6. Of IPv4, only what is
    // addressed to the host or to a group can be the kernel's, so the rest (forwarded
    // traffic, VIPs and local addresses the host does not hold: the bulk of the data plane's
    // frames) meets one set lookup before the policy drops it; what is addressed to the host
    // is then the kernel's unless it is one of vsd's services (keepalived puts VIPs on
    // interfaces). Groups and broadcasts by the frame's kind (one compare, where an address
    // set cost the sender's core about a tenth of the forwarding rate on veth); a frame for
    // another MAC passes too, and the kernel's IP input drops it as it always does.
    s += "  chain to_host {\n"
         "    ip daddr . meta l4proto . th dport @services drop\n"
         "    ip daddr . meta l4proto @service_addresses drop\n"
         "    ip daddr . meta l4proto . th dport @marked drop\n"
         "    accept\n"
         "  }\n"
         "  chain ingress {\n"
         "    type filter hook ingress device \"" +
         ifname +
         "\" priority 0; policy drop;\n"
         "    ether type arp accept\n"
         "    ether type ip6 accept\n"
         "    ip daddr @host goto to_host\n"
         "    meta pkttype != host accept\n"
         "  }\n"
         "}\n";
  }
  return s + set_update(ifnames, services, host);
}

IngressDrop::IngressDrop(const std::vector<std::string>& ifnames, const HostAddresses& host)
    : ifnames_(ifnames), host_(host) {
  for (std::size_t i = 0; i < ifnames.size(); ++i) {
    check_nameable(ifnames[i]);
    for (std::size_t j = 0; j < i; ++j)
      if (ifnames[j] == ifnames[i]) throw std::runtime_error("port " + ifnames[i] + " given twice");
  }
  leftovers_ = remove_leftover_tables(nft_, ifnames);
  if (auto outcome = nft_.run(ruleset(ifnames, services_, host_, getpid())); !outcome.ok)
    explain_failed_claim(outcome.output);
}

IngressDrop::~IngressDrop() = default;

void IngressDrop::explain_failed_claim(const std::string& nft_message) {
  std::vector<IngressTable> tables;
  try {
    tables = list_ingress_tables(nft_);
  } catch (const std::runtime_error&) {
    // Nothing to add to nft's own message.
  }
  std::string taken, unowned;
  for (const auto& ifname : ifnames_)
    for (const auto& table : tables) {
      if (table.name != ingress_table_name(ifname)) continue;
      if (!table.owned) {
        unowned += " " + ifname;
        continue;
      }
      taken += (taken.empty() ? "" : "; ") + ("port " + ifname) + " is served by another vsd (" +
               (table.owner_pid > 0 ? "pid " + std::to_string(table.owner_pid)
                                    : std::string("its pid unknown")) +
               ", table netdev " + table.name + ")";
    }
  if (!taken.empty()) throw PortTaken(taken + "; stop that vsd first");
  if (!unowned.empty())
    throw std::runtime_error("a table nobody owns appeared on port(s)" + unowned +
                             " as vsd started; `vsd --cleanup" + unowned + "` removes it");
  throw std::runtime_error("cannot install the ingress drop (nft): " + nft_message);
}

std::string IngressDrop::set_services(const IngressServices& services) {
  std::lock_guard lock(mutex_);
  services_ = services;
  return apply_locked();
}

std::string IngressDrop::set_host(const HostAddresses& host) {
  std::lock_guard lock(mutex_);
  host_ = host;
  return apply_locked();
}

std::string IngressDrop::apply_locked() {
  if (auto outcome = nft_.run(set_update(ifnames_, services_, host_)); !outcome.ok)
    return "cannot update the ingress drop's sets (nft): " + outcome.output;
  return {};
}

}  // namespace vsd
