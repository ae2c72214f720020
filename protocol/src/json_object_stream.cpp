#include "udptun/protocol/json_object_stream.hpp"

namespace udptun::protocol {

void JsonObjectStream::reset() {
  current_.clear();
  open_.clear();
  in_string_ = false;
  escaped_ = false;
}

const char* JsonObjectStream::feed(ByteView in, std::vector<std::string>& out) {
  for (size_t i = 0; i < in.size; ++i) {
    char c = static_cast<char>(in[i]);
    if (open_.empty()) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;  // between objects
      if (c != '{') return "expected a JSON object";
    }
    if (current_.size() >= max_) return "request too large";
    current_.push_back(c);
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      if (open_.size() >= kMaxNesting) return "JSON nested too deeply";
      open_.push_back(c);
    } else if (c == '}' || c == ']') {
      // A closer must match the innermost opener: "[}" or "{]" is no JSON.
      if (open_.back() != (c == '}' ? '{' : '[')) return "unbalanced brackets";
      open_.pop_back();
      if (open_.empty()) {
        out.push_back(std::move(current_));
        current_.clear();
      }
    }
  }
  return nullptr;
}

}  // namespace udptun::protocol
