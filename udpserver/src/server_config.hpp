// udp-server's configuration: what the JSON (and so every command-line flag) may say.
#pragma once

#include "udptun/runtime/flow_idle_config.hpp"
#include "udptun/runtime/option_table.hpp"

#include "udptun/runtime/carrier_config.hpp"

#include "udptun/protocol/status.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "target_policy.hpp"
#include "udptun/protocol/address.hpp"
#include "udptun/runtime/log.hpp"

namespace udptun::udpserver {

// The flow idle timeouts (flow_idle_timeout_ms, dns_idle_timeout_ms) are the base's.
struct ServerConfig : runtime::FlowIdleConfig {
  std::vector<protocol::Address> listen;  // TCP listen addresses (IP literals)
  std::vector<uint8_t> key;               // the pre-shared key, from psk_file or psk
  std::string psk_file, psk;
  std::vector<Cidr> allow_targets;    // opens otherwise refused target ranges
  protocol::AllowList allow_clients;  // TCP peers that may connect (empty: any)
  // How datagrams leave for their targets: our own sockets (one per flow); each flow through
  // its own UDP ASSOCIATE at a SOCKS5 server (e.g. `ss-local -U` beside a TCP ss-local: the
  // server's egress goes through shadowsocks again); or as IP packets through an in-process
  // tun2socks whose UDP goes to that SOCKS5 server (the seed's packet-pipe variant).
  enum class Egress { direct, socks5, tun2socks } egress = Egress::direct;
  protocol::Address egress_socks5;
  std::string egress_socks5_username, egress_socks5_password;
  // Which datagrams from the internet reach a flow (RFC 4787 §5): from anyone (full cone, what
  // STUN/ICE and games want); only from addresses the flow has sent to; only from address and
  // port pairs it has sent to.
  enum class Filtering {
    endpoint_independent,
    address_dependent,
    address_and_port_dependent
  } filtering = Filtering::endpoint_independent;
  // The amplification guard (see AmplificationGuard): replies to an unconfirmed flow up to
  // ratio x what it sent + the allowance; ratio 0 turns it off.
  uint64_t amplification_ratio = 3;
  uint64_t amplification_allowance_bytes = 32 * 1024;
  uint64_t amplification_window_ms = 30'000;
  uint64_t session_grace_ms = 120'000;  // a session without connection waits this long for a resume
  uint64_t link_timeout_ms = 10'000;    // nothing heard from a client connection this long: closed
  uint64_t handshake_timeout_ms = 10'000;
  uint64_t max_flows_per_session = 8'192;
  // TCP connections one session may spread over (udp-local --connections; 1: no lanes).
  uint64_t max_connections_per_session = 4;
  // New flows per session per second (a token bucket with this as its burst too): a flood of
  // OPEN_FLOW frames costs its session refusals, not everyone else their latency.
  uint64_t flow_opens_per_second = 2'000;
  // Datagrams per second and bytes per second, each direction on its own: per session, and
  // per client address (all its sessions together). 0: no limit.
  uint64_t session_packets_per_second = 1'000'000;
  uint64_t session_bytes_per_second = 0;
  uint64_t client_packets_per_second = 0;
  uint64_t client_bytes_per_second = 0;
  uint64_t max_sessions = 1'024;
  // Sessions from one client address (IPv6: its --ipv6-source-prefix); 0: no cap. Past it, the
  // address's own least recent session makes room, never another client's.
  uint64_t max_sessions_per_client = 64;
  // udpgw and SOCKS5-listener connections from one address (each a session of its own, not
  // counted in max_sessions / max_sessions_per_client: hev-socks5-tunnel opens one per app
  // UDP socket). 0: no cap.
  uint64_t max_connections_per_client = 4'096;
  // Event loops serving sessions, each on its own thread (0: one per core); the limits above
  // and below are totals over all of them. One with the tun2socks egress (its stack is
  // single-threaded) and on Windows.
  uint64_t workers = 0;
  uint64_t max_pending_handshakes = 256;
  // Unauthenticated connections from one IP address at once: past it, its new ones are
  // refused (and not someone else's pending ones dropped).
  uint64_t max_pending_handshakes_per_source = 8;
  // New connections per second from one address (a burst of one second's worth): each costs
  // a handshake (with TLS, a key exchange and a signature); 0: no limit.
  uint64_t handshakes_per_second_per_source = 32;
  // Per-source limits count IPv6 peers by this prefix (one host usually holds a /64).
  uint64_t ipv6_source_prefix = 64;
  // Totals over every session, so one peer (or many) cannot exhaust the descriptors: 0 derives
  // them from RLIMIT_NOFILE (raised to its hard limit at start) with headroom.
  uint64_t max_connections = 0;
  uint64_t max_total_flows = 0;
  // Datagrams held while a flow resolves its target or waits for its SOCKS5 association, per
  // session; and how long a flow may take to become ready before it is given up.
  uint64_t max_held_bytes_per_session = 256 * 1024;
  uint64_t flow_setup_timeout_ms = 10'000;
  uint64_t max_clock_skew_ms = 120'000;
  uint64_t max_queued_bytes = 4u << 20;  // per connection, toward the client
  runtime::CarrierConfig carrier;        // the per-flow queues and the carrier socket's options
  uint64_t stats_interval_ms = 1'000;
  // A planned restart hands everything to the next process through this Unix socket: the
  // listeners, the sessions and their flows' sockets (see HandoverPoint). Empty: none.
  std::string handover_socket;
  // The built-in TLS carrier: every connection is TLS with this certificate and key (PEM).
  std::string tls_cert_file, tls_key_file;
  std::optional<protocol::Address> metrics;  // serve /metrics here
  protocol::AllowList metrics_allow;         // ... to scrapers at these addresses (empty: any)
  // badvpn udpgw clients (docs/PROTOCOL.md §7.1): listeners, connection ids per client
  // connection, and where DNS-flagged datagrams go (none: the system's resolver).
  std::vector<protocol::Address> udpgw_listen;
  uint64_t udpgw_max_connections = 256;
  std::optional<protocol::Address> udpgw_dns;
  // FWD UDP (hev-socks5) and UDP-over-TCP (sing-box) clients (§7.2, §7.3): listeners, and
  // RFC 1929 credentials they must give (empty: none).
  std::vector<protocol::Address> socks5_listen;
  std::string socks5_listen_username, socks5_listen_password;
  uint64_t drain_grace_ms = 10'000;  // udpserver_drain: how long clients get to move
  runtime::LogLevel log_level = runtime::LogLevel::info;
};

// Every key, its bounds and what it means: server_options.cpp (docs/CONFIG.md is made from it).
Result<ServerConfig> parse_server_config(const char* json);
// Every key parse_server_config reads (server_options.cpp).
const runtime::OptionList<ServerConfig>& server_options();

}  // namespace udptun::udpserver
