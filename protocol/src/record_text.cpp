#include "record_text.hpp"

#include <cstdio>

namespace udptun::protocol::record_text {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    words.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return words;
}

bool parse_u32(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

bool parse_header(std::string_view line, std::string_view name, uint32_t major, uint32_t& minor) {
  auto w = split_words(line);
  if (w.size() != 2 || w[0] != name) return false;
  std::string_view version = w[1];
  size_t dot = version.find('.');
  uint32_t got_major = 0;
  minor = 0;
  if (dot == std::string_view::npos) return parse_u32(version, got_major) && got_major == major;
  return parse_u32(version.substr(0, dot), got_major) && got_major == major &&
         parse_u32(version.substr(dot + 1), minor);
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool parse_session_id(std::string_view s, SessionId& out) {
  if (s.size() != 32) return false;
  for (size_t i = 0; i < 16; ++i) {
    int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

std::string format_session_id(const SessionId& id) {
  std::string out;
  char hex[3];
  for (uint8_t b : id) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

bool LineReader::next(std::vector<std::string_view>& words) {
  while (error_.empty() && pos_ < text_.size()) {
    size_t end = text_.find('\n', pos_);
    ++line_no_;
    if (end == std::string_view::npos) {
      error_ = fail("no newline at the end (a torn write?)").message();
      return false;
    }
    std::string_view line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    if (line_no_ == 1) {
      uint32_t minor = 0;
      if (!parse_header(line, name_, major_, minor)) {
        error_ = fail(std::string("not a ") + what_ + " of this version").message();
        return false;
      }
      newer_ = minor > minor_;
      continue;
    }
    words = split_words(line);
    return true;
  }
  return false;
}

}  // namespace udptun::protocol::record_text
