#include "scaleout/outcome.h"

#include <fmt/core.h>

#include <set>
#include <sstream>

namespace vslab::scaleout {

std::vector<ListedConnection> parse_connection_listing(const std::string& text) {
  std::vector<ListedConnection> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    ListedConnection c;
    std::string expire;
    if (!(words >> c.proto >> expire >> c.state >> c.client >> c.virtual_address >> c.destination))
      continue;
    if (c.proto != "TCP" && c.proto != "UDP") continue;  // the headings, templates ("IP")
    out.push_back(std::move(c));
  }
  return out;
}

bool Probe::consistent() const {
  std::set<std::string> servers;
  for (const auto& [director, server] : server_by_director) servers.insert(server);
  return servers.size() == 1 && !servers.begin()->empty();
}

std::string Flow::id() const {
  return fmt::format("{} :{}", proto, client_port);
}

namespace {

std::string or_none(const std::string& s) {
  return s.empty() ? "none" : s;
}

std::string director_or_unlisted(const std::string& d) {
  return d.empty() ? "an unlisted director" : d;
}

std::string what_after(const Flow& f) {
  return f.error_after.empty() ? f.server_after : f.error_after;
}

}  // namespace

Figures figures_of(const Outcome& outcome) {
  Figures f;
  for (const auto& d : outcome.directors) f.tcp_by_director[d] = f.udp_by_director[d] = 0;
  for (const auto& p : outcome.probes)
    if (!p.consistent()) {
      ++f.inconsistent_probes;
      std::string chosen;
      for (const auto& [director, server] : p.server_by_director)
        chosen += fmt::format(" {} {}", director, or_none(server));
      f.problems.push_back(
          fmt::format("UDP :{} chose different real servers:{}", p.client_port, chosen));
    }
  for (const auto& flow : outcome.flows) {
    ++(flow.proto == "TCP" ? f.tcp_by_director : f.udp_by_director)[flow.director_before];
    if (flow.moved()) {
      ++f.moved;
      if (flow.kept()) ++f.moved_kept;
    }
    if (!flow.kept()) {
      ++f.broken;
      f.problems.push_back(fmt::format("{} broken: {} on {} before, {} on {} after", flow.id(),
                                       or_none(flow.server_before),
                                       director_or_unlisted(flow.director_before), what_after(flow),
                                       director_or_unlisted(flow.director_after)));
    }
  }
  for (const auto& d : outcome.directors)
    if (f.tcp_by_director[d] + f.udp_by_director[d] == 0)
      f.problems.push_back(fmt::format("{} took no flow: the router did not spread them", d));
  if (f.moved == 0)
    f.problems.push_back("no flow moved when " + outcome.removed +
                         " left the route: nothing was tested");
  return f;
}

std::string report_text(const Outcome& outcome, const Figures& figures) {
  std::string text;
  int tcp = 0, udp = 0;
  for (const auto& flow : outcome.flows) ++(flow.proto == "TCP" ? tcp : udp);
  text += fmt::format(
      "{} directors behind ECMP, scheduler {}, sloppy TCP {}: {} TCP and {} UDP flows\n",
      outcome.directors.size(), outcome.scheduler, outcome.sloppy_tcp ? "on" : "off", tcp, udp);
  text +=
      fmt::format("consistency: {} flows sent to every director: {} chose one real server on all\n",
                  outcome.probes.size(), outcome.probes.size() - figures.inconsistent_probes);
  text += "spread:";
  for (const auto& d : outcome.directors)
    text += fmt::format("  {} {} (TCP {}, UDP {})", d,
                        figures.tcp_by_director.at(d) + figures.udp_by_director.at(d),
                        figures.tcp_by_director.at(d), figures.udp_by_director.at(d));
  text += "\n";
  text += fmt::format(
      "{} removed from the route: {} flows moved to another director, {} of them kept their "
      "real server; {} flows broken\n",
      outcome.removed, figures.moved, figures.moved_kept, figures.broken);
  if (!figures.problems.empty()) {
    text += "FAIL:\n";
    for (const auto& p : figures.problems) text += "  " + p + "\n";
  } else {
    text += "PASS\n";
  }
  return text;
}

}  // namespace vslab::scaleout
