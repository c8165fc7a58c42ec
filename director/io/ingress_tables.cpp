#include "io/ingress_tables.h"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace vsd {
namespace {

constexpr std::string_view kOwnerCommentPrefix = "vsd pid ";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == ';' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

// The devices a chain's hook line names: `device "eth0"` or `devices = { eth0, "eth1" }`.
void add_devices(std::string_view line, std::vector<std::string>& devices) {
  if (auto at = line.find("devices = {"); at != std::string_view::npos) {
    std::string_view list = line.substr(at + 11);
    list = list.substr(0, list.find('}'));
    while (!list.empty()) {
      auto comma = list.find(',');
      if (auto name = unquote(list.substr(0, comma)); !name.empty()) devices.emplace_back(name);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  } else if (auto at = line.find("device \""); at != std::string_view::npos) {
    std::string_view rest = line.substr(at + 8);
    devices.emplace_back(rest.substr(0, rest.find('"')));
  }
}

}  // namespace

std::string ingress_table_name(const std::string& ifname) {
  std::string name = "vsd_";
  for (unsigned char c : ifname) {
    if (std::isalnum(c) || c == '-' || c == '.') {
      name += char(c);
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "_%02x", c);
      name += escaped;
    }
  }
  return name;
}

std::string owner_comment(int pid) {
  return std::string(kOwnerCommentPrefix) + std::to_string(pid);
}

bool IngressTable::hooks_any(const std::vector<std::string>& ifnames) const {
  for (const auto& ifname : ifnames) {
    if (name == ingress_table_name(ifname)) return true;
    for (const auto& device : devices)
      if (device == ifname) return true;
  }
  return false;
}

IngressTable parse_ingress_table(const std::string& name, std::string_view listing) {
  IngressTable table;
  table.name = name;
  int depth = 0;
  for (std::string_view line : lines_of(listing)) {
    std::string_view text = trim(line);
    if (depth == 1 && text.starts_with("flags ")) {
      for (std::string_view flags = text.substr(6); !flags.empty();) {
        auto comma = flags.find(',');
        table.owned |= trim(flags.substr(0, comma)) == "owner";
        if (comma == std::string_view::npos) break;
        flags.remove_prefix(comma + 1);
      }
    } else if (depth == 1 && text.starts_with("comment ")) {
      std::string_view comment = unquote(text.substr(8));
      if (comment.starts_with(kOwnerCommentPrefix)) {
        comment.remove_prefix(kOwnerCommentPrefix.size());
        std::from_chars(comment.data(), comment.data() + comment.size(), table.owner_pid);
      }
    } else if (depth == 2 && text.find("hook ingress") != std::string_view::npos) {
      add_devices(text, table.devices);
    }
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (!quoted && c == '{') ++depth;
      if (!quoted && c == '}') --depth;
    }
  }
  return table;
}

std::vector<std::string> vsd_table_names(std::string_view listing) {
  std::vector<std::string> names;
  constexpr std::string_view prefix = "table netdev ";
  for (std::string_view line : lines_of(listing)) {
    line = trim(line);
    if (!line.starts_with(prefix)) continue;
    std::string_view name = line.substr(prefix.size());
    name = name.substr(0, name.find(' '));
    if (name == kOldIngressTable || name.starts_with("vsd_")) names.emplace_back(name);
  }
  return names;
}

std::vector<IngressTable> list_ingress_tables(NftSession& nft) {
  auto tables = nft.list("list tables netdev");
  if (!tables.ok) throw std::runtime_error("cannot list the netdev tables (nft): " + tables.output);
  std::vector<IngressTable> found;
  for (const auto& name : vsd_table_names(tables.output)) {
    auto listing = nft.list("list table netdev " + name);
    // Gone since the first listing: its owner exited in between.
    if (!listing.ok) continue;
    found.push_back(parse_ingress_table(name, listing.output));
  }
  return found;
}

std::vector<IngressTable> remove_leftover_tables(NftSession& nft,
                                                 const std::vector<std::string>& ports) {
  std::vector<IngressTable> leftovers;
  std::string script;
  for (auto& table : list_ingress_tables(nft)) {
    if (table.owned || (!ports.empty() && !table.hooks_any(ports))) continue;
    script += "delete table netdev " + table.name + "\n";
    leftovers.push_back(std::move(table));
  }
  if (!script.empty())
    if (auto outcome = nft.run(script); !outcome.ok)
      throw std::runtime_error("cannot remove a leftover ingress table (nft): " + outcome.output);
  return leftovers;
}

}  // namespace vsd
