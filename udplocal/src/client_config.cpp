#include "client_config.hpp"

#include "udptun/runtime/config_reader.hpp"

namespace udptun::udplocal {

Result<ClientConfig> parse_client_config(const char* json) {
  runtime::ConfigReader r(json);
  ClientConfig c;
  if (!runtime::read_options(client_options(), r, c) || !r.no_unknown_keys())
    return Status::failure(r.error());
  if (Status e = runtime::check_carrier_config(c.carrier); !e.ok()) return e;
  if (!c.tls && (!c.tls_pin.empty() || !c.tls_ca_file.empty() || !c.tls_server_name.empty()))
    c.tls = true;  // any TLS option asks for TLS
  if (c.tls && c.tls_pin.empty() && c.tls_ca_file.empty()) {
    return Status::failure(
        "\"tls\" needs \"tls_pin\" (the server certificate's SHA-256) or \"tls_ca_file\"");
  }
  if (!r.has("server")) {
    return Status::failure(
        "\"server\" is required (udp-server's HOST:PORT, or the port forward that reaches it)");
  }
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
  if (c.socks5_username.size() > 255 || c.socks5_password.size() > 255 ||
      (c.socks5_username.empty() != c.socks5_password.empty())) {
    return Status::failure(
        "\"socks5_username\" and \"socks5_password\" go together, up to 255 bytes each");
  }
  if (c.forwards.empty() && !c.has_socks5 && !c.in_process) {
    return Status::failure(
        "nothing to serve: give at least one \"forward\" or \"socks5\" (or \"in_process\": true)");
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
    auto key = runtime::read_pre_shared_key(c.psk_file, c.psk);
    if (!key.ok()) return key.status();
    c.key = std::move(key).value();
  }
  if (c.reconnect_max_ms < c.reconnect_min_ms) c.reconnect_max_ms = c.reconnect_min_ms;
  return c;
}

}  // namespace udptun::udplocal
