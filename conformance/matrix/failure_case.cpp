#include "matrix/failure_case.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "replay/case.h"

namespace vslab::matrix {
namespace {

replay::Mask as_case_mask(const expect::FrameExpectation::MaskSpec& m) {
  using Kind = expect::FrameExpectation::MaskSpec::Kind;
  replay::Mask out;
  out.field = expect::field_name(m.field);
  switch (m.kind) {
    case Kind::Ignore:
      out.kind = replay::Mask::Kind::Ignore;
      break;
    case Kind::AnyOf:
      out.kind = replay::Mask::Kind::AnyOf;
      break;
    case Kind::InRange:
      out.kind = replay::Mask::Kind::InRange;
      break;
    case Kind::ExactText:
      out.kind = replay::Mask::Kind::Text;
      break;
  }
  out.values = m.texts;
  out.lo = m.lo;
  out.hi = m.hi;
  return out;
}

}  // namespace

std::optional<std::filesystem::path> write_failure_case(MatrixBed& mb, const Cell& cell,
                                                        const std::string& failure) {
  auto& bed = mb.bed();
  auto& checker = bed.checker();
  const auto& journal = checker.journal();
  const auto failed =
      std::find_if(journal.begin(), journal.end(), [](const auto& r) { return !r.ok; });
  if (failed == journal.end()) return std::nullopt;
  auto node_of = [&](const port::Port* p) {
    if (p == bed.client().port) return bed.client().node;
    for (int rs = 1; rs <= 3; ++rs)
      if (p == bed.rs(rs).port) return bed.rs(rs).node;
    throw std::logic_error("a port of no host");
  };

  replay::CaseToWrite c;
  c.description = fmt::format(
      "Written by `vslab conform` when cell {} failed against the {} DUT: {} The rules, the "
      "frames and the expectations are the cell's, from the IPVS spec; the frames the real "
      "servers send were built from what they had received in that run.",
      cell.id(), bed.dut().name(), failure.substr(0, failure.find('\n')));
  c.topology = std::string(name(mb.mode()));
  // The restore's leading -C only empties what earlier cells left; a replay starts empty.
  std::string rules = bed.restored_rules();
  if (rules.rfind("-C\n", 0) == 0) rules.erase(0, 3);
  c.rules = rules;
  c.timing = replay::Timing::AfterExpected;
  // The cell goes on after a failed check (its later steps have findings of their own), but
  // the case ends there: a frame sent afterwards has no expectation in the case, so a correct
  // director's answer to it would be an unexpected frame, and the case would fail everywhere.
  auto sent = checker.sent_since_start();
  sent.resize(std::min(sent.size(), failed->sent_before));
  for (auto& [port, frame] : sent) c.inputs.push_back({node_of(port), std::move(frame)});
  const auto checks_before_failure = std::size_t(failed - journal.begin());
  for (const auto& edit : bed.rule_edits())
    if (edit.checks_before <= checks_before_failure)
      c.admin.push_back({int(edit.sent_before) + 1, edit.args, edit.until_unlisted});
  // The checks up to the first that failed: the case fails where the cell did.
  for (const auto& r : journal) {
    if (r.want) {
      replay::CaseToWrite::Expected x;
      x.ports = {node_of(r.ports.front())};
      x.after_input = int(r.sent_before);
      x.frame = r.want->bytes();
      for (const auto& m : r.want->mask_specs()) x.masks.push_back(as_case_mask(m));
      x.timeout_ms = 2000;
      c.expected.push_back(std::move(x));
    } else if (!r.ok) {
      std::vector<std::string> nodes;
      for (const auto* p : r.ports) nodes.push_back(node_of(p));
      c.no_other = nodes;
    }
    if (!r.ok) break;
  }
  replay::write_case(checker.case_dir(), c);
  return checker.case_dir();
}

}  // namespace vslab::matrix
