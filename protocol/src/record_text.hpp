// Helpers shared by the line-based records (session_record, server_handover): words split
// on single spaces, decimal numbers without signs, lowercase hex session ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "udptun/protocol/handshake.hpp"
#include "udptun/protocol/status.hpp"

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

// A record read line by line: the header first (a record of another name or major fails),
// then each line's words. Every line ends with a newline (a torn write does not). A newer
// minor's lines and words are the caller's to skip: see known() and newer().
class LineReader {
 public:
  // `what` names the record in errors ("udp-server handover").
  LineReader(std::string_view text, std::string_view name, uint32_t major, uint32_t minor,
             const char* what)
      : text_(text), name_(name), major_(major), minor_(minor), what_(what) {}
  // The next line's words after the header: false at the end or on an error (see error()).
  bool next(std::vector<std::string_view>& words);
  // A line the reader knows: `keyword` with exactly `n` words (at least `n` in a newer minor).
  bool known(const std::vector<std::string_view>& words, std::string_view keyword, size_t n) const {
    return !words.empty() && words[0] == keyword && fits(words, n, newer_);
  }
  bool newer() const { return newer_; }  // a newer minor: its added lines are skipped
  bool empty() const { return line_no_ == 0; }
  // "line N: why".
  Status fail(const std::string& why) const {
    return Status::failure("line " + std::to_string(line_no_) + ": " + why);
  }
  // Why next() stopped early ("" at a clean end).
  const std::string& error() const { return error_; }

 private:
  std::string_view text_, name_;
  uint32_t major_, minor_;
  const char* what_;
  size_t pos_ = 0, line_no_ = 0;
  bool newer_ = false;
  std::string error_;
};

}  // namespace udptun::protocol::record_text
