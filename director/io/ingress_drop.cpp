#include "io/ingress_drop.h"

#include <fcntl.h>
#include <sys/wait.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "os/child_process.h"
#include "os/unique_fd.h"
#include "os/whole_io.h"

namespace vsd {
namespace {

// Runs nft with the script on its standard input; returns its exit status and output.
int run_nft(const std::string& script, std::string& output) {
  try {
    auto in = vslab::os::make_pipe(O_CLOEXEC);
    auto out = vslab::os::make_pipe(O_CLOEXEC);
    vslab::os::SpawnOptions options;
    options.stdin_fd = in.first.get();
    options.stdout_fd = out.second.get();
    options.stderr_fd = out.second.get();
    auto nft = vslab::os::ChildProcess::spawn({"nft", "-f", "-"}, options);
    in.first.reset();
    out.second.reset();
    vslab::os::write_all(in.second.get(), script);
    in.second.reset();
    vslab::os::read_to_end(out.first.get(), output);
    const int status = nft.wait();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  } catch (const std::system_error&) {
    return -1;  // no pipe or no fork
  }
}

std::string elements(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

// "add element" with no elements is a syntax error: an empty set gets no line.
void add_elements(std::string& script, const char* set, const std::vector<std::string>& items) {
  if (!items.empty())
    script += "add element netdev vsd " + std::string(set) + " { " + elements(items) + " }\n";
}

std::string proto_number(Proto p) {
  return std::to_string(unsigned(p));
}

std::string port_element(const IngressServices::Port& p) {
  return p.addr.str() + " . " + proto_number(p.proto) + " . " + std::to_string(p.port);
}
std::string address_element(const IngressServices::Address& a) {
  return a.addr.str() + " . " + proto_number(a.proto);
}
std::string range_element(const IngressServices::Range& r) {
  return r.network.str() + "/" + std::to_string(r.prefix_len) + " . " + proto_number(r.proto) +
         " . " + std::to_string(r.port_min) + "-" + std::to_string(r.port_max);
}

// "delete element" then "add element" lines for what is in `now` and not in `before` and the
// other way round; both sorted (ingress_services_of sorts them).
template <class T, class Element>
void change_elements(std::string& script, const char* set, const std::vector<T>& before,
                     const std::vector<T>& now, Element element) {
  std::vector<T> gone, fresh;
  std::set_difference(before.begin(), before.end(), now.begin(), now.end(),
                      std::back_inserter(gone));
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(),
                      std::back_inserter(fresh));
  std::vector<std::string> items;
  for (const auto& e : gone) items.push_back(element(e));
  if (!items.empty())
    script += "delete element netdev vsd " + std::string(set) + " { " + elements(items) + " }\n";
  items.clear();
  for (const auto& e : fresh) items.push_back(element(e));
  add_elements(script, set, items);
}

}  // namespace

std::string IngressDrop::set_update(const IngressServices& services, const HostAddresses& host) {
  std::string s =
      "flush set netdev vsd services\nflush set netdev vsd service_addresses\n"
      "flush set netdev vsd marked\nflush set netdev vsd host\n";
  std::vector<std::string> items;
  for (const auto& p : services.ports) items.push_back(port_element(p));
  add_elements(s, "services", items);
  items.clear();
  for (const auto& a : services.addresses) items.push_back(address_element(a));
  add_elements(s, "service_addresses", items);
  items.clear();
  for (const auto& r : services.marked) items.push_back(range_element(r));
  add_elements(s, "marked", items);
  items.clear();
  for (auto a : host.local()) items.push_back(a.str());
  for (auto a : host.broadcast()) items.push_back(a.str());
  add_elements(s, "host", items);
  return s;
}

std::string IngressDrop::services_change(const IngressServices& before,
                                         const IngressServices& now) {
  std::string s;
  change_elements(s, "services", before.ports, now.ports, port_element);
  change_elements(s, "service_addresses", before.addresses, now.addresses, address_element);
  change_elements(s, "marked", before.marked, now.marked, range_element);
  return s;
}

std::string IngressDrop::ruleset(const std::vector<std::string>& ifnames,
                                 const IngressServices& services, const HostAddresses& host) {
  // "add" then "delete" makes the delete safe when no table exists (a clean restart).
  std::string s =
      "add table netdev vsd\ndelete table netdev vsd\ntable netdev vsd {\n"
      "  set services { type ipv4_addr . inet_proto . inet_service; }\n"
      "  set service_addresses { type ipv4_addr . inet_proto; }\n"
      "  set marked { type ipv4_addr . inet_proto . inet_service; flags interval; }\n"
      "  set host { type ipv4_addr; }\n";
  // The kernel resolves its own neighbours, and vsd forwards no IPv6. Of IPv4, only what is
  // addressed to the host or to a group can be the kernel's, so the rest (forwarded traffic,
  // VIPs and local addresses the host does not hold: the bulk of the data plane's frames)
  // meets one set lookup before the policy drops it; what is addressed to the host is then
  // the kernel's unless it is one of vsd's services (keepalived puts VIPs on interfaces).
  // Groups and broadcasts by the frame's kind (one compare, where an address set cost the
  // sender's core about a tenth of the forwarding rate on veth); a frame for another MAC
  // passes too, and the kernel's IP input drops it as it always does.
  s += "  chain to_host {\n"
       "    ip daddr . meta l4proto . th dport @services drop\n"
       "    ip daddr . meta l4proto @service_addresses drop\n"
       "    ip daddr . meta l4proto . th dport @marked drop\n"
       "    accept\n"
       "  }\n";
  for (std::size_t i = 0; i < ifnames.size(); ++i)
    s += "  chain ingress" + std::to_string(i) + " {\n    type filter hook ingress device \"" +
         ifnames[i] +
         "\" priority 0; policy drop;\n"
         "    ether type arp accept\n"
         "    ether type ip6 accept\n"
         "    ip daddr @host goto to_host\n"
         "    meta pkttype != host accept\n"
         "  }\n";
  return s + "}\n" + set_update(services, host);
}

IngressDrop::IngressDrop(const std::vector<std::string>& ifnames, const HostAddresses& host)
    : host_(host) {
  std::string output;
  if (run_nft(ruleset(ifnames, services_, host_), output) != 0)
    throw std::runtime_error("cannot install the ingress drop (nft): " + output);
}

IngressDrop::~IngressDrop() {
  std::string output;
  run_nft("delete table netdev vsd\n", output);
}

std::string IngressDrop::set_services(const IngressServices& services) {
  std::lock_guard lock(mutex_);
  // Only the elements that changed: one service among 100k is a line for nft, not 100k (a
  // set of 100k elements takes nft about 2 s to parse). Should that fail, the whole sets.
  const std::string change = services_change(services_, services);
  services_ = services;
  std::string output;
  if (change.empty() || run_nft(change, output) == 0) return {};
  return apply_locked();
}

std::string IngressDrop::set_host(const HostAddresses& host) {
  std::lock_guard lock(mutex_);
  host_ = host;
  return apply_locked();
}

std::string IngressDrop::apply_locked() {
  std::string output;
  if (run_nft(set_update(services_, host_), output) != 0)
    return "cannot update the ingress drop's sets (nft): " + output;
  return {};
}

}  // namespace vsd
