// The one error convention at C++ module boundaries: an operation that can fail returns a
// Status (or a Result<T> when it also yields a value). A failure carries a negative code (the
// errno/libuv code where one applies, kFailed otherwise) and a message that says what failed
// and why, ready for a log line, the C API's error callback or a control reply. Both types are
// [[nodiscard]]: a failure cannot be dropped by accident; `(void)` says it is on purpose.
//
// Not used for the incremental decoders (Parsed<T> in protocol/: "need more bytes" is a third
// outcome there), nor inside the runtime where libuv's int codes are the currency, nor at the
// C API (0 or a negative code, and an err buffer).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace udptun {

class [[nodiscard]] Status {
 public:
  static constexpr int kFailed = -1;

  Status() = default;  // success
  static Status success() { return Status(); }
  static Status failure(std::string message, int code = kFailed) {
    return Status(code < 0 ? code : kFailed, std::move(message));
  }

  bool ok() const { return code_ == 0; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }
  // The same failure with `where` in front of its message ("udp-local: ...").
  Status within(const std::string& where) const {
    return ok() ? *this : Status(code_, where + ": " + message_);
  }

 private:
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code_ = 0;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: a value converts implicitly
  Result(Status failure) : status_(std::move(failure)) {
    if (status_.ok()) status_ = Status::failure("no value");  // a Result always has one or why
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const std::string& message() const { return status_.message(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace udptun
