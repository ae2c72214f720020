// Splits a byte stream into top-level JSON objects by their boundaries, the way existing
// routing-daemon clients talk: one object per request, with or without a newline after it.
// It only finds where each object ends (strings and escapes respected, nesting counted);
// parsing the object is the caller's. Bounded: an object longer than the limit is an error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "udptun/protocol/bytes.hpp"

namespace udptun::protocol {

class JsonObjectStream {
 public:
  explicit JsonObjectStream(size_t max_object_bytes) : max_(max_object_bytes) {}

  // Feeds bytes; complete objects are appended to `out`. Returns nullptr, or the reason the
  // stream is unusable (bytes outside an object that are not whitespace, an object over the
  // limit). After an error, reset() before feeding again (the caller answers and resyncs).
  const char* feed(ByteView in, std::vector<std::string>& out);
  void reset();
  size_t buffered() const { return current_.size(); }

 private:
  size_t max_;
  static constexpr size_t kMaxNesting = 64;
  std::string current_;
  std::string open_;  // the brackets open around the current position, innermost last
  bool in_string_ = false;
  bool escaped_ = false;
};

}  // namespace udptun::protocol
