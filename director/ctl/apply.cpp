// Commands applied with ip_vs_ctl.c's semantics; -R all or nothing (see apply.h).
#include "ctl/apply.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "sched/scheduler.h"

namespace vsd::ctl {
namespace {

// The kernel's messages as ipvsadm's libipvs words them (ipvs_strerror), per call.
constexpr std::string_view kServiceExists = "Service already exists";
constexpr std::string_view kNoSuchService = "No such service";
constexpr std::string_view kServiceNotDefined = "Service not defined";
constexpr std::string_view kSchedulerNotFound = "Scheduler or persistence engine not found";
constexpr std::string_view kDestinationExists = "Destination already exists";
constexpr std::string_view kNoSuchDestination = "No such destination";
// ERANGE has no libipvs wording, so ipvsadm prints strerror(ERANGE).
constexpr std::string_view kOutOfRange = "Numerical result out of range";
// EINVAL's libipvs wording (two spaces after the period, as libipvs has it).
constexpr std::string_view kInvalid =
    "Invalid operation.  Possibly wrong module version, address not unicast, ...";
// DPVS words these "already exist" / "not exist"; vsd says what.
constexpr std::string_view kLocalAddressExists = "Local address already exists";
constexpr std::string_view kNoSuchLocalAddress = "No such local address";
// The classifier is vsd's own, so its words are too, in ipvsadm's style.
constexpr std::string_view kMarkRuleExists = "Mark rule already exists";
constexpr std::string_view kNoSuchMarkRule = "No such mark rule";

// The rule set commands change, with its services found by key: indexed when many commands
// run against it (-R of 100k services would otherwise scan the list for each line), scanned
// for one command (building the index would cost more).
class Book {
 public:
  Book(RuleSet& rules, bool indexed) : rules(rules), indexed_(indexed) {
    if (!indexed_) return;
    index_.reserve(rules.services.size());
    for (std::size_t i = 0; i < rules.services.size(); ++i)
      index_.emplace(rules.services[i].key, i);
  }
  Service* find(const ServiceKey& key) {
    if (!indexed_) return rules.find_service(key);
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &rules.services[it->second];
  }
  void add(Service service) {
    if (indexed_) index_.emplace(service.key, rules.services.size());
    rules.services.push_back(std::move(service));
  }
  bool erase(const ServiceKey& key) {
    Service* service = find(key);
    if (service == nullptr) return false;
    const std::size_t at = std::size_t(service - rules.services.data());
    rules.services.erase(rules.services.begin() + std::ptrdiff_t(at));
    if (indexed_) {
      index_.erase(key);
      for (std::size_t i = at; i < rules.services.size(); ++i) index_[rules.services[i].key] = i;
    }
    return true;
  }
  void clear() {
    rules.services.clear();
    index_.clear();
  }

  RuleSet& rules;

