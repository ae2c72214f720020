#include "udptun/runtime/config_reader.hpp"

#include "udptun/runtime/small_file.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace udptun::runtime {

ConfigReader::ConfigReader(const char* json) {
  if (json == nullptr || *json == '\0') json = "{}";
  root_.reset(cJSON_Parse(json));
  if (!root_) {
    const char* where = cJSON_GetErrorPtr();
    error_ = std::string("invalid JSON near: ") + (where ? std::string(where).substr(0, 32) : "?");
  } else if (!cJSON_IsObject(root_.get())) {
    error_ = "configuration must be a JSON object";
    root_.reset();
  }
}

bool ConfigReader::fail(const std::string& message) {
  if (error_.empty()) error_ = message;
  return false;
}

bool ConfigReader::has(const char* key) const {
  return root_ && cJSON_GetObjectItemCaseSensitive(root_.get(), key) != nullptr;
}

bool ConfigReader::get_string(const char* key, std::string& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  if (!cJSON_IsString(v)) return fail(std::string("\"") + key + "\" must be a string");
  out = v->valuestring;
  return true;
}

Result<protocol::Address> parse_endpoint(const std::string& text, bool ip_only) {
  auto parsed = protocol::parse_address_text(text);
  if (!parsed.address) return Status::failure(text + ": " + parsed.error);
  if (ip_only && !parsed.address->is_ip())
    return Status::failure(text + ": must be an IP address, not a name");
  return *parsed.address;
}

bool ConfigReader::get_ip_endpoint(const char* key, std::optional<protocol::Address>& out) {
  std::string text;
  if (!get_string(key, text)) return false;
  if (!has(key)) return true;
  auto parsed = parse_endpoint(text, true);
  if (!parsed.ok()) return fail(std::string("\"") + key + "\": " + parsed.message());
  out = parsed.value();
  return true;
}

bool ConfigReader::get_uint(const char* key, uint64_t min, uint64_t max, uint64_t& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
  if (!cJSON_IsNumber(v) || d < 0 || std::floor(d) != d || d < double(min) || d > double(max)) {
    return fail(std::string("\"") + key + "\" must be an integer from " + std::to_string(min) +
                " to " + std::to_string(max));
  }
  out = static_cast<uint64_t>(d);
  return true;
}

bool ConfigReader::get_bool(const char* key, bool& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  if (!cJSON_IsBool(v)) return fail(std::string("\"") + key + "\" must be true or false");
  out = cJSON_IsTrue(v);
  return true;
}

bool ConfigReader::get_strings(const char* key, std::vector<std::string>& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  if (cJSON_IsString(v)) {
    out = {v->valuestring};
    return true;
  }
  if (!cJSON_IsArray(v))
    return fail(std::string("\"") + key + "\" must be a string or an array of strings");
  out.clear();
  const cJSON* item;
  cJSON_ArrayForEach(item, v) {
    if (!cJSON_IsString(item)) return fail(std::string("\"") + key + "\" must hold only strings");
    out.emplace_back(item->valuestring);
  }
  return true;
}

bool ConfigReader::get_object(const char* key, std::string& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  if (!cJSON_IsObject(v)) return fail(std::string("\"") + key + "\" must be an object");
  char* text = cJSON_PrintUnformatted(v);
  out = text ? text : "{}";
  cJSON_free(text);
  return true;
}

bool ConfigReader::get_uints(const char* key, uint64_t min, uint64_t max,
                             std::vector<uint64_t>& out) {
  seen_.insert(key);
  if (!root_) return false;
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(root_.get(), key);
  if (!v) return true;
  auto valid = [&](const cJSON* n) {
    return cJSON_IsNumber(n) && n->valuedouble >= double(min) && n->valuedouble <= double(max) &&
           std::floor(n->valuedouble) == n->valuedouble;
  };
  std::string why = std::string("\"") + key + "\" must be an integer from " + std::to_string(min) +
                    " to " + std::to_string(max) + ", or an array of them";
  out.clear();
  if (cJSON_IsNumber(v)) {
    if (!valid(v)) return fail(why);
    out.push_back(static_cast<uint64_t>(v->valuedouble));
    return true;
  }
  if (!cJSON_IsArray(v)) return fail(why);
  const cJSON* item;
  cJSON_ArrayForEach(item, v) {
    if (!valid(item)) return fail(why);
    out.push_back(static_cast<uint64_t>(item->valuedouble));
  }
  return true;
}

bool ConfigReader::no_unknown_keys() {
  if (!root_) return false;
  const cJSON* item;
  cJSON_ArrayForEach(item, root_.get()) {
    if (item->string && !seen_.count(item->string)) {
      return fail(std::string("unknown configuration key \"") + item->string + "\"");
    }
  }
  return ok();
}

Result<std::vector<uint8_t>> read_key_file(const std::string& path) {
  // A key is short: anything past 4 KiB is not a key file (or is /dev/zero).
  FileLimits limits;
  limits.max_bytes = 4096;
  auto text = read_small_file(path, limits);
  if (!text.ok()) return text.status().within("key file");
  std::vector<uint8_t> key(text->begin(), text->end());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.size() < 16) {
    return Status::failure("key file " + path + " holds " + std::to_string(key.size()) +
                           " bytes; a pre-shared key needs at least 16");
  }
  return key;
}

Result<std::vector<uint8_t>> read_pre_shared_key(const std::string& psk_file,
                                                 const std::string& psk) {
  if (!psk_file.empty() && !psk.empty())
    return Status::failure("give either \"psk_file\" or \"psk\", not both");
  if (!psk_file.empty()) return read_key_file(psk_file);
  if (psk.empty())
    return Status::failure("a pre-shared key is required: \"psk_file\" (or \"psk\")");
  if (psk.size() < 16) return Status::failure("\"psk\" must be at least 16 bytes");
  return std::vector<uint8_t>(psk.begin(), psk.end());
}

Status read_log_level(const std::string& text, LogLevel& out) {
  if (text.empty() || parse_log_level(text, out)) return Status::success();
  return Status::failure("\"log_level\" must be error, warn, info or debug");
}

}  // namespace udptun::runtime
