// The SIP Call-ID that the kernel's SIP persistence engine (ip_vs_pe_sip.c) keys a persistence
// template by, found in a UDP payload the way it finds it: nf_conntrack_sip's header search
// for "Call-ID" or its compact form "i", then the checks of the engine's get_callid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vsd::fwd {

// IP_VS_PEDATA_MAXLEN: a longer Call-ID is no Call-ID to the kernel.
inline constexpr std::size_t kSipCallIdMax = 255;

// The Call-ID's bytes within `payload` (a view into it), or nothing when the kernel's engine
// finds none (the kernel then drops the datagram; see docs/ipvs.md "The SIP persistence
// engine"). Reads nothing outside `payload`, whatever it holds.
//
// The rules, from nf_conntrack_sip.c (ct_sip_get_header, callid_len) and get_callid:
// - A header is looked for only at the start of a line (after CR, LF or CR LF), never on the
//   first line, and never on a continuation line (one that starts with a space or tab).
// - "Call-ID" matches case-insensitively as a prefix of the line; "i" only when the byte after
//   it is not a letter. Spaces, tabs and line folds may come before the colon and after it.
// - A line that starts with the name but has no colon after it ends the search: no Call-ID.
// - The value is a word (letters, digits, and - . ! % * _ + ` ' ~ ( ) < > : \ " / [ ] ? { }),
//   optionally "@" and a second word. An empty value (or "word@" with nothing after) makes
//   the search go on from that value, with the kernel's offset arithmetic: a second empty
//   value sends it further ahead than where that value was.
// - The value must be at most kSipCallIdMax bytes and be followed by CR or LF.
// Letters and digits are the kernel's ctype: ASCII, plus the Latin-1 letters 0xC0-0xFF (but
// 0xD7 and 0xF7).
std::optional<std::string_view> sip_call_id(std::span<const uint8_t> payload);

}  // namespace vsd::fwd
