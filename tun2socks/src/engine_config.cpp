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
Status read_udp_path(std::string udp, const std::string& udp_local_file,
                     const std::string& udp_local_json, const std::string& udp_socks5,
                     const std::string& state_dir, EngineConfig& c) {
  if (udp.empty()) {
    if (!udp_local_file.empty() || !udp_local_json.empty())
      udp = "udp-local";
    else if (!udp_socks5.empty())
      udp = "socks5";
  }
  if (udp.empty() || udp == "off") {
    c.udp = UdpMode::off;
  } else if (udp == "udp-local") {
    c.udp = UdpMode::udp_local;
    auto config = udp_local_configuration(udp_local_file, udp_local_json, state_dir);
    if (!config.ok()) return config.status();
    c.udp_local_config = std::move(config).value();
  } else if (udp == "socks5") {
    c.udp = UdpMode::socks5;
    if (!udp_socks5.empty()) {
      auto u = protocol::parse_address_text(udp_socks5);
      if (!u.address || !u.address->is_ip()) {
        return Status::failure("\"udp_socks5\": " + udp_socks5 + ": " +
                               (u.error ? u.error : "must be an IP address"));
      }
      c.udp_socks5 = *u.address;
      c.has_udp_socks5 = true;
    }
  } else {
    return Status::failure("\"udp\" must be \"off\", \"udp-local\" or \"socks5\"");
  }
  return Status::success();
}

}  // namespace

Result<EngineConfig> parse_engine_config(const char* json) {
  runtime::ConfigReader r(json);
  EngineConfig c;
  std::string device, socks5, udp, level, udp_local_file, udp_local_json, udp_socks5, state_dir;
  std::vector<uint64_t> drop_ports;
  uint64_t tun_fd = UINT64_MAX, mtu = 1500;
  bool ok = r.get_string("tun", c.tun_name) && r.get_uint("tun_fd", 0, 1'000'000, tun_fd) &&
            r.get_string("device", device) && r.get_uint("mtu", 576, 65'535, mtu) &&
            r.get_string("socks5", socks5) && r.get_string("socks5_username", c.socks5_username) &&
            r.get_string("socks5_password", c.socks5_password) && r.get_string("udp", udp) &&
            r.get_object("udp_local", udp_local_json) && r.get_string("udp_socks5", udp_socks5) &&
            r.get_string("udp_local_config", udp_local_file) &&
            r.get_uints("drop_udp_ports", 1, 65'535, drop_ports) &&
            r.get_uint("max_tcp_connections", 1, 1'000'000, c.max_tcp_connections) &&
            r.get_uint("tcp_connect_timeout_ms", 100, 600'000, c.tcp_connect_timeout_ms) &&
            r.get_uint("stats_interval_ms", 100, 86'400'000, c.stats_interval_ms) &&
            r.get_bool("answer_ping", c.answer_ping) && r.get_string("log_level", level) &&
            r.get_string("state_dir", state_dir) && r.get_ip_endpoint("metrics", c.metrics) &&
            r.no_unknown_keys();
  if (!ok) {
    return Status::failure(r.error());
  }
  if (!device.empty() && device != "callbacks" && device != "tun") {
    return Status::failure("\"device\" must be \"tun\" or \"callbacks\"");
  }
  if (device == "callbacks") {
    c.device = DeviceKind::callbacks;
  } else if (tun_fd != UINT64_MAX) {
    c.device = DeviceKind::tun_fd;
    c.tun_fd = static_cast<int>(tun_fd);
  } else if (!c.tun_name.empty()) {
    if (c.tun_name.size() >= 16 || c.tun_name.find_first_of("/ \t\n") != std::string::npos) {
      return Status::failure("\"tun\": not a valid interface name");
    }
    c.device = DeviceKind::tun_name;
  } else {
    return Status::failure(
        "give a device: \"tun\": NAME, \"tun_fd\": N, or \"device\": \"callbacks\"");
  }
  c.mtu = static_cast<unsigned>(mtu);
  if (socks5.empty()) {
    return Status::failure("\"socks5\" is required: the SOCKS5 server for TCP (e.g. ss-local)");
  }
  auto s5 = protocol::parse_address_text(socks5);
  if (!s5.address || !s5.address->is_ip()) {
    return Status::failure("\"socks5\": " + socks5 + ": " +
                           (s5.error ? s5.error : "must be an IP address"));
  }
  c.socks5 = *s5.address;
  if (Status e = read_udp_path(udp, udp_local_file, udp_local_json, udp_socks5, state_dir, c);
      !e.ok())
    return e;
  for (uint64_t p : drop_ports) c.drop_udp_ports.push_back(static_cast<uint16_t>(p));
  if (Status e = runtime::read_log_level(level, c.log_level); !e.ok()) return e;
  return c;
}

}  // namespace udptun::tun2socks
