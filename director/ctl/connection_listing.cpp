#include "ctl/connection_listing.h"

#include <optional>
#include <string>
#include <vector>

#include "ctl/format.h"

namespace vsd::ctl {
namespace {

using nlohmann::json;

// A streamed piece is sent once it holds this much text: a few chunks of the target's, few
// enough lines that the client prints steadily.
constexpr std::size_t kPieceBytes = 256 * 1024;

class ConnectionListing final : public Answer {
 public:
  ConnectionListing(ControlTarget& target, const ListOptions& options, bool stream)
      : target_(target), options_(options), stream_(stream) {}

  bool next(std::string& out) override {
    try {
      if (!started_) text_ = connections_title(options_), started_ = true;
      entries_.clear();
      cursor_ = target_.connections(cursor_, entries_);
      if (!options_.numeric && !names_) names_.emplace();
      append_connections(entries_, options_, text_, names_ ? &*names_ : nullptr);
      const bool done = cursor_ == kNoMoreConnections;
      if (stream_ && !done && text_.size() >= kPieceBytes) {
        out += dump_json(json{{"output", text_}}) + "\n";
        text_.clear();
      }
      if (!done) return true;
      out += dump_json(json{{"ok", true}, {"exit", 0}, {"output", text_}, {"error", ""}}) + "\n";
    } catch (const std::exception& e) {
      out += dump_json(json{{"ok", false},
                            {"exit", kExitRefused},
                            {"output", ""},
                            {"error", std::string("vsd: ") + e.what()}}) +
             "\n";
    }
    text_ = std::string();
    entries_ = std::vector<ConnectionEntry>();
    return false;
  }

 private:
  ControlTarget& target_;
  const ListOptions options_;
  const bool stream_;
  bool started_ = false;
  std::size_t cursor_ = 0;
  std::string text_;
  std::vector<ConnectionEntry> entries_;
  std::optional<PortNames> names_;  // without -n, read once for the whole listing
};

}  // namespace

std::unique_ptr<Answer> make_connection_listing(ControlTarget& target, const ListOptions& options,
                                                bool stream) {
  return std::make_unique<ConnectionListing>(target, options, stream);
}

}  // namespace vsd::ctl