 private:
  bool indexed_;
  std::unordered_map<ServiceKey, std::size_t, ServiceKeyHash> index_;
};

Failure kernel_refused(std::string_view message) {
  return refused(std::string(message));
}

void set_service_fields(Service& service, const ServiceSettings& settings) {
  service.scheduler = settings.scheduler;
  service.sched_flags = sched_flag_names(settings.scheduler, settings.sched_flags);
  service.persistent = settings.persistent;
  service.persistence_timeout = settings.persistence_timeout;
  service.persistence_mask = settings.persistence_mask;
  service.persistence_prefix6 = settings.persistence_prefix6;
  service.one_packet = settings.one_packet;
  service.persistence_engine = settings.persistence_engine;
  service.toa = settings.toa;
}

// The kernel's one persistence engine is "sip" (ip_vs_pe_sip); ip_vs_pe_getbyname refuses any
// other name with ENOENT, as it refuses an unknown scheduler.
bool scheduler_and_engine_exist(const ServiceSettings& settings) {
  const std::string& engine = settings.persistence_engine;
  return is_known_scheduler(settings.scheduler) && (engine.empty() || engine == "sip");
}

std::optional<Failure> add_service(Book& book, const Command& command) {
  if (book.find(*command.service)) return kernel_refused(kServiceExists);
  if (!scheduler_and_engine_exist(command.settings)) return kernel_refused(kSchedulerNotFound);
  Service service;
  service.key = *command.service;
  set_service_fields(service, command.settings);
  book.add(std::move(service));
  return std::nullopt;
}

std::optional<Failure> edit_service(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kNoSuchService);
  if (!scheduler_and_engine_exist(command.settings)) return kernel_refused(kSchedulerNotFound);
  set_service_fields(*service, command.settings);
  return std::nullopt;
}

std::optional<Failure> delete_service(Book& book, const Command& command) {
  if (!book.erase(*command.service)) return kernel_refused(kNoSuchService);
  return std::nullopt;
}

// ip_vs_add_dest and ip_vs_edit_dest refuse a lower threshold above the upper one, even when
// the upper one is 0 ("none"): `-a ... -y 5` alone is refused.
bool thresholds_in_order(const Destination& dest) {
  return dest.lower_threshold <= dest.upper_threshold;
}

// ip_vs_new_dest wants a unicast or local address (inet_addr_type): not 0.0.0.0, not the
// limited broadcast, not multicast. For IPv6 (ipv6_addr_type): unicast and not link-local, so
// not ::, not ff00::/8, not fe80::/10.
bool is_unicast(const IpAddr& addr) {
  if (addr.is_v6()) {
    const uint8_t first = addr.bytes[0];
    const bool link_local = first == 0xfe && (addr.bytes[1] & 0xc0) == 0x80;
    return !addr.is_zero() && first != 0xff && !link_local;
  }
  const uint32_t v = addr.v4().value;
  return v != 0 && v != 0xffffffff && (v >> 28) != 0xe;
}

// The kernel takes a real server of the other family under a service for TUN alone (ipvsadm
// refuses the rest before asking); vsd's tunnels are IPIP from IPv4 to IPv4, so it refuses
// that too, saying why.
constexpr std::string_view kMixedFamilyTunnel =
    "vsd: a tunnel to a real server of another address family than its service's (IPv4 in "
    "IPv6 or IPv6 in IPv4) is not supported";

auto find_destination(Service& service, const IpEndpoint& addr) {
  return std::find_if(service.destinations.begin(), service.destinations.end(),
                      [&](const Destination& d) { return d.addr == addr; });
}

std::optional<Failure> add_server(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kServiceNotDefined);
  const Destination& dest = command.destination;
  if (!thresholds_in_order(dest)) return kernel_refused(kOutOfRange);
  if (find_destination(*service, dest.addr) != service->destinations.end()) {
    return kernel_refused(kDestinationExists);
  }
  if (!is_unicast(dest.addr.addr)) return kernel_refused(kInvalid);
  if (dest.addr.family() != service->family()) return refused(std::string(kMixedFamilyTunnel));
  // Head of the list: the kernel's list_add (spec 4).
  service->destinations.insert(service->destinations.begin(), dest);
  return std::nullopt;
}

std::optional<Failure> edit_server(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kServiceNotDefined);
  const Destination& dest = command.destination;
  if (!thresholds_in_order(dest)) return kernel_refused(kOutOfRange);
  auto it = find_destination(*service, dest.addr);
  if (it == service->destinations.end()) return kernel_refused(kNoSuchDestination);
  *it = dest;
  return std::nullopt;
}

std::optional<Failure> delete_server(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kServiceNotDefined);
  auto it = find_destination(*service, command.destination.addr);
  if (it == service->destinations.end()) return kernel_refused(kNoSuchDestination);
  service->destinations.erase(it);
  return std::nullopt;
}

void set_timeouts(RuleSet& rules, const Timeouts& given) {
  // ip_vs_set_timeout: a zero leaves the current value.
  if (given.tcp != 0) rules.timeouts.tcp = given.tcp;
  if (given.tcp_fin != 0) rules.timeouts.tcp_fin = given.tcp_fin;
  if (given.udp != 0) rules.timeouts.udp = given.udp;
}

std::optional<Failure> add_local_address(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kServiceNotDefined);
  const IpAddr& local = *command.local_address;
  if (local.family != service->family()) {
    return refused("vsd: local address " + local.str() + " is not of the family of " +
                   service->key.str());
  }
  if (local.family == Family::V6) {
    auto& pool = service->local_addresses6;
    if (std::find(pool.begin(), pool.end(), local) != pool.end())
      return kernel_refused(kLocalAddressExists);
    pool.push_back(local);
    return std::nullopt;
  }
  auto& pool = service->local_addresses;
  if (std::find(pool.begin(), pool.end(), local.v4()) != pool.end()) {
    return kernel_refused(kLocalAddressExists);
  }
  pool.push_back(local.v4());  // DPVS appends to its pool
  return std::nullopt;
}

std::optional<Failure> delete_local_address(Book& book, const Command& command) {
  Service* service = book.find(*command.service);
  if (service == nullptr) return kernel_refused(kServiceNotDefined);
  const IpAddr& local = *command.local_address;
  if (local.family == Family::V6) {
    auto& pool = service->local_addresses6;
    auto it = std::find(pool.begin(), pool.end(), local);
    if (it == pool.end()) return kernel_refused(kNoSuchLocalAddress);
    pool.erase(it);
    return std::nullopt;
  }
  auto& pool = service->local_addresses;
  auto it = std::find(pool.begin(), pool.end(), local.v4());
  if (it == pool.end()) return kernel_refused(kNoSuchLocalAddress);
  pool.erase(it);
  return std::nullopt;
}

