// The result of parsing a message from the front of a byte buffer.
#pragma once

#include <cstddef>
#include <cstdint>

namespace udptun::protocol {

enum class ParseStatus : uint8_t {
  ok,         // value is set; consumed bytes were used
  need_more,  // the buffer holds a valid prefix; feed more bytes and parse again
  error,      // the bytes can never become a valid message; error says why
};

// Parsers are pure: they never keep state between calls, so "incremental" means the caller
// keeps the unconsumed prefix and calls again with more bytes. Every parser returns need_more
// for every proper prefix of a valid message, which makes any split of a stream give the same
// result. Error reasons are static strings (no allocation on hostile input).
template <class T>
struct Parsed {
  ParseStatus status = ParseStatus::need_more;
  size_t consumed = 0;
  T value{};
  const char* error = nullptr;
  // A protocol-specific code for the error: the SOCKS5 REP to answer with, or the
  // handshake refusal reason. 0 when there is none.
  uint8_t code = 0;

  bool ok() const { return status == ParseStatus::ok; }
  bool need_more() const { return status == ParseStatus::need_more; }
  bool failed() const { return status == ParseStatus::error; }

  static Parsed done(T v, size_t n) {
    Parsed p;
    p.status = ParseStatus::ok;
    p.value = v;
    p.consumed = n;
    return p;
  }
  static Parsed more() { return Parsed{}; }
  static Parsed reject(const char* why, uint8_t c = 0) {
    Parsed p;
    p.status = ParseStatus::error;
    p.error = why;
    p.code = c;
    return p;
  }
  // Forwards a non-ok result of a nested parser.
  template <class U>
  static Parsed from(const Parsed<U>& other) {
    Parsed p;
    p.status = other.status;
    p.error = other.error;
    p.code = other.code;
    return p;
  }
};

}  // namespace udptun::protocol
