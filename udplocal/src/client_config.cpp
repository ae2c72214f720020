#include "client_config.hpp"

#include "udptun/protocol/frame.hpp"
#include "udptun/runtime/config_reader.hpp"

namespace udptun::udplocal {

namespace {

Status parse_endpoint(const std::string& key, const std::string& text, bool ip_only,
                      protocol::Address& out) {
  auto t = protocol::parse_address_text(text);
  if (!t.address) return Status::failure("\"" + key + "\": " + text + ": " + t.error);
  if (ip_only && !t.address->is_ip())
    return Status::failure("\"" + key + "\": " + text + ": must be an IP address");
  out = *t.address;
  return Status::success();
}

// "LISTEN_ADDR:PORT=TARGET_HOST:PORT".
Result<ForwardRule> parse_forward(const std::string& f) {
  size_t eq = f.find('=');
  if (eq == std::string::npos)
    return Status::failure("\"forward\": " + f + ": expected LISTEN_ADDR:PORT=TARGET_HOST:PORT");
  ForwardRule rule;
  Status e = parse_endpoint("forward", f.substr(0, eq), true, rule.listen);
  if (e.ok()) e = parse_endpoint("forward", f.substr(eq + 1), false, rule.target);
  if (!e.ok()) return e;
  if (rule.target.port == 0)
    return Status::failure("\"forward\": " + f + ": the target needs a port");
  return rule;
}

}  // namespace

Result<ClientConfig> parse_client_config(const char* json) {
  runtime::ConfigReader r(json);
  ClientConfig c;
  std::string server, psk_file, psk, via, socks5, upstream, level;
  std::vector<std::string> forwards, allow_clients;
  std::string server_protocol;
  constexpr uint64_t kDay = 86'400'000;
  bool ok =
      r.get_string("server", server) && r.get_string("server_protocol", server_protocol) &&
      r.get_uint("udpgw_max_connections", 1, 65'536, c.udpgw_max_connections) &&
      r.get_string("server_username", c.server_username) &&
      r.get_string("server_password", c.server_password) && r.get_string("psk_file", psk_file) &&
      r.get_string("psk", psk) && r.get_string("via_socks5", via) &&
      r.get_strings("forward", forwards) && r.get_string("socks5", socks5) &&
      r.get_strings("allow_clients", allow_clients) && r.get_bool("tls", c.tls) &&
      r.get_string("tls_pin", c.tls_pin) && r.get_string("tls_ca_file", c.tls_ca_file) &&
      r.get_string("tls_server_name", c.tls_server_name) &&
      r.get_string("socks5_username", c.socks5_username) &&
      r.get_string("socks5_password", c.socks5_password) &&
      r.get_string("upstream_socks5", upstream) && r.get_bool("in_process", c.in_process) &&
      r.get_uint("heartbeat_interval_ms", 50, 600'000, c.heartbeat_interval_ms) &&
      r.get_uint("heartbeat_timeout_ms", 200, 600'000, c.heartbeat_timeout_ms) &&
      r.get_uint("connect_timeout_ms", 100, 600'000, c.connect_timeout_ms) &&
      r.get_uint("reconnect_min_ms", 1, 600'000, c.reconnect_min_ms) &&
      r.get_uint("reconnect_max_ms", 1, 3'600'000, c.reconnect_max_ms) &&
      runtime::read_flow_idle_config(r, c) && r.get_uint("max_flows", 1, 10'000'000, c.max_flows) &&
      r.get_uint("link_down_queue_datagrams", 0, 1'000'000, c.link_down_queue_datagrams) &&
      r.get_uint("link_down_queue_bytes", 0, 1u << 30, c.link_down_queue_bytes) &&
      r.get_uint("max_queued_bytes", 65'536, 1u << 30, c.max_queued_bytes) &&
      r.get_uint("connections", 1, protocol::kMaxLanes, c.connections) &&
      r.get_uint("stats_interval_ms", 100, kDay, c.stats_interval_ms) &&
      r.get_string("state_dir", c.state_dir) && r.get_ip_endpoint("metrics", c.metrics) &&
      r.get_uint("socks5_reassembly_timeout_ms", 5'000, 600'000, c.socks5_reassembly_timeout_ms) &&
      r.get_uint("socks5_reassembly_max_bytes", 512, 65'507, c.socks5_reassembly_max_bytes) &&
      r.get_uint("socks5_reassembly_total_bytes", 65'507, 1u << 30,
                 c.socks5_reassembly_total_bytes) &&
      r.get_uint("socks5_packets_per_second", 0, 1'000'000'000, c.socks5_packets_per_second) &&
      r.get_uint("socks5_bytes_per_second", 0, 1ull << 40, c.socks5_bytes_per_second) &&
      r.get_string("log_level", level) && runtime::read_carrier_config(r, c.carrier) &&
      r.no_unknown_keys();
  if (!ok) {
    return Status::failure(r.error());
  }
  if (!c.tls && (!c.tls_pin.empty() || !c.tls_ca_file.empty() || !c.tls_server_name.empty()))
    c.tls = true;  // any TLS option asks for TLS
  if (c.tls && c.tls_pin.empty() && c.tls_ca_file.empty()) {
    return Status::failure(
        "\"tls\" needs \"tls_pin\" (the server certificate's SHA-256) or \"tls_ca_file\"");
  }
  if (Status e = c.allow_clients.parse(allow_clients); !e.ok())
    return e.within("\"allow_clients\"");
  if (server.empty()) {
    return Status::failure(
        "\"server\" is required (udp-server's HOST:PORT, or the port forward that reaches it)");
  }
  if (Status e = parse_endpoint("server", server, false, c.server); !e.ok()) return e;
  // A CA vouches for names, so a CA-issued certificate must carry the server's: --tls-sni,
  // or --server's host name. Without a name any certificate of that CA would pass (mbedTLS
  // skips the name check when none is set).
  if (!c.tls_ca_file.empty() && c.tls_server_name.empty()) {
    if (c.server.is_ip())
      return Status::failure(
          "\"tls_ca_file\" checks the certificate's name: give \"tls_server_name\" (--tls-sni "
          "NAME), since \"server\" is an IP address");
    c.tls_server_name = std::string(c.server.domain_name());
  }
  if (!via.empty()) {
    if (Status e = parse_endpoint("via_socks5", via, false, c.via_socks5); !e.ok()) return e;
    c.has_via_socks5 = true;
  }
  for (const auto& f : forwards) {
    auto rule = parse_forward(f);
    if (!rule.ok()) return rule.status();
    c.forwards.push_back(rule.value());
  }
  if (!socks5.empty()) {
    if (Status e = parse_endpoint("socks5", socks5, true, c.socks5_listen); !e.ok()) return e;
    c.has_socks5 = true;
  }
  if (!upstream.empty()) {
    if (Status e = parse_endpoint("upstream_socks5", upstream, false, c.upstream_socks5); !e.ok())
      return e;
    c.has_upstream_socks5 = true;
  }
  if (c.socks5_username.size() > 255 || c.socks5_password.size() > 255 ||
      (c.socks5_username.empty() != c.socks5_password.empty())) {
    return Status::failure(
        "\"socks5_username\" and \"socks5_password\" go together, up to 255 bytes each");
  }
  if (c.forwards.empty() && !c.has_socks5 && !c.in_process) {
    return Status::failure(
        "nothing to serve: give at least one \"forward\" or \"socks5\" (or \"in_process\": true)");
  }
  if (server_protocol == "udpgw") {
    c.server_protocol = ServerProtocol::udpgw;
  } else if (server_protocol == "socks5-fwd-udp") {
    c.server_protocol = ServerProtocol::socks5_fwd_udp;
  } else if (server_protocol == "uot") {
    c.server_protocol = ServerProtocol::uot;
  } else if (!server_protocol.empty() && server_protocol != "udptun") {
    return Status::failure(
        "\"server_protocol\" must be \"udptun\", \"udpgw\", \"socks5-fwd-udp\" or \"uot\"");
  }
  if (c.server_username.size() > 255 || c.server_password.size() > 255 ||
      c.server_username.empty() != c.server_password.empty())
    return Status::failure(
        "\"server_username\" and \"server_password\" go together, up to 255 bytes each");
  if (!c.server_username.empty() && !c.per_flow_connections())
    return Status::failure("\"server_username\" is for \"server_protocol\" socks5-fwd-udp or uot");
  if (c.server_protocol != ServerProtocol::udptun) {
    // Other protocols have no key, no TLS of their own and no lanes: their carrier is ssh -L,
    // a SOCKS5 proxy (--via-socks5) or the network.
    if (c.tls) return Status::failure("\"tls\" is udptun's: that server does not speak it");
    c.connections = 1;
  } else {
    auto key = runtime::read_pre_shared_key(psk_file, psk);
    if (!key.ok()) return key.status();
    c.key = std::move(key).value();
  }
  if (c.reconnect_max_ms < c.reconnect_min_ms) c.reconnect_max_ms = c.reconnect_min_ms;
  if (Status e = runtime::read_log_level(level, c.log_level); !e.ok()) return e;
  return c;
}

}  // namespace udptun::udplocal