// A rule equal to one in the list could never match (the first one wins), and would make
// --del-mark ambiguous; one with the same match but another mark is kept, as iptables keeps it.
std::optional<Failure> add_mark(RuleSet& rules, const Command& command) {
  auto& marks = rules.marks;
  if (std::find(marks.begin(), marks.end(), command.mark_rule) != marks.end()) {
    return kernel_refused(kMarkRuleExists);
  }
  marks.push_back(command.mark_rule);  // evaluated last, like iptables -A
  return std::nullopt;
}

std::optional<Failure> delete_mark(RuleSet& rules, const Command& command) {
  auto& marks = rules.marks;
  auto it = std::find(marks.begin(), marks.end(), command.mark_rule);
  if (it == marks.end()) return kernel_refused(kNoSuchMarkRule);
  marks.erase(it);
  return std::nullopt;
}

bool is_comment_start(char c) {
  return c == '#';
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

bool is_known_scheduler(std::string_view name) {
  const auto names = scheduler_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> sched_flag_names(std::string_view scheduler, uint32_t bits) {
  // ipvsadm's print_sched_flags: SCHED1/SCHED2 are fallback/port for sh and mh.
  std::array<std::string, 3> names = {"flag-1", "flag-2", "flag-3"};
  if (scheduler == "sh" || scheduler == "mh") {
    names[0] = std::string(scheduler) + "-fallback";
    names[1] = std::string(scheduler) + "-port";
  }
  std::vector<std::string> result;
  const std::array<uint32_t, 3> order = {kSchedFlag1, kSchedFlag2, kSchedFlag3};
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (bits & order[i]) result.push_back(names[i]);
  }
  return result;
}

namespace {

std::optional<Failure> apply_to(Book& book, const Command& command) {
  RuleSet& rules = book.rules;
  switch (command.op) {
    case Op::AddService:
      return add_service(book, command);
    case Op::EditService:
      return edit_service(book, command);
    case Op::DeleteService:
      return delete_service(book, command);
    case Op::Clear:
      book.clear();
      rules.marks.clear();  // the classifier only serves fwmark services
      return std::nullopt;  // timeouts stay, as in IPVS
    case Op::AddServer:
      return add_server(book, command);
    case Op::EditServer:
      return edit_server(book, command);
    case Op::DeleteServer:
      return delete_server(book, command);
    case Op::SetTimeouts:
      set_timeouts(rules, command.timeouts);
      return std::nullopt;
    case Op::AddLocalAddress:
      return add_local_address(book, command);
    case Op::DeleteLocalAddress:
      return delete_local_address(book, command);
    case Op::AddMark:
      return add_mark(rules, command);
    case Op::DeleteMark:
      return delete_mark(rules, command);
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Failure> apply(RuleSet& rules, const Command& command) {
  Book book(rules, /*indexed=*/false);
  return apply_to(book, command);
}

std::vector<std::string> split_restore_line(std::string_view line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    if (is_comment_start(line[i])) break;
    if (is_blank(line[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < line.size() && !is_blank(line[end]) && !is_comment_start(line[end])) ++end;
    words.emplace_back(line.substr(i, end - i));
    i = end;
  }
  // ipvsadm's config_stream drops the word "ipvsadm", so saved scripts with it restore.
  if (!words.empty() && (words.front() == "ipvsadm" || words.front() == "vsadm")) {
    words.erase(words.begin());
  }
  return words;
}

namespace {

// What is wrong with a restore line, on one line: the parser's words (ipvsadm's, where ipvsadm
// has any) without the help hint a command line gets, which says nothing about a file. Where
// ipvsadm says only "Try ...", the line had no command: name the word that stood there.
std::string restore_message(const Failure& f, const std::vector<std::string>& words) {
  std::string message = f.message.substr(0, f.message.find('\n'));
  if (message.rfind("Try ", 0) != 0) return message;
  const std::string& first = words.front();
  const std::string commands = "-A, -E, -D, -C, -a, -e or -d";
  if (first.empty() || first[0] != '-')
    return "`" + first + "' is not an option: a line is a command (" + commands +
           ") with its options";
  return "`" + first + "' comes before any command: a line starts with " + commands;
}

}  // namespace

std::optional<Failure> apply_restore(RuleSet& rules, std::string_view text) {
  RuleSet next = rules;  // all or nothing: work on a copy, commit at the end
  Book book(next, /*indexed=*/true);
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;

    const std::vector<std::string> words = split_restore_line(line);
    if (words.empty()) continue;
    auto at_line = [&](const Failure& f) {
      return Failure{f.exit_code,
                     "line " + std::to_string(line_number) + ": " + restore_message(f, words)};
    };
    auto command = parse_command(words);
    if (!command.ok()) return at_line(command.failure());
    if (!changes_rules(command.value().op)) {
      return at_line(usage_error("only commands that change rules can be restored"));
    }
    if (auto failure = apply_to(book, command.value())) return at_line(*failure);
  }
  rules = std::move(next);
  return std::nullopt;
}

}  // namespace vsd::ctl
