// tun2socks' configuration: what the JSON (and so every command-line flag) may say.
#pragma once

#include "udptun/protocol/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/option_table.hpp"

namespace udptun::tun2socks {

enum class DeviceKind { tun_name, tun_fd, callbacks };
enum class UdpMode { off, udp_local, socks5 };

struct EngineConfig {
  DeviceKind device = DeviceKind::tun_name;
  std::string tun_name;
  int tun_fd = -1;
  unsigned mtu = 1500;
  protocol::Address socks5;  // TCP goes here (SOCKS5 CONNECT)
  std::string socks5_username, socks5_password;
  UdpMode udp = UdpMode::off;
  bool has_udp_socks5 = false;
  protocol::Address udp_socks5;  // "udp": "socks5": UDP ASSOCIATE here (default: socks5)
  std::string udp_local_config;  // JSON for the in-process udp-local ("in_process" is set)
  // What the configuration gives for it (a file, an object) and its state directory.
  std::string udp_local_file, udp_local_object, state_dir;
  std::vector<uint16_t> drop_udp_ports;
  bool answer_ping = true;  // ICMP/ICMPv6 echo to any address is answered by the stack itself
  uint64_t max_tcp_connections = 4096;
  uint64_t tcp_connect_timeout_ms = 10'000;
  uint64_t stats_interval_ms = 1'000;
  runtime::LogLevel log_level = runtime::LogLevel::info;
  std::optional<protocol::Address> metrics;  // serve /metrics here
  protocol::AllowList metrics_allow;         // ... to scrapers at these addresses (empty: any)
};

// Every key parse_engine_config reads (engine_options.cpp).
const runtime::OptionList<EngineConfig>& engine_options();
Result<EngineConfig> parse_engine_config(const char* json);

}  // namespace udptun::tun2socks
