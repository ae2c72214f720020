// udp-local's configuration: what the JSON (and so every command-line flag) may say.
#pragma once

#include "udptun/runtime/carrier_config.hpp"
#include "udptun/runtime/flow_idle_config.hpp"
#include "udptun/runtime/option_table.hpp"

#include "udptun/protocol/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "udptun/protocol/address.hpp"
#include "udptun/protocol/cidr.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::udplocal {

struct ForwardRule {
  protocol::Address listen;  // IP
  protocol::Address target;  // IP or name (resolved by the server)
};

// What --server speaks: udptun's own protocol, or badvpn's udpgw (docs/PROTOCOL.md §7.1: no
// key, no sessions, one connection, nothing resumes).
// socks5-fwd-udp (hev-socks5) and uot (sing-box UDP-over-TCP, v2) take a connection per flow
// (§7.2, §7.3), with RFC 1929 credentials when the server wants them.
enum class ServerProtocol { udptun, udpgw, socks5_fwd_udp, uot };

// The flow idle timeouts (flow_idle_timeout_ms, dns_idle_timeout_ms) are the base's.
struct ClientConfig : runtime::FlowIdleConfig {
  protocol::Address server;  // IP or name
  ServerProtocol server_protocol = ServerProtocol::udptun;
  uint64_t udpgw_max_connections = 256;          // connection ids at once (badvpn-udpgw keeps 256)
  std::string server_username, server_password;  // socks5-fwd-udp, uot: empty for none
  bool per_flow_connections() const {
    return server_protocol == ServerProtocol::socks5_fwd_udp ||
           server_protocol == ServerProtocol::uot;
  }
  std::vector<uint8_t> key;  // from psk_file or psk, which the configuration names
  std::string psk_file, psk;
  // The built-in TLS carrier: frames inside TLS to udp-server (its --tls-cert), the server
  // known by a certificate pin or a CA file.
  bool tls = false;
  std::string tls_pin, tls_ca_file, tls_server_name;
  bool has_via_socks5 = false;
  protocol::Address via_socks5;  // reach the server through this SOCKS5 proxy
  std::vector<ForwardRule> forwards;
  bool has_socks5 = false;
  protocol::Address socks5_listen;
  std::string socks5_username, socks5_password;  // empty: no authentication
  // SOCKS5 UDP fragments (RFC 1928 §7): reassembled per association within this time and size.
  uint64_t socks5_reassembly_timeout_ms = 5'000;
  uint64_t socks5_reassembly_max_bytes = 65'507;
  // Bytes of fragments held by every SOCKS5 association together.
  uint64_t socks5_reassembly_total_bytes = 4u << 20;
  // Per SOCKS5 association, each direction: datagrams and bytes per second (0: no limit).
  uint64_t socks5_packets_per_second = 0;
  uint64_t socks5_bytes_per_second = 0;
  bool in_process = false;  // datagrams also come from udplocal_submit
  // Apps that may use the forward and SOCKS5 fronts (empty: any that can reach them).
  protocol::AllowList allow_clients;
  bool has_upstream_socks5 = false;
  protocol::Address upstream_socks5;  // CONNECT requests are relayed here
  uint64_t heartbeat_interval_ms = 1'000;
  uint64_t heartbeat_timeout_ms = 4'000;
  uint64_t connect_timeout_ms = 5'000;
  uint64_t reconnect_min_ms = 50;
  uint64_t reconnect_max_ms = 1'000;
  uint64_t max_flows = 100'000;
  uint64_t link_down_queue_datagrams = 256;
  uint64_t link_down_queue_bytes = 1u << 20;
  uint64_t max_queued_bytes = 4u << 20;
  // TCP connections a session spreads over, when the server agrees ("lanes"): bulk flows on
  // the first, small flows on two of the others. Windows keeps one by default: the Windows
  // build is tested under Wine only, where a UDP socket beside several TCP connections on one
  // loop stops receiving (Wine's socket polling; its server even asserts in it).
#ifdef _WIN32
  uint64_t connections = 1;
#else
  uint64_t connections = 4;
#endif
  runtime::CarrierConfig carrier;  // the per-flow queues and the carrier socket's options
  uint64_t stats_interval_ms = 1'000;
  // Where the session record lives (udp-local.state, mode 0600), so a restarted instance
  // resumes its server session and flows; empty: the session lives as long as the process.
  std::string state_dir;
  std::optional<protocol::Address> metrics;  // serve /metrics here
  protocol::AllowList metrics_allow;         // ... to scrapers at these addresses (empty: any)
  runtime::LogLevel log_level = runtime::LogLevel::info;
};

Result<ClientConfig> parse_client_config(const char* json);
// Every key parse_client_config reads (client_options.cpp).
const runtime::OptionList<ClientConfig>& client_options();

}  // namespace udptun::udplocal
