// Helpers shared by the line-based records (session_record, server_handover): words split
// on single spaces, decimal numbers without signs, lowercase hex session ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/handshake.hpp"

namespace udptun::protocol::record_text {

std::vector<std::string_view> split_words(std::string_view line);
bool parse_u32(std::string_view s, uint32_t& out);
bool parse_session_id(std::string_view s, SessionId& out);
std::string format_session_id(const SessionId& id);

// A record's first line, "NAME MAJOR" or "NAME MAJOR.MINOR" (docs/PROTOCOL.md, "Records
// across versions"): true when NAME is `name` and MAJOR is `major`, with `minor` (0 when
// absent). A reader takes any minor of its major: a newer minor only adds lines and trailing
// words, which it skips.
bool parse_header(std::string_view line, std::string_view name, uint32_t major, uint32_t& minor);

// The words of a line the reader knows: exactly `n`, or at least `n` in a record of a newer
// minor than the reader's (its extra words are the newer writer's).
inline bool fits(const std::vector<std::string_view>& words, size_t n, bool newer) {
  return words.size() == n || (newer && words.size() > n);
}

}  // namespace udptun::protocol::record_text
