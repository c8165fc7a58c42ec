#include "fwd/sip_call_id.h"

namespace vsd::fwd {
namespace {

// The kernel's lib/ctype.c: Latin-1's letters count, its multiplication and division signs
// do not.
bool is_alpha(uint8_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c >= 0xc0 && c != 0xd7 && c != 0xf7;
}

bool is_alnum(uint8_t c) {
  return is_alpha(c) || (c >= '0' && c <= '9');
}

bool is_word_char(uint8_t c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!':
    case '"':
    case '%':
    case '(':
    case ')':
    case '*':
    case '+':
    case ':':
    case '<':
    case '>':
    case '?':
    case '[':
    case '\\':
    case ']':
    case '_':
    case '`':
    case '{':
    case '}':
    case '~':
    case '-':
    case '.':
    case '/':
    case '\'':
      return true;
    default:
      return false;
  }
}

uint8_t lower(uint8_t c) {
  return c >= 'A' && c <= 'Z' ? uint8_t(c - 'A' + 'a') : c;
}

// What a search step found: a header's value at `value_at`, `length` bytes long (0: an empty
// value, after which the search goes on); or no header at all.
struct Found {
  std::size_t value_at = 0;
  std::size_t length = 0;
};

class Scanner {
 public:
  explicit Scanner(std::span<const uint8_t> data) : d_(data) {}

  // ct_sip_get_header for the Call-ID from offset `from`: nothing when the search ends.
  std::optional<Found> find_header(std::size_t from) const {
    const std::size_t limit = d_.size();
    for (std::size_t i = from; i < limit; ++i) {
      if (d_[i] != '\r' && d_[i] != '\n') continue;
      if (++i >= limit) break;
      if (d_[i - 1] == '\r' && d_[i] == '\n' && ++i >= limit) break;
      if (d_[i] == ' ' || d_[i] == '\t') continue;  // a continuation line
      std::size_t at = i;
      if (starts_with_name(at, "call-id")) {
        at += 7;
      } else if (limit - at >= 2 && lower(d_[at]) == 'i' && !is_alpha(d_[at + 1])) {
        at += 1;
      } else {
        continue;
      }
      auto colon = skip_whitespace(at);
      if (!colon || *colon >= limit || d_[*colon] != ':') break;
      if (*colon + 1 >= limit) break;
      auto value = skip_whitespace(*colon + 1);
      if (!value || *value >= limit) break;
      return Found{*value, call_id_length(*value)};
    }
    return std::nullopt;
  }

 private:
  bool starts_with_name(std::size_t at, std::string_view name) const {
    if (d_.size() - at < name.size()) return false;
    for (std::size_t k = 0; k < name.size(); ++k)
      if (lower(d_[at + k]) != uint8_t(name[k])) return false;
    return true;
  }

  // sip_skip_whitespace: spaces and tabs, and a line break when a continuation line follows
  // it (then that line's leading blanks). Nothing when a line break is not followed by one.
  std::optional<std::size_t> skip_whitespace(std::size_t i) const {
    const std::size_t limit = d_.size();
    for (; i < limit; ++i) {
      if (d_[i] == ' ' || d_[i] == '\t') continue;
      if (d_[i] != '\r' && d_[i] != '\n') return i;
      return follow_continuation(i);
    }
    return i;
  }

  std::optional<std::size_t> follow_continuation(std::size_t i) const {
    const std::size_t limit = d_.size();
    if (++i >= limit) return std::nullopt;
    if (d_[i - 1] == '\r' && d_[i] == '\n' && ++i >= limit) return std::nullopt;
    if (d_[i] != ' ' && d_[i] != '\t') return std::nullopt;
    while (i < limit && (d_[i] == ' ' || d_[i] == '\t')) ++i;
    return i;
  }

  std::size_t word_length(std::size_t i) const {
    std::size_t n = 0;
    while (i + n < d_.size() && is_word_char(d_[i + n])) ++n;
    return n;
  }

  // callid_len: word, or word@word; 0 for "word@" without a second word.
  std::size_t call_id_length(std::size_t i) const {
    const std::size_t first = word_length(i);
    const std::size_t after = i + first;
    if (first == 0 || after == d_.size() || d_[after] != '@') return first;
    const std::size_t domain = word_length(after + 1);
    return domain == 0 ? 0 : first + 1 + domain;
  }

  std::span<const uint8_t> d_;
};

}  // namespace

std::optional<std::string_view> sip_call_id(std::span<const uint8_t> payload) {
  const Scanner scanner(payload);
  std::size_t from = 0;
  for (;;) {
    auto found = scanner.find_header(from);
    if (!found) return std::nullopt;
    if (found->length != 0) {
      const std::size_t end = found->value_at + found->length;
      if (found->length > kSipCallIdMax || end == payload.size()) return std::nullopt;
      if (payload[end] != '\r' && payload[end] != '\n') return std::nullopt;
      return std::string_view(reinterpret_cast<const char*>(payload.data()) + found->value_at,
                              found->length);
    }
    // get_callid adds the value's offset (from the payload's start) to where it searched
    // from: past the first empty value, the next search starts further on than that value.
    from += found->value_at;
  }
}

}  // namespace vsd::fwd
