// cmocka from C++, plus checks every codec test needs.
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// cmocka.h must follow the headers above.
extern "C" {
#include <cmocka.h>
}

#include <string_view>
#include <vector>

#include "udptun/protocol/bytes.hpp"
#include "udptun/protocol/parse_result.hpp"

namespace test {

using udptun::protocol::ByteView;
using udptun::protocol::ParseStatus;

inline std::vector<uint8_t> bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

inline std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

inline void append(std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

// The incremental-parsing contract: every proper prefix of a valid message is need_more
// (never an error, never a value), and the whole message parses consuming exactly its size,
// also with trailing bytes after it. Returns the parsed value.
template <class Parse>
auto assert_parses_only_when_whole(Parse parse, const std::vector<uint8_t>& msg) {
  for (size_t k = 0; k < msg.size(); ++k) {
    auto p = parse(ByteView(msg.data(), k));
    if (!p.need_more()) {
      // Sizes as unsigned long: cmocka's format checks take MinGW's printf for msvcrt's.
      print_error("prefix of %lu/%lu bytes: status %d (%s)\n", static_cast<unsigned long>(k),
                  static_cast<unsigned long>(msg.size()), static_cast<int>(p.status),
                  p.error ? p.error : "-");
    }
    assert_true(p.need_more());
  }
  std::vector<uint8_t> padded = msg;
  padded.push_back(0xAB);
  auto tail = parse(ByteView(padded));
  assert_true(tail.ok());
  assert_int_equal(tail.consumed, msg.size());
  auto p = parse(ByteView(msg));
  if (!p.ok()) print_error("whole message failed: %s\n", p.error ? p.error : "need more");
  assert_true(p.ok());
  assert_int_equal(p.consumed, msg.size());
  return p.value;
}

template <class Parse>
void assert_rejected(Parse parse, const std::vector<uint8_t>& msg, std::string_view reason_part,
                     int code = -1) {
  auto p = parse(ByteView(msg));
  if (!p.failed())
    print_error("expected an error containing '%.*s'\n", static_cast<int>(reason_part.size()),
                reason_part.data());
  assert_true(p.failed());
  assert_non_null(p.error);
  if (std::string_view(p.error).find(reason_part) == std::string_view::npos) {
    print_error("error '%s' does not mention '%.*s'\n", p.error,
                static_cast<int>(reason_part.size()), reason_part.data());
    fail();
  }
  if (code >= 0) assert_int_equal(p.code, code);
}

}  // namespace test
