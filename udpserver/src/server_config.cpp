#include "server_config.hpp"

#include "udptun/runtime/config_reader.hpp"

namespace udptun::udpserver {

namespace {

// "egress" and its SOCKS5 server: given alone, the server implies "socks5".
Status check_egress(const runtime::ConfigReader& r, ServerConfig& c) {
  const bool has_server = r.has("egress_socks5");
  if (!r.has("egress") && has_server) c.egress = ServerConfig::Egress::socks5;
  if (c.egress != ServerConfig::Egress::direct && !has_server)
    return Status::failure(std::string("\"egress\": \"") +
                           (c.egress == ServerConfig::Egress::socks5 ? "socks5" : "tun2socks") +
                           "\" needs \"egress_socks5\": \"IP:PORT\" (e.g. ss-local -U)");
  return Status::success();
}

}  // namespace

Result<ServerConfig> parse_server_config(const char* json) {
  runtime::ConfigReader r(json);
  ServerConfig c;
  if (!runtime::read_options(server_options(), r, c) || !r.no_unknown_keys())
    return Status::failure(r.error());
  if (Status e = runtime::check_carrier_config(c.carrier); !e.ok()) return e;
  if (c.listen.empty() && c.udpgw_listen.empty() && c.socks5_listen.empty()) {
    return Status::failure("\"listen\" is required (e.g. \"127.0.0.1:7001\")");
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
  if (Status e = check_egress(r, c); !e.ok()) return e;
  if (c.workers > 1 && c.egress == ServerConfig::Egress::tun2socks)
    return Status::failure("\"workers\": the tun2socks egress runs on one worker");
#ifdef _WIN32
  if (c.workers > 1) return Status::failure("\"workers\": one worker on Windows");
#endif
  // udpgw and SOCKS5 clients use no key: a server with only their listeners needs none.
  if (!c.listen.empty() || !c.psk_file.empty() || !c.psk.empty()) {
    auto key = runtime::read_pre_shared_key(c.psk_file, c.psk);
    if (!key.ok()) return key.status();
    c.key = std::move(key).value();
  }
  return c;
}

}  // namespace udptun::udpserver
