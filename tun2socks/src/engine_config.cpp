#include "engine_config.hpp"

#include <cJSON.h>

#include "udptun/runtime/config_reader.hpp"
#include "udptun/runtime/small_file.hpp"

namespace udptun::tun2socks {

namespace {

// The in-process udp-local's configuration (a file or an object), marked in-process and given
// our state directory unless it names its own.
Result<std::string> udp_local_configuration(const std::string& file, std::string json,
                                            const std::string& state_dir) {
  if (!file.empty()) {
    auto text = runtime::read_small_file(file, runtime::FileLimits{});
    if (!text.ok()) return text.status().within("\"udp_local_config\"");
    json = std::move(text).value();
  }
  if (json.empty()) {
    return Status::failure(
        "\"udp\": \"udp-local\" needs \"udp_local\" (an object) or \"udp_local_config\" (a "
        "file)");
  }
  // The in-process udp-local takes datagrams from us: make sure it says so.
  cJSON* o = cJSON_Parse(json.c_str());
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return Status::failure("the udp-local configuration is not a JSON object");
  }
  cJSON_DeleteItemFromObjectCaseSensitive(o, "in_process");
  cJSON_AddBoolToObject(o, "in_process", 1);
  // Ours is the in-process udp-local's too (its session record), unless it names its own.
  if (!state_dir.empty() && !cJSON_GetObjectItemCaseSensitive(o, "state_dir"))
    cJSON_AddStringToObject(o, "state_dir", state_dir.c_str());
  char* text = cJSON_PrintUnformatted(o);
  std::string out = text ? text : "{}";
  cJSON_free(text);
  cJSON_Delete(o);
  return out;
}

// "udp" and what goes with it. Named without "udp", the path picks its mode: --udp-local FILE
// or --udp-socks5 ADDR alone.
Status check_udp_path(const runtime::ConfigReader& r, EngineConfig& c) {
  if (!r.has("udp")) {
    if (r.has("udp_local_config") || r.has("udp_local"))
      c.udp = UdpMode::udp_local;
    else if (c.has_udp_socks5)
      c.udp = UdpMode::socks5;
  }
  if (c.udp != UdpMode::udp_local) return Status::success();
  auto config = udp_local_configuration(c.udp_local_file, c.udp_local_object, c.state_dir);
  if (!config.ok()) return config.status();
  c.udp_local_config = std::move(config).value();
  return Status::success();
}

Status check_device(const runtime::ConfigReader& r, EngineConfig& c) {
  if (c.device == DeviceKind::callbacks) return Status::success();
  if (r.has("tun_fd")) {
    c.device = DeviceKind::tun_fd;
  } else if (!c.tun_name.empty()) {
    if (c.tun_name.size() >= 16 || c.tun_name.find_first_of("/ \t\n") != std::string::npos)
      return Status::failure("\"tun\": not a valid interface name");
    c.device = DeviceKind::tun_name;
  } else {
    return Status::failure(
        "give a device: \"tun\": NAME, \"tun_fd\": N, or \"device\": \"callbacks\"");
  }
  return Status::success();
}

}  // namespace

Result<EngineConfig> parse_engine_config(const char* json) {
  runtime::ConfigReader r(json);
  EngineConfig c;
  if (!runtime::read_options(engine_options(), r, c) || !r.no_unknown_keys())
    return Status::failure(r.error());
  if (Status e = check_device(r, c); !e.ok()) return e;
  if (!r.has("socks5"))
    return Status::failure("\"socks5\" is required: the SOCKS5 server for TCP (e.g. ss-local)");
  if (Status e = check_udp_path(r, c); !e.ok()) return e;
  return c;
}

}  // namespace udptun::tun2socks
