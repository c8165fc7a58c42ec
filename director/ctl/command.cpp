// Parsing ipvsadm command lines the way popt and ipvsadm 1.31 do (see command.h).
#include "ctl/command.h"

#include <array>
#include <bitset>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include <arpa/inet.h>

#include "ctl/port_names.h"
#include "sched/scheduler.h"
#include "vslab_version.h"

namespace vsd::ctl {
namespace {

// ---------------------------------------------------------------------------------------------
// The option table. How popt (which ipvsadm uses) reads an argv: "--name", "--name=value",
// "--name value"; "-abc" is a cluster of short options, and a short option taking a value takes
// the rest of the cluster or else the next word. A required value may start with '-' (so
// "-w -1" is weight "-1"); an optional one (-p) is taken only when the next word does not.

enum class Opt : uint8_t {
  // commands
  AddService,
  EditService,
  DeleteService,
  Clear,
  List,
  Zero,
  AddServer,
  EditServer,
  DeleteServer,
  Set,
  Help,
  Version,
  Restore,
  Save,
  AddLaddr,
  DelLaddr,
  GetLaddr,
  AddMark,
  DelMark,
  ListMarks,
  StartDaemon,
  StopDaemon,
  // options
  Tcp,
  Udp,
  Sctp,
  Fwmark,
  Scheduler,
  Persistent,
  Netmask,
  RealServer,
  Masquerading,
  Ipip,
  Gatewaying,
  FullNat,
  Weight,
  UThreshold,
  LThreshold,
  Numeric,
  Connection,
  Timeout,
  Stats,
  Rate,
  Thresholds,
  PersistentConn,
  NoSort,
  Sort,
  Exact,
  Ops,
  Pe,
  SchedFlags,
  TunType,
  LocalAddress,
  MarkProto,
  MarkDest,
  MarkDport,
  Marks,
  Toa,
  McastInterface,
  SyncId,
  Daemon,
  McastGroup,
  McastPort,
  McastTtl,
  SyncMaxlen,
  Ipv6,
};

enum class Arg : uint8_t { None, Required, Optional };

struct OptionSpec {
  std::string_view long_name;  // empty: short only
  char short_name;             // 0: long only
  Opt opt;
  Arg arg;
};

// 'b' is not here: it depends on the command (see Scanner::short_spec).
constexpr std::array kOptions = {
    OptionSpec{"add-service", 'A', Opt::AddService, Arg::None},
    OptionSpec{"edit-service", 'E', Opt::EditService, Arg::None},
    OptionSpec{"delete-service", 'D', Opt::DeleteService, Arg::None},
    OptionSpec{"clear", 'C', Opt::Clear, Arg::None},
    OptionSpec{"list", 'L', Opt::List, Arg::None},
    OptionSpec{"", 'l', Opt::List, Arg::None},
    OptionSpec{"zero", 'Z', Opt::Zero, Arg::None},
    OptionSpec{"add-server", 'a', Opt::AddServer, Arg::None},
    OptionSpec{"edit-server", 'e', Opt::EditServer, Arg::None},
    OptionSpec{"delete-server", 'd', Opt::DeleteServer, Arg::None},
    OptionSpec{"set", 0, Opt::Set, Arg::None},
    OptionSpec{"help", 'h', Opt::Help, Arg::None},
    OptionSpec{"version", 'v', Opt::Version, Arg::None},
    OptionSpec{"restore", 'R', Opt::Restore, Arg::None},
    OptionSpec{"save", 'S', Opt::Save, Arg::None},
    OptionSpec{"add-laddr", 0, Opt::AddLaddr, Arg::None},
    OptionSpec{"del-laddr", 0, Opt::DelLaddr, Arg::None},
    OptionSpec{"get-laddr", 0, Opt::GetLaddr, Arg::None},
    OptionSpec{"add-mark", 0, Opt::AddMark, Arg::None},
    OptionSpec{"del-mark", 0, Opt::DelMark, Arg::None},
    OptionSpec{"list-marks", 0, Opt::ListMarks, Arg::None},
    OptionSpec{"start-daemon", 0, Opt::StartDaemon, Arg::Required},
    OptionSpec{"stop-daemon", 0, Opt::StopDaemon, Arg::Required},
    OptionSpec{"tcp-service", 't', Opt::Tcp, Arg::Required},
    OptionSpec{"udp-service", 'u', Opt::Udp, Arg::Required},
    OptionSpec{"sctp-service", 0, Opt::Sctp, Arg::Required},
    OptionSpec{"fwmark-service", 'f', Opt::Fwmark, Arg::Required},
    OptionSpec{"scheduler", 's', Opt::Scheduler, Arg::Required},
    OptionSpec{"persistent", 'p', Opt::Persistent, Arg::Optional},
    OptionSpec{"netmask", 'M', Opt::Netmask, Arg::Required},
    OptionSpec{"real-server", 'r', Opt::RealServer, Arg::Required},
    OptionSpec{"masquerading", 'm', Opt::Masquerading, Arg::None},
    OptionSpec{"ipip", 'i', Opt::Ipip, Arg::None},
    OptionSpec{"gatewaying", 'g', Opt::Gatewaying, Arg::None},
    OptionSpec{"fullnat", 0, Opt::FullNat, Arg::None},
    OptionSpec{"weight", 'w', Opt::Weight, Arg::Required},
    OptionSpec{"u-threshold", 'x', Opt::UThreshold, Arg::Required},
    OptionSpec{"l-threshold", 'y', Opt::LThreshold, Arg::Required},
    OptionSpec{"numeric", 'n', Opt::Numeric, Arg::None},
    OptionSpec{"connection", 'c', Opt::Connection, Arg::None},
    OptionSpec{"timeout", 0, Opt::Timeout, Arg::None},
    OptionSpec{"stats", 0, Opt::Stats, Arg::None},
    OptionSpec{"rate", 0, Opt::Rate, Arg::None},
    OptionSpec{"thresholds", 0, Opt::Thresholds, Arg::None},
    OptionSpec{"persistent-conn", 0, Opt::PersistentConn, Arg::None},
    OptionSpec{"nosort", 0, Opt::NoSort, Arg::None},
    OptionSpec{"sort", 0, Opt::Sort, Arg::None},
    OptionSpec{"exact", 'X', Opt::Exact, Arg::None},
    OptionSpec{"ops", 'o', Opt::Ops, Arg::None},
    OptionSpec{"pe", 0, Opt::Pe, Arg::Required},
    OptionSpec{"sched-flags", 0, Opt::SchedFlags, Arg::Required},
    OptionSpec{"tun-type", 0, Opt::TunType, Arg::Required},
    OptionSpec{"laddr", 'z', Opt::LocalAddress, Arg::Required},
    OptionSpec{"proto", 0, Opt::MarkProto, Arg::Required},
    OptionSpec{"dest", 0, Opt::MarkDest, Arg::Required},
    OptionSpec{"dport", 0, Opt::MarkDport, Arg::Required},
    OptionSpec{"marks", 0, Opt::Marks, Arg::None},
    OptionSpec{"toa", 0, Opt::Toa, Arg::None},
    OptionSpec{"mcast-interface", 0, Opt::McastInterface, Arg::Required},
    OptionSpec{"syncid", 0, Opt::SyncId, Arg::Required},
    OptionSpec{"daemon", 0, Opt::Daemon, Arg::None},
    OptionSpec{"mcast-group", 0, Opt::McastGroup, Arg::Required},
    OptionSpec{"mcast-port", 0, Opt::McastPort, Arg::Required},
    OptionSpec{"mcast-ttl", 0, Opt::McastTtl, Arg::Required},
    OptionSpec{"sync-maxlen", 0, Opt::SyncMaxlen, Arg::Required},
    OptionSpec{"ipv6", '6', Opt::Ipv6, Arg::None},
};

constexpr OptionSpec kSchedFlagsShort{"", 'b', Opt::SchedFlags, Arg::Required};
constexpr OptionSpec kFullNatShort{"", 'b', Opt::FullNat, Arg::None};

bool is_command(Opt opt) {
  return opt <= Opt::StopDaemon;
}

// One step of the scan: an option (with its value, if it takes one), a non-option word, or a
// popt-level error ("unknown option", "missing argument").
struct Token {
  enum class Kind : uint8_t { Option, Word, Error };
  Kind kind = Kind::Word;
  Opt opt = Opt::List;
  std::optional<std::string> value;
  std::string text;  // the argv word the option came from, for messages
};

class Scanner {
 public:
  explicit Scanner(const std::vector<std::string>& args) : args_(args) {}

