#include "server_config.hpp"

#include <tuple>

#include "udptun/protocol/frame.hpp"
#include "udptun/runtime/config_reader.hpp"

namespace udptun::udpserver {

namespace {

// "egress" and its SOCKS5 server ("direct" when neither is given).
Status read_egress(const std::string& egress, const std::string& egress_socks5, ServerConfig& c) {
  if (egress == "socks5" || egress == "tun2socks" || (egress.empty() && !egress_socks5.empty())) {
    auto t = protocol::parse_address_text(egress_socks5);
    if (!t.address || !t.address->is_ip() || t.address->port == 0) {
      return Status::failure("\"egress\": \"" + (egress.empty() ? std::string("socks5") : egress) +
                             "\" needs \"egress_socks5\": \"IP:PORT\" (e.g. ss-local -U)");
    }
    c.egress =
        egress == "tun2socks" ? ServerConfig::Egress::tun2socks : ServerConfig::Egress::socks5;
    c.egress_socks5 = *t.address;
  } else if (!egress.empty() && egress != "direct") {
    return Status::failure("\"egress\" must be \"direct\", \"socks5\" or \"tun2socks\"");
  }
  return Status::success();
}

Status read_filtering(const std::string& filtering, ServerConfig& c) {
  if (filtering == "address-dependent") {
    c.filtering = ServerConfig::Filtering::address_dependent;
  } else if (filtering == "address-and-port-dependent") {
    c.filtering = ServerConfig::Filtering::address_and_port_dependent;
  } else if (!filtering.empty() && filtering != "endpoint-independent") {
    return Status::failure(
        "\"nat_filtering\" must be \"endpoint-independent\", \"address-dependent\" or "
        "\"address-and-port-dependent\"");
  }
  return Status::success();
}

}  // namespace

Result<ServerConfig> parse_server_config(const char* json) {
  runtime::ConfigReader r(json);
  ServerConfig c;
  std::vector<std::string> listen, udpgw_listen, socks5_listen, allow, allow_clients;
  std::string psk_file, psk, level, egress, egress_socks5, filtering;
  constexpr uint64_t kDay = 86'400'000;
  bool ok =
      r.get_strings("listen", listen) && r.get_string("psk_file", psk_file) &&
      r.get_string("psk", psk) && r.get_strings("allow_targets", allow) &&
      r.get_strings("allow_clients", allow_clients) && r.get_string("egress", egress) &&
      r.get_string("egress_socks5", egress_socks5) && r.get_string("nat_filtering", filtering) &&
      r.get_string("egress_socks5_username", c.egress_socks5_username) &&
      r.get_string("egress_socks5_password", c.egress_socks5_password) &&
      runtime::read_flow_idle_config(r, c) &&
      r.get_uint("session_grace_ms", 0, kDay, c.session_grace_ms) &&
      r.get_uint("link_timeout_ms", 500, kDay, c.link_timeout_ms) &&
      r.get_uint("handshake_timeout_ms", 100, 600'000, c.handshake_timeout_ms) &&
      r.get_uint("max_flows_per_session", 1, 10'000'000, c.max_flows_per_session) &&
      r.get_uint("max_connections_per_session", 1, protocol::kMaxLanes,
                 c.max_connections_per_session) &&
      r.get_uint("flow_opens_per_second", 1, 10'000'000, c.flow_opens_per_second) &&
      r.get_uint("max_sessions", 1, 1'000'000, c.max_sessions) &&
      r.get_uint("workers", 0, 256, c.workers) &&
      r.get_uint("session_packets_per_second", 0, 1'000'000'000, c.session_packets_per_second) &&
      r.get_uint("session_bytes_per_second", 0, 1ull << 40, c.session_bytes_per_second) &&
      r.get_uint("client_packets_per_second", 0, 1'000'000'000, c.client_packets_per_second) &&
      r.get_uint("client_bytes_per_second", 0, 1ull << 40, c.client_bytes_per_second) &&
      r.get_uint("amplification_ratio", 0, 1'000'000, c.amplification_ratio) &&
      r.get_uint("amplification_allowance_bytes", 0, 1u << 30, c.amplification_allowance_bytes) &&
      r.get_uint("amplification_window_ms", 1'000, kDay, c.amplification_window_ms) &&
      r.get_uint("max_pending_handshakes", 1, 1'000'000, c.max_pending_handshakes) &&
      r.get_uint("max_pending_handshakes_per_source", 1, 1'000'000,
                 c.max_pending_handshakes_per_source) &&
      r.get_uint("ipv6_source_prefix", 32, 128, c.ipv6_source_prefix) &&
      r.get_uint("handshakes_per_second_per_source", 0, 1'000'000,
                 c.handshakes_per_second_per_source) &&
      r.get_uint("max_sessions_per_client", 0, 10'000'000, c.max_sessions_per_client) &&
      r.get_uint("max_connections_per_client", 0, 10'000'000, c.max_connections_per_client) &&
      r.get_uint("max_connections", 0, 10'000'000, c.max_connections) &&
      r.get_uint("max_total_flows", 0, 100'000'000, c.max_total_flows) &&
      r.get_uint("max_held_bytes_per_session", 0, 1u << 30, c.max_held_bytes_per_session) &&
      r.get_uint("flow_setup_timeout_ms", 100, 600'000, c.flow_setup_timeout_ms) &&
      r.get_uint("max_clock_skew_ms", 1'000, kDay, c.max_clock_skew_ms) &&
      r.get_uint("max_queued_bytes", 65'536, 1u << 30, c.max_queued_bytes) &&
      r.get_uint("stats_interval_ms", 100, kDay, c.stats_interval_ms) &&
      r.get_string("handover_socket", c.handover_socket) &&
      r.get_ip_endpoint("metrics", c.metrics) && r.get_strings("udpgw_listen", udpgw_listen) &&
      r.get_uint("udpgw_max_connections", 1, 65'536, c.udpgw_max_connections) &&
      r.get_ip_endpoint("udpgw_dns", c.udpgw_dns) &&
      r.get_strings("socks5_listen", socks5_listen) &&
      r.get_string("socks5_listen_username", c.socks5_listen_username) &&
      r.get_string("socks5_listen_password", c.socks5_listen_password) &&
      r.get_uint("drain_grace_ms", 0, 600'000, c.drain_grace_ms) &&
      r.get_string("tls_cert_file", c.tls_cert_file) &&
      r.get_string("tls_key_file", c.tls_key_file) && r.get_string("log_level", level) &&
      runtime::read_carrier_config(r, c.carrier) && r.no_unknown_keys();
  if (!ok) {
    return Status::failure(r.error());
  }
  if (listen.empty() && udpgw_listen.empty() && socks5_listen.empty()) {
    return Status::failure("\"listen\" is required (e.g. \"127.0.0.1:7001\")");
  }
  for (auto [key, texts, out] :
       {std::make_tuple("listen", &listen, &c.listen),
        std::make_tuple("udpgw_listen", &udpgw_listen, &c.udpgw_listen),
        std::make_tuple("socks5_listen", &socks5_listen, &c.socks5_listen)}) {
    for (const auto& l : *texts) {
      auto t = protocol::parse_address_text(l);
      if (!t.address || !t.address->is_ip()) {
        return Status::failure(std::string("\"") + key + "\": " + l + ": " +
                               (t.error ? t.error : "must be an IP address, not a name"));
      }
      out->push_back(*t.address);
    }
  }
  for (const auto& a : allow) {
    Cidr cidr;
    if (!Cidr::parse(a, cidr)) {
      return Status::failure("\"allow_targets\": " + a + " is not an address or CIDR range");
    }
    c.allow_targets.push_back(cidr);
  }
  if (c.socks5_listen_username.size() > 255 || c.socks5_listen_password.size() > 255 ||
      c.socks5_listen_username.empty() != c.socks5_listen_password.empty()) {
    return Status::failure(
        "\"socks5_listen_username\" and \"socks5_listen_password\" go together (1..255 bytes "
        "each)");
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Status::failure("\"tls_cert_file\" and \"tls_key_file\" go together");
  }
  if (Status e = c.allow_clients.parse(allow_clients); !e.ok())
    return e.within("\"allow_clients\"");
  if (Status e = read_egress(egress, egress_socks5, c); !e.ok()) return e;
  if (Status e = read_filtering(filtering, c); !e.ok()) return e;
  if (c.workers > 1 && c.egress == ServerConfig::Egress::tun2socks)
    return Status::failure("\"workers\": the tun2socks egress runs on one worker");
#ifdef _WIN32
  if (c.workers > 1) return Status::failure("\"workers\": one worker on Windows");
#endif
  // udpgw and SOCKS5 clients use no key: a server with only their listeners needs none.
  if (!listen.empty() || !psk_file.empty() || !psk.empty()) {
    auto key = runtime::read_pre_shared_key(psk_file, psk);
    if (!key.ok()) return key.status();
    c.key = std::move(key).value();
  }
  if (Status e = runtime::read_log_level(level, c.log_level); !e.ok()) return e;
  return c;
}

}  // namespace udptun::udpserver
