// Reading a JSON configuration object with clear errors: every getter names the key and
// what was wrong, and unknown keys are refused (a typo must not be silently ignored).
#pragma once

#include <cJSON.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/status.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::runtime {

class ConfigReader {
 public:
  // Parses `json`; ok() is false (with error()) on invalid JSON or a non-object.
  explicit ConfigReader(const char* json);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Each returns false and sets error() when the key is present but ill-typed or out of
  // range; absent keys leave `out` untouched and return true.
  bool get_string(const char* key, std::string& out);
  bool get_uint(const char* key, uint64_t min, uint64_t max, uint64_t& out);
  bool get_bool(const char* key, bool& out);
  // A string or an array of strings.
  bool get_strings(const char* key, std::vector<std::string>& out);
  // An object, as its own JSON text.
  bool get_object(const char* key, std::string& out);
  // An integer or an array of integers, each within [min, max].
  bool get_uints(const char* key, uint64_t min, uint64_t max, std::vector<uint64_t>& out);
  // "IP:PORT" ("[::1]:9100" for IPv6): an address to listen on, never a name.
  bool get_ip_endpoint(const char* key, std::optional<protocol::Address>& out);
  bool has(const char* key) const;
  // After reading every known key: fails naming the first key nobody asked for.
  bool no_unknown_keys();
  bool fail(const std::string& message);

 private:
  struct Deleter {
    void operator()(cJSON* j) const { cJSON_Delete(j); }
  };
  std::unique_ptr<cJSON, Deleter> root_;
  std::set<std::string> seen_;
  std::string error_;
};

// Reads a pre-shared key file: its bytes, less trailing newlines (so `echo KEY > file`
// works). Errors say which file and why.
Result<std::vector<uint8_t>> read_key_file(const std::string& path);
// The key of a configuration that has "psk_file" and "psk" (at most one, at least 16 bytes).
// "IP:PORT" ("[::1]:9100"), or with `ip_only` false also "name:PORT": the address, or why not
// (the text, then what is wrong with it).
Result<protocol::Address> parse_endpoint(const std::string& text, bool ip_only);

Result<std::vector<uint8_t>> read_pre_shared_key(const std::string& psk_file,
                                                 const std::string& psk);
// "log_level" (empty: `out` unchanged).
Status read_log_level(const std::string& text, LogLevel& out);

}  // namespace udptun::runtime