  // DPVS spells FULLNAT "-b" on -a/-e, where ipvsadm's -b (sched flags) is illegal anyway.
  void set_b_means_fullnat(bool yes) { b_means_fullnat_ = yes; }

  std::optional<Token> next() {
    if (!cluster_.empty()) return next_in_cluster();
    if (index_ >= args_.size()) return std::nullopt;
    const std::string& word = args_[index_++];
    if (options_ended_ || word.size() < 2 || word[0] != '-')
      return Token{Token::Kind::Word, {}, {}, word};
    if (word == "--") {
      options_ended_ = true;
      return next();
    }
    if (word[1] == '-') return long_option(word);
    cluster_ = word.substr(1);
    cluster_word_ = word;
    return next_in_cluster();
  }

 private:
  static Token error(std::string word, std::string_view reason) {
    Token t{Token::Kind::Error, {}, {}, std::move(word)};
    t.value = std::string(reason);
    return t;
  }

  const OptionSpec* short_spec(char c) const {
    if (c == 'b') return b_means_fullnat_ ? &kFullNatShort : &kSchedFlagsShort;
    for (const OptionSpec& spec : kOptions) {
      if (spec.short_name == c) return &spec;
    }
    return nullptr;
  }

  static const OptionSpec* long_spec(std::string_view name) {
    for (const OptionSpec& spec : kOptions) {
      if (!spec.long_name.empty() && spec.long_name == name) return &spec;
    }
    return nullptr;
  }

  bool next_word_is_value(Arg arg) const {
    if (index_ >= args_.size()) return false;
    return arg == Arg::Required || args_[index_].empty() || args_[index_][0] != '-';
  }

  Token next_in_cluster() {
    const char c = cluster_[0];
    cluster_.erase(0, 1);
    const OptionSpec* spec = short_spec(c);
    if (spec == nullptr) {
      cluster_.clear();
      return error(cluster_word_, "unknown option");
    }
    Token t{Token::Kind::Option, spec->opt, {}, cluster_word_};
    if (spec->arg == Arg::None) return t;
    if (!cluster_.empty()) {  // "-w5", "-p=60"
      t.value = cluster_[0] == '=' ? cluster_.substr(1) : cluster_;
      cluster_.clear();
    } else if (next_word_is_value(spec->arg)) {
      t.value = args_[index_++];
    } else if (spec->arg == Arg::Required) {
      return error(cluster_word_, "missing argument");
    }
    return t;
  }

  Token long_option(const std::string& word) {
    const std::string_view body = std::string_view(word).substr(2);
    const std::size_t equals = body.find('=');
    const OptionSpec* spec = long_spec(body.substr(0, equals));
    if (spec == nullptr) return error(word, "unknown option");
    Token t{Token::Kind::Option, spec->opt, {}, word};
    if (equals != std::string_view::npos) {
      if (spec->arg == Arg::None) return error(word, "option does not take an argument");
      t.value = std::string(body.substr(equals + 1));
    } else if (spec->arg != Arg::None && next_word_is_value(spec->arg)) {
      t.value = args_[index_++];
    } else if (spec->arg == Arg::Required) {
      return error(word, "missing argument");
    }
    return t;
  }

  const std::vector<std::string>& args_;
  std::size_t index_ = 0;
  std::string cluster_;       // short options of the current "-abc" not yet read
  std::string cluster_word_;  // the whole "-abc"
  bool options_ended_ = false;
  bool b_means_fullnat_ = false;
};

// ---------------------------------------------------------------------------------------------
// Which options each command takes, as ipvsadm's commands_v_options table: '+' required,
// 'x' illegal, '1' at most one of the '1's, ' ' optional. Columns are checked in this order,
// so the first offending column names the error, as in ipvsadm.

enum Column : uint8_t {
  kNumeric,
  kConnection,
  kService,
  kScheduler,
  kPersistent,
  kNetmask,
  kServer,
  kForward,
  kWeight,
  kUThreshold,
  kLThreshold,
  kMcast,
  kTimeout,
  kDaemon,
  kStats,
  kRate,
  kThresholds,
  kPersistentConn,
  kNoSort,
  kSyncId,
  kExact,
  kOps,
  kPe,
  kSchedFlags,
  kMcastGroup,
  kMcastPort,
  kMcastTtl,
  kSyncMaxlen,
  kTunType,
  kLaddr,
  kMarkProto,
  kMarkDest,
  kMarkDport,
  kMarks,
  kToa,
  kColumnCount,
};

constexpr std::array<std::string_view, kColumnCount> kColumnNames = {
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-type",
    "laddr",
    "proto",
    "dest",
    "dport",
    "marks",
    "toa",
};

struct CommandRule {
  std::string_view columns;  // one character per Column, in Column order
  Op op;
  std::string_view name;  // ipvsadm's cmdnames
};

// Column index ruler (kColumnNames holds the names):
//               0         1         2         3
//               01234567890123456789012345678901234
constexpr std::array kCommandRules = {
    CommandRule{"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx ", Op::AddService, "add-service"},
    CommandRule{"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx ", Op::EditService, "edit-service"},
    CommandRule{"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::DeleteService, "delete-service"},
    CommandRule{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::Clear, "flush"},
    CommandRule{" 11xxxxxxxxx11       xxxxxxxxxxxxxx", Op::List, "list"},
    CommandRule{"xx+xxx+    xxxxxxxxxxxxxxxxx xxxxxx", Op::AddServer, "add-server"},
    CommandRule{"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::DeleteServer, "delete-server"},
    CommandRule{"xx+xxx+    xxxxxxxxxxxxxxxxx xxxxxx", Op::EditServer, "edit-server"},
    CommandRule{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::SetTimeouts, "set"},
    CommandRule{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::Restore, "restore"},
    CommandRule{" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx x", Op::Save, "save"},
    CommandRule{"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::Zero, "zero"},
    CommandRule{"xx+xxxxxxxxxxxxxxxxxxxxxxxxxx+xxxxx", Op::AddLocalAddress, "add-laddr"},
    CommandRule{"xx+xxxxxxxxxxxxxxxxxxxxxxxxxx+xxxxx", Op::DeleteLocalAddress, "del-laddr"},
    CommandRule{" x xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::ListLocalAddresses, "get-laddr"},
    CommandRule{"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxx   xx", Op::AddMark, "add-mark"},
    CommandRule{"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxx   xx", Op::DeleteMark, "del-mark"},
    CommandRule{" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Op::ListMarks, "list-marks"},
    CommandRule{"xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx", Op::StartDaemon, "start-daemon"},
    CommandRule{"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx", Op::StopDaemon, "stop-daemon"},
    CommandRule{"                                   ", Op::Help, "help"},
    CommandRule{"                                   ", Op::Version, "version"},
};

constexpr bool every_row_has_all_columns() {
  for (const CommandRule& rule : kCommandRules) {
    if (rule.columns.size() != kColumnCount) return false;
  }
  return true;
}
static_assert(every_row_has_all_columns());

const CommandRule& rule_for(Op op) {
  for (const CommandRule& rule : kCommandRules) {
    if (rule.op == op) return rule;
  }
  return kCommandRules.front();  // unreachable: every Op has a row
}

std::optional<Op> op_for(Opt opt) {
  switch (opt) {
    case Opt::AddService:
      return Op::AddService;
    case Opt::EditService:
      return Op::EditService;
    case Opt::DeleteService:
      return Op::DeleteService;
    case Opt::Clear:
      return Op::Clear;
    case Opt::List:
      return Op::List;
    case Opt::Zero:
      return Op::Zero;
    case Opt::AddServer:
      return Op::AddServer;
    case Opt::EditServer:
      return Op::EditServer;
    case Opt::DeleteServer:
      return Op::DeleteServer;
    case Opt::Set:
      return Op::SetTimeouts;
    case Opt::Help:
      return Op::Help;
    case Opt::Version:
      return Op::Version;
    case Opt::Restore:
      return Op::Restore;
    case Opt::Save:
      return Op::Save;
    case Opt::AddLaddr:
      return Op::AddLocalAddress;
    case Opt::DelLaddr:
      return Op::DeleteLocalAddress;
    case Opt::GetLaddr:
      return Op::ListLocalAddresses;
    case Opt::AddMark:
      return Op::AddMark;
    case Opt::DelMark:
      return Op::DeleteMark;
    case Opt::ListMarks:
      return Op::ListMarks;
    case Opt::StartDaemon:
      return Op::StartDaemon;
    case Opt::StopDaemon:
      return Op::StopDaemon;
    default:
      return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// Values.

constexpr long long kMaxTimeout = 86400LL * 31;  // ipvsadm's MAX_TIMEOUT: 31 days

// strtol's reading of a whole word: leading blanks and a sign allowed, nothing after the digits.
std::optional<long long> to_number(std::string_view text, long long min, long long max) {
  const std::string word(text);
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(word.c_str(), &end, 10);
  if (end == word.c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
  if (n < min || n > max) return std::nullopt;
  return n;
}

bool all_digits(std::string_view text) {
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

struct AddressAndPort {
  IpEndpoint endpoint;
  bool has_port = false;
};

// An IPv4 address as ipvsadm reads one, with inet_aton: one to four parts, each decimal, octal
// (leading 0) or hex (0x), the last filling the bytes left ("10.1" is 10.0.0.1, "0xffffff00"
// 255.255.255.0), and anything after a blank ignored. glibc's own inet_aton, so that what it
// takes is exactly what ipvsadm takes.
std::optional<Ipv4> ipv4_as_aton(std::string_view text) {
  const std::string s(text);
  in_addr parsed{};
  if (inet_aton(s.c_str(), &parsed) == 0) return std::nullopt;
  return Ipv4::from_host(ntohl(parsed.s_addr));
}

// ipvsadm's parse_service: "a.b.c.d[:port]", "[ipv6]:port" or a bare IPv6 address (no port:
// the whole word is the address, "2001:db8::1:80" included); the port by number or by service
// name for `proto`. Its quirks are kept: "[ipv6]" without ":port" is refused, and a bracketed
// IPv4 address loses its port ("[10.0.0.1]:80" is 10.0.0.1 without one), as the brackets are
// cut before the IPv4 branch looks for a colon. Host names are not resolved: vsd's
// configuration is numeric. The IPv4 address is read by inet_aton (ipv4_as_aton).
std::optional<AddressAndPort> parse_address(std::string_view text, std::optional<Proto> proto) {
  if (all_digits(text)) return std::nullopt;  // ipvsadm refuses a bare number
  AddressAndPort result;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    port_text = text.substr(close + 2);
    text = text.substr(1, close - 1);
  }
  if (auto v6 = IpAddr::parse_v6(text)) {
    result.endpoint.addr = *v6;
  } else {
    const std::size_t colon = text.rfind(':');
    port_text.reset();
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
    auto addr = ipv4_as_aton(text.substr(0, colon));
    if (!addr) return std::nullopt;
    result.endpoint.addr = *addr;
  }
  if (!port_text) return result;
  result.has_port = true;
  const std::string_view port = *port_text;
  if (auto n = to_number(port, 0, 65535)) {
    result.endpoint.port = static_cast<uint16_t>(*n);
  } else if (auto named = proto ? port_by_name(port, *proto) : std::nullopt) {
    result.endpoint.port = *named;
  } else {
    return std::nullopt;
  }
  return result;
}

Result<uint32_t> parse_timeout(std::string_view text, long long min) {
  auto n = to_number(text, min, kMaxTimeout);
  if (!n) return usage_error("invalid timeout value `" + std::string(text) + "' specified");
  return static_cast<uint32_t>(*n);
}

// -b: comma-separated; sh-* need the sh scheduler and mh-* the mh scheduler (ipvsadm checks
// against -s, or wlc when -s is absent).
Result<uint32_t> parse_sched_flags(std::string_view text, std::string_view scheduler) {
  struct Known {
    std::string_view name;
    uint32_t bit;
    std::string_view needs;  // scheduler the flag belongs to, empty for any
  };
  constexpr std::array kKnown = {
      Known{"flag-1", kSchedFlag1, ""},    Known{"flag-2", kSchedFlag2, ""},
      Known{"flag-3", kSchedFlag3, ""},    Known{"sh-fallback", kSchedFlag1, "sh"},
      Known{"sh-port", kSchedFlag2, "sh"}, Known{"mh-fallback", kSchedFlag1, "mh"},
      Known{"mh-port", kSchedFlag2, "mh"},
  };
  uint32_t bits = 0;
  bool any = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view flag = text.substr(start, comma - start);
    start = comma + 1;
    if (flag.empty()) continue;  // strtok skips empty fields
    any = true;
    const Known* known = nullptr;
    for (const Known& k : kKnown) {
      if (k.name == flag) known = &k;
    }
    if (known == nullptr) return usage_error("invalid scheduler flag `" + std::string(flag) + "'");
    if (!known->needs.empty() && known->needs != scheduler) {
      return usage_error("incompatible scheduler flag `" + std::string(flag) + "'");
    }
    bits |= known->bit;
  }
  if (!any) return usage_error("invalid scheduler flag `" + std::string(text) + "'");
  return bits;
}

std::optional<MarkProto> parse_mark_proto(std::string_view text) {
  for (MarkProto p : {MarkProto::Any, MarkProto::Tcp, MarkProto::Udp}) {
    if (mark_proto_name(p) == text) return p;
  }
  return std::nullopt;
}

// "a.b.c.d" (a host, /32) or "a.b.c.d/len" with len 0..32 in decimal; an IPv6 address
// ("fd00::1", a host, /128) or "fd00::/len" with len 0..128, as ip6tables takes them.
std::optional<std::pair<IpAddr, uint8_t>> parse_prefix(std::string_view text) {
  const std::size_t slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const uint8_t host_len = addr->is_v4() ? 32 : 128;
  if (slash == std::string_view::npos) return std::pair{*addr, host_len};
  const std::string_view len = text.substr(slash + 1);
  // No leading zero: "/024" is a typo more often than a prefix length.
  if (len.empty() || len.size() > 3 || !all_digits(len) || (len.size() > 1 && len[0] == '0'))
    return std::nullopt;
  auto n = to_number(len, 0, host_len);
  if (!n) return std::nullopt;
  return std::pair{*addr, static_cast<uint8_t>(*n)};
}

// "port" or "first:last" (iptables' --dport spelling), numbers 0..65535, first <= last.
std::optional<std::pair<uint16_t, uint16_t>> parse_port_range(std::string_view text) {
  auto port = [](std::string_view p) -> std::optional<uint16_t> {
    if (p.empty() || p.size() > 5 || !all_digits(p)) return std::nullopt;
    auto n = to_number(p, 0, 65535);
    if (!n) return std::nullopt;
    return static_cast<uint16_t>(*n);
  };
  const std::size_t colon = text.find(':');
  auto first = port(text.substr(0, colon));
  auto last = colon == std::string_view::npos ? first : port(text.substr(colon + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return std::pair{*first, *last};
}

// ---------------------------------------------------------------------------------------------
// The parser: the first option must be a command; the options that follow are read in order
// (so the first bad value is the one reported); then the checks ipvsadm makes after parsing.

std::string try_help() {
  return "Try `vsadm -h' or 'vsadm --help' for more information.";
}

class CommandParser {
 public:
  explicit CommandParser(const std::vector<std::string>& args) : scanner_(args) {}

  Result<Command> parse() {
    if (auto failure = read_command()) return *failure;
    if (command_.op == Op::Help || command_.op == Op::Version) return command_;
    while (auto token = scanner_.next()) {
      if (auto failure = read_token(*token)) return *failure;
    }
    if (auto failure = finish()) return *failure;
    return command_;
  }

 private:
  std::optional<Failure> read_command() {
    while (auto token = scanner_.next()) {
      if (token->kind == Token::Kind::Word) {
        words_.push_back(token->text);
        continue;
      }
      if (token->kind == Token::Kind::Error) {
        return refused(token->text + ": " + *token->value + "\n" + try_help());
      }
      auto op = op_for(token->opt);
      if (!op) return refused(try_help());
      command_.op = *op;
      scanner_.set_b_means_fullnat(*op == Op::AddServer || *op == Op::EditServer);
      if (*op == Op::StartDaemon || *op == Op::StopDaemon) return read_role(*token->value);
      return std::nullopt;
    }
    return refused(try_help());
  }

  // ipvsadm's words, the second one's typo included.
  std::optional<Failure> read_role(const std::string& value) {
    if (value == "master") {
      command_.daemon.role = sync::Role::Master;
    } else if (value == "backup") {
      command_.daemon.role = sync::Role::Backup;
    } else {
      return usage_error(command_.op == Op::StartDaemon ? "illegal start-daemon parameter specified"
                                                        : "illegal start_daemon specified");
    }
    return std::nullopt;
  }

  std::optional<Failure> read_token(const Token& token) {
    switch (token.kind) {
      case Token::Kind::Word:
        words_.push_back(token.text);
        return std::nullopt;
      // popt errors end ipvsadm's parse with -1 (exit 255): "<word>: <reason>".
      case Token::Kind::Error:
        return refused(token.text + ": " + *token.value);
      case Token::Kind::Option:
        break;
    }
    if (is_command(token.opt)) return usage_error("invalid option `" + token.text + "'");
    return read_option(token.opt, token.value.value_or(""), token.value.has_value());
  }

  std::optional<Failure> mark(Column column) {
    if (given_[column]) {
      return usage_error("multiple '" + std::string(kColumnNames[column]) + "' options specified");
    }
    given_.set(column);
    return std::nullopt;
  }

  std::optional<Failure> read_option(Opt opt, const std::string& value, bool has_value) {
    switch (opt) {
      case Opt::Tcp:
        return read_service(value, Proto::Tcp);
      case Opt::Udp:
        return read_service(value, Proto::Udp);
      case Opt::Sctp:
        return read_service(value, Proto::Sctp);
      case Opt::Fwmark:
        return read_fwmark(value);
      case Opt::Scheduler:
        return read_scheduler(value);
      case Opt::Persistent:
        return read_persistent(value, has_value);
      case Opt::Netmask:
        return read_netmask(value);
      case Opt::RealServer:
        return read_server(value);
      case Opt::Masquerading:
        return read_method(Method::Nat);
      case Opt::Ipip:
        return read_method(Method::Tun);
      case Opt::Gatewaying:
        return read_method(Method::Dr);
      case Opt::FullNat:
        return read_method(Method::FullNat);
      case Opt::Weight:
        return read_count(kWeight, value, command_.destination.weight, "weight");
      case Opt::UThreshold:
        return read_count(kUThreshold, value, command_.destination.upper_threshold, "u_threshold");
      case Opt::LThreshold:
        return read_count(kLThreshold, value, command_.destination.lower_threshold, "l_threshold");
      case Opt::Numeric:
        return mark(kNumeric);
      case Opt::Connection:
        return mark(kConnection);
      case Opt::Timeout:
        return mark(kTimeout);
      case Opt::Stats:
        return mark(kStats);
      case Opt::Rate:
        return mark(kRate);
      case Opt::Thresholds:
        return mark(kThresholds);
      case Opt::PersistentConn:
        return mark(kPersistentConn);
      case Opt::NoSort:
        return mark(kNoSort);
      case Opt::Sort:
        return std::nullopt;  // the default; accepted for compatibility
      case Opt::Exact:
        return mark(kExact);
      case Opt::Ops:
        return read_flag(kOps, command_.settings.one_packet);
      case Opt::Pe:
        return read_persistence_engine(value);
      case Opt::SchedFlags:
        return read_sched_flags(value);
      case Opt::TunType:
        return read_tun_type(value);
      case Opt::LocalAddress:
        return read_local_address(value);
      case Opt::MarkProto:
        return read_mark_proto(value);
      case Opt::MarkDest:
        return read_mark_dest(value);
      case Opt::MarkDport:
        return read_mark_dport(value);
      case Opt::Marks:
        return read_flag(kMarks, command_.list.marks);
      case Opt::Toa:
        return read_flag(kToa, command_.settings.toa);
      case Opt::McastInterface:
        return read_mcast_interface(value);
      case Opt::SyncId:
        return read_daemon_number(kSyncId, value, 0, 255, "illegal syncid specified",
                                  command_.daemon.syncid);
      case Opt::Daemon:
        return mark(kDaemon);
      case Opt::McastGroup:
        return read_mcast_group(value);
      case Opt::McastPort:
        return read_daemon_number(kMcastPort, value, 1, 65535, "illegal mcast-port specified",
                                  command_.daemon.mcast_port);
      case Opt::McastTtl:
        return read_daemon_number(kMcastTtl, value, 1, 255, "illegal mcast-ttl specified",
                                  command_.daemon.mcast_ttl);
      case Opt::SyncMaxlen:
        return read_daemon_number(kSyncMaxlen, value, 1, 65535 - 20 - 8,
                                  "illegal sync-maxlen specified", command_.daemon.sync_maxlen);
      case Opt::Ipv6:
        return read_ipv6();
      default:
        return usage_error("invalid option");  // commands are handled by the caller
    }
  }

  std::optional<Failure> read_service(const std::string& value, Proto proto) {
    if (auto failure = mark(kService)) return failure;
    auto parsed = parse_address(value, proto);
    if (!parsed) return usage_error("illegal virtual server address[:port] specified");
    command_.service = ServiceKey{proto, parsed->endpoint, 0};
    // parse_service sets an IPv6 service's netmask to 128, undoing a -M read before it.
    if (parsed->endpoint.addr.is_v6()) command_.settings.persistence_prefix6 = 128;
    return std::nullopt;
  }

  // -6 makes the fwmark service given before it an IPv6 one (netmask 128); without one before
  // it, ipvsadm fails (its message ends in a newline of its own, so a blank line follows).
  std::optional<Failure> read_ipv6() {
    if (!command_.service || command_.service->fwmark == 0)
      return usage_error("-6 used before -f\n");
    command_.service->vip = IpEndpoint(IpAddr::zero(Family::V6), 0);
    command_.settings.persistence_prefix6 = 128;
    return std::nullopt;
  }

  std::optional<Failure> read_fwmark(const std::string& value) {
    if (auto failure = mark(kService)) return failure;
    auto mark_value = to_number(value, 1, UINT32_MAX);
    if (!mark_value) return usage_error("invalid fwmark value `" + value + "' specified");
    // ipvsadm gives fwmark services protocol TCP "to a sane value, even though it is not used".
    command_.service = ServiceKey{Proto::Tcp, Endpoint{}, static_cast<uint32_t>(*mark_value)};
    return std::nullopt;
  }

  std::optional<Failure> read_scheduler(const std::string& value) {
    if (auto failure = mark(kScheduler)) return failure;
    command_.settings.scheduler = value.substr(0, 15);  // IP_VS_SCHEDNAME_MAXLEN - 1
    return std::nullopt;
  }

  std::optional<Failure> read_persistent(const std::string& value, bool has_value) {
    if (auto failure = mark(kPersistent)) return failure;
    command_.settings.persistent = true;
    if (!has_value) return std::nullopt;  // 360 s, the kernel's default
    auto timeout = parse_timeout(value, 1);
    if (!timeout.ok()) return timeout.failure();
    command_.settings.persistence_timeout = timeout.value();
    return std::nullopt;
  }

  // An IPv4 mask, or for a service already known to be IPv6 a prefix length read as atoi reads
  // it ("64abc" is 64), 1..128.
  std::optional<Failure> read_netmask(const std::string& value) {
    if (auto failure = mark(kNetmask)) return failure;
    if (command_.service && command_.service->family() == Family::V6) {
      const long long len = std::atoll(value.c_str());
      if (len < 1 || len > 128) return usage_error("illegal ipv6 netmask specified");
      command_.settings.persistence_prefix6 = static_cast<uint8_t>(len);
      return std::nullopt;
    }
    // parse_netmask: inet_aton, and no check that the bits are contiguous (the kernel makes
    // none either): "24" is 0.0.0.24.
    auto mask = ipv4_as_aton(value);
    if (!mask) return usage_error("illegal virtual server persistent mask specified");
    command_.settings.persistence_mask = *mask;
    return std::nullopt;
  }

  std::optional<Failure> read_server(const std::string& value) {
    if (auto failure = mark(kServer)) return failure;
    std::optional<Proto> proto;
    if (command_.service) proto = command_.service->proto;
    auto parsed = parse_address(value, proto);
    if (!parsed) return usage_error("illegal real server address[:port] specified");
    command_.destination.addr = parsed->endpoint;
    // Without a port the server takes the service's, as far as it is known at this point.
    if (!parsed->has_port) {
      command_.destination.addr.port = command_.service ? command_.service->vip.port : 0;
    }
    return std::nullopt;
  }

  std::optional<Failure> read_method(Method method) {
    if (auto failure = mark(kForward)) return failure;
    command_.destination.method = method;
    return std::nullopt;
  }

  std::optional<Failure> read_count(Column column, const std::string& value, uint32_t& out,
                                    std::string_view what) {
    if (auto failure = mark(column)) return failure;
    // ipvsadm 1.31's source caps weights at 65535, but spec 10 observed 70000 accepted: the
    // kernel takes any non-negative int, and so do we.
    auto n = to_number(value, 0, INT_MAX);
    if (!n) return usage_error("illegal " + std::string(what) + " specified");
    out = static_cast<uint32_t>(*n);
    return std::nullopt;
  }

  std::optional<Failure> read_flag(Column column, bool& out) {
    if (auto failure = mark(column)) return failure;
    out = true;
    return std::nullopt;
  }

  std::optional<Failure> read_persistence_engine(const std::string& value) {
    if (auto failure = mark(kPe)) return failure;
    command_.settings.persistence_engine = value;
    return std::nullopt;
  }

  std::optional<Failure> read_sched_flags(const std::string& value) {
    if (auto failure = mark(kSchedFlags)) return failure;
    sched_flags_text_ = value;  // checked once the scheduler is known
    return std::nullopt;
  }

  std::optional<Failure> read_tun_type(const std::string& value) {
    if (auto failure = mark(kTunType)) return failure;
    if (value == "gue" || value == "gre") {
      return usage_error("tunnel type `" + value + "' is not supported by vsd (only ipip)");
    }
    if (value != "ipip") return usage_error("illegal tunnel type specified");
    return std::nullopt;
  }

  std::optional<Failure> read_local_address(const std::string& value) {
    if (auto failure = mark(kLaddr)) return failure;
    auto addr = IpAddr::parse(value);
    if (!addr) return usage_error("illegal local address specified");
    command_.local_address = *addr;
    return std::nullopt;
  }

  std::optional<Failure> read_mcast_interface(const std::string& value) {
    if (auto failure = mark(kMcast)) return failure;
    command_.daemon.mcast_ifn = value.substr(0, 15);  // IP_VS_IFNAME_MAXLEN - 1
    given_mcast_ifn_ = true;
    return std::nullopt;
  }

  // ipvsadm's string_to_number: strtol over the whole word, then the range.
  template <class T>
  std::optional<Failure> read_daemon_number(Column column, const std::string& value, long long min,
                                            long long max, std::string_view error, T& out) {
    if (auto failure = mark(column)) return failure;
    auto n = to_number(value, min, max);
    if (!n) return usage_error(std::string(error));
    out = static_cast<T>(*n);
    return std::nullopt;
  }

  // An IPv4 multicast address; IPv6 (any word with a ':') is checked as ipvsadm does, then
  // refused: vsd's sync daemon speaks IPv4 only.
  std::optional<Failure> read_mcast_group(const std::string& value) {
    if (auto failure = mark(kMcastGroup)) return failure;
    if (value.find(':') != std::string::npos) {
      unsigned char v6[16];
      if (inet_pton(AF_INET6, value.c_str(), v6) <= 0 || v6[0] != 0xff)
        return usage_error("invalid IPv6 mcast-group `" + value + "'");
      return refused("vsd: an IPv6 mcast-group is not supported (the sync daemon is IPv4 only)");
    }
    in_addr v4{};
    if (inet_pton(AF_INET, value.c_str(), &v4) <= 0 || (ntohl(v4.s_addr) >> 28) != 0xe)
      return usage_error("invalid IPv4 mcast-group `" + value + "'");
    command_.daemon.mcast_group = Ipv4::from_host(ntohl(v4.s_addr));
    return std::nullopt;
  }

  std::optional<Failure> read_mark_proto(const std::string& value) {
    if (auto failure = mark(kMarkProto)) return failure;
    auto proto = parse_mark_proto(value);
    if (!proto) return usage_error("illegal protocol `" + value + "' specified (tcp, udp or any)");
    command_.mark_rule.proto = *proto;
    return std::nullopt;
  }

  std::optional<Failure> read_mark_dest(const std::string& value) {
    if (auto failure = mark(kMarkDest)) return failure;
    auto net = parse_prefix(value);
    if (!net) return usage_error("illegal destination address[/prefix] specified");
    const IpAddr network = net->first.prefix(net->second);
    // iptables would quietly mask the address; refusing keeps what -S prints equal to what was
    // typed, and a typo in the prefix length shows at once.
    if (network != net->first) {
      return usage_error("destination " + value + " has host bits set (the network is " +
                         network.str() + "/" + std::to_string(net->second) + ")");
    }
    command_.mark_rule.dest = net->first;
    command_.mark_rule.prefix_len = net->second;
    return std::nullopt;
  }

  std::optional<Failure> read_mark_dport(const std::string& value) {
    if (auto failure = mark(kMarkDport)) return failure;
    auto range = parse_port_range(value);
    if (!range) return usage_error("illegal destination port range `" + value + "' specified");
    command_.mark_rule.dport_min = range->first;
    command_.mark_rule.dport_max = range->second;
    return std::nullopt;
  }

  // -------------------------------------------------------------------------------------------
  // After the scan, in ipvsadm's order: --set's values, stray words, -b, the option table, then
  // each command's own checks.

  std::optional<Failure> finish() {
    if (command_.op == Op::SetTimeouts) {
      if (auto failure = read_set_values()) return failure;
    }
    if (!words_.empty()) return usage_error("unexpected argument " + words_.front());
    if (sched_flags_text_) {
      auto bits = parse_sched_flags(*sched_flags_text_, command_.settings.scheduler);
      if (!bits.ok()) return bits.failure();
      command_.settings.sched_flags = bits.value();
    }
    if (auto failure = check_option_table()) return failure;
    switch (command_.op) {
      case Op::AddService:
      case Op::EditService:
        return check_service_settings();
      case Op::AddServer:
      case Op::EditServer:
        return settle_destination();
      case Op::List:
        return settle_list_options();
      case Op::Save:
      case Op::ListLocalAddresses:
      case Op::ListMarks:
        command_.list.numeric = given_[kNumeric];
        return std::nullopt;
      case Op::AddMark:
      case Op::DeleteMark:
        return settle_mark_rule();
      case Op::StartDaemon:
        if (!given_mcast_ifn_) command_.daemon.mcast_ifn = "eth0";  // ipvsadm's DEF_MCAST_IFN
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }

  std::optional<Failure> read_set_values() {
    if (words_.size() < 3) return usage_error("--set option requires 3 timeout values");
    std::array<uint32_t, 3> values{};
    for (std::size_t i = 0; i < 3; ++i) {
      auto timeout = parse_timeout(words_[i], 0);
      if (!timeout.ok()) return timeout.failure();
      values[i] = timeout.value();
    }
    command_.timeouts = Timeouts{values[0], values[1], values[2]};
    words_.erase(words_.begin(), words_.begin() + 3);
    return std::nullopt;
  }

  std::optional<Failure> check_option_table() const {
    const CommandRule& rule = rule_for(command_.op);
    std::optional<Column> first_exclusive;
    for (uint8_t i = 0; i < kColumnCount; ++i) {
      const auto column = static_cast<Column>(i);
      const char need = rule.columns[i];
      const std::string option(kColumnNames[i]);
      if (!given_[column]) {
        if (need == '+') {
          return usage_error("You need to supply the '" + option + "' option for the '" +
                             std::string(rule.name) + "' command");
        }
        continue;
      }
      if (need == 'x') {
        return usage_error("Illegal '" + option + "' option with the '" + std::string(rule.name) +
                           "' command");
      }
      if (need == '1') {
        if (!first_exclusive) {
          first_exclusive = column;
          continue;
        }
        return usage_error("The option '" + option + "' conflicts with the '" +
                           std::string(kColumnNames[*first_exclusive]) + "' option in the '" +
                           std::string(rule.name) + "' command");
      }
    }
    return std::nullopt;
  }

  std::optional<Failure> check_service_settings() {
    const ServiceKey& key = *command_.service;
    if (key.fwmark == 0 && key.vip.port == 0 && !command_.settings.persistent) {
      return usage_error("Zero port specified for non-persistent service");
    }
    if (command_.settings.one_packet && key.fwmark == 0 && key.proto != Proto::Udp) {
      return usage_error("One-Packet Scheduling is only for UDP virtual services");
    }
    // ipvsadm puts its default in an empty name, so `-s ''` asks for wlc as no -s does.
    if (command_.settings.scheduler.empty()) command_.settings.scheduler = "wlc";
    return std::nullopt;
  }

  std::optional<Failure> settle_destination() {
    Destination& dest = command_.destination;
    // DR and TUN cannot rewrite the port, so ipvsadm stores the service port (spec 2); a
    // fwmark service has no port to force.
    const bool keeps_port = dest.method == Method::Dr || dest.method == Method::Tun;
    if (keeps_port && command_.service->fwmark == 0) dest.addr.port = command_.service->vip.port;
    if (given_[kTunType] && dest.method != Method::Tun) {
      return usage_error("Tunnel options conflict with forward method");
    }
    if (dest.addr.family() != command_.service->family() && dest.method != Method::Tun) {
      return usage_error("Different address family is allowed only for tunneling servers");
    }
    return std::nullopt;
  }

  std::optional<Failure> settle_mark_rule() {
    // The classifier gives marks, so a rule names a mark, never an address service.
    if (command_.service->fwmark == 0) {
      return usage_error("The '" + std::string(rule_for(command_.op).name) +
                         "' command takes a firewall mark (-f MARK), not -t or -u");
    }
    command_.mark_rule.mark = command_.service->fwmark;
    return std::nullopt;
  }

  std::optional<Failure> settle_list_options() {
    const bool connection_or_timeout = given_[kConnection] || given_[kTimeout] || given_[kDaemon];
    const bool counters = given_[kStats] || given_[kRate] || given_[kThresholds];
    if ((connection_or_timeout && counters) ||
        ((given_[kTimeout] || given_[kDaemon]) && given_[kPersistentConn])) {
      return usage_error("options conflicts in the list command");
    }
    ListOptions& list = command_.list;
    list.numeric = given_[kNumeric];
    list.exact = given_[kExact];
    list.sorted = !given_[kNoSort];
    list.kind = given_[kConnection] ? ListKind::Connections
                : given_[kTimeout]  ? ListKind::Timeouts
                : given_[kDaemon]   ? ListKind::Daemons
                                    : ListKind::Services;
    list.columns = given_[kStats]            ? Columns::Stats
                   : given_[kRate]           ? Columns::Rate
                   : given_[kThresholds]     ? Columns::Thresholds
                   : given_[kPersistentConn] ? Columns::PersistentConn
                                             : Columns::Default;
    return std::nullopt;
  }

  Scanner scanner_;
  Command command_;
  std::bitset<kColumnCount> given_;
  std::vector<std::string> words_;  // non-option words, in order
  std::optional<std::string> sched_flags_text_;
  bool given_mcast_ifn_ = false;
};

}  // namespace

Result<Command> parse_command(const std::vector<std::string>& args) {
  if (args.empty()) return Command{};  // like ipvsadm: list everything, names resolved
  return CommandParser(args).parse();
}

bool changes_rules(Op op) {
  switch (op) {
    case Op::AddService:
    case Op::EditService:
    case Op::DeleteService:
    case Op::Clear:
    case Op::AddServer:
    case Op::DeleteServer:
    case Op::EditServer:
    case Op::SetTimeouts:
    case Op::AddLocalAddress:
    case Op::DeleteLocalAddress:
    case Op::AddMark:
    case Op::DeleteMark:
      return true;
    default:
      return false;
  }
}

// ipvsadm 1.31 prints "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"; users
// and scripts read its first two words and the IPVS version, so those stay where they are and
// the slot that names the option parser names vslab instead.
std::string version_text() {
  return "ipvsadm v1.31 2019/12/24 (compiled with vslab " VSLAB_VERSION " and IPVS v1.2.1)\n";
}

namespace {
// The names of the schedulers vsd has, as the registry of sched/ gives them.
std::string scheduler_list() {
  std::string list;
  for (const auto& name : scheduler_names()) list += (list.empty() ? "" : " ") + name;
  return list;
}
}  // namespace

std::string usage_text() {
  return version_text() +
         "Usage:\n"
         "  vsadm -A|-E SERVICE [-s SCHED] [-p [TIMEOUT]] [-M NETMASK] [-o] [-b FLAGS]\n"
         "  vsadm -D SERVICE\n"
         "  vsadm -C                 (the services and the mark classifier)\n"
         "  vsadm -R                 (rules from standard input, all or nothing)\n"
         "  vsadm -S [-n]\n"
         "  vsadm -a|-e SERVICE -r SERVER[:PORT] [-g|-i|-m|-b] [-w W] [-x UPPER] [-y LOWER]\n"
         "  vsadm -d SERVICE -r SERVER[:PORT]\n"
         "  vsadm -L|-l [SERVICE] [-n] [-c] [--timeout] [--stats|--rate|--thresholds|\n"
         "              --persistent-conn] [--exact] [--nosort]\n"
         "  vsadm -Z [SERVICE]\n"
         "  vsadm --set TCP TCPFIN UDP      (seconds; 0 keeps the current value)\n"
         "  vsadm --add-laddr|--del-laddr -z LOCAL-ADDR SERVICE     (FULLNAT)\n"
         "  vsadm --get-laddr [SERVICE]\n"
         "  vsadm --add-mark|--del-mark -f MARK [--proto tcp|udp|any] [--dest ADDR[/LEN]]\n"
         "                  [--dport PORT[:PORT]]   (vsd's classifier; first match wins)\n"
         "  vsadm --list-marks\n"
         "  vsadm -S [-n] --marks            (the services, then the classifier rules)\n"
         "  vsadm --start-daemon master|backup [--mcast-interface IF] [--syncid ID]\n"
         "        [--sync-maxlen LEN] [--mcast-group ADDR] [--mcast-port PORT] [--mcast-ttl TTL]\n"
         "  vsadm --stop-daemon master|backup\n"
         "  vsadm -L|-l --daemon\n"
         "  vsadm -h | -v\n"
         "\n"
         "SERVICE is -t ADDR[:PORT] (TCP), -u ADDR[:PORT] (UDP) or -f MARK [-6] (firewall\n"
         "mark); an IPv6 ADDR is written [ADDR]:PORT, as for -r; a port may be a number or a\n"
         "name from /etc/services.\n"
         "\n"
         "Options:\n"
         "  --scheduler      -s  " +
         scheduler_list() +
         "\n"
         "                       (default wlc)\n"
         "  --persistent     -p  persistence, TIMEOUT seconds (default 360)\n"
         "  --netmask        -M  client mask for persistence (default 255.255.255.255;\n"
         "                       IPv6: a prefix length, default 128)\n"
         "  --ipv6           -6  after -f MARK: an IPv6 firewall-mark service\n"
         "  --ops            -o  one-packet scheduling (UDP)\n"
         "  --toa                on -A/-E: FULLNAT tells the real server the client (DPVS TOA)\n"
         "  --sched-flags    -b  on -A/-E: sh-fallback,sh-port or mh-fallback,mh-port\n"
         "  --real-server    -r  real server address\n"
         "  --gatewaying     -g  direct routing (default)\n"
         "  --ipip           -i  IP-in-IP tunnel (--tun-type ipip)\n"
         "  --masquerading   -m  NAT\n"
         "  --fullnat        -b  on -a/-e: FULLNAT (DPVS)\n"
         "  --weight         -w  weight (default 1; 0 = no new connections)\n"
         "  --u-threshold    -x  upper connection threshold (0 = none)\n"
         "  --l-threshold    -y  lower connection threshold\n"
         "  --laddr          -z  FULLNAT local address\n"
         "  --numeric        -n  numeric ports in listings\n"
         "  --connection     -c  list connection entries\n"
         "  --exact              exact counters (no K/M/G)\n"
         "  --daemon             with -L: the connection sync daemons\n"
         "  --mcast-interface    sync: interface (default eth0)\n"
         "  --syncid             sync: 0..255 (default 0; a backup with 0 takes every one)\n"
         "  --sync-maxlen        sync: message length (default 1472, a backup's from its MTU)\n"
         "  --mcast-group        sync: IPv4 group (default 224.0.0.81)\n"
         "  --mcast-port         sync: UDP port (default 8848)\n"
         "  --mcast-ttl          sync: multicast TTL (default 1)\n"
         "  --socket PATH        vsd's control socket (default /run/vsd/vsd.sock, or\n"
         "                       $VSD_SOCKET)\n";
}

}  // namespace vsd::ctl
