#include "udptun/runtime/metric_names.hpp"

namespace udptun::runtime {

const std::vector<MetricRule>& server_metric_rules() {
  static const std::vector<MetricRule> rules = {
      {"sessions", "sessions", "", MetricType::gauge,
       "Sessions alive now, attached or waiting for a resume."},
      {"sessions_attached", "sessions_attached", "", MetricType::gauge,
       "Sessions with a live connection now."},
      {"flows", "flows", "", MetricType::gauge, "Flows alive now."},
      {"connections", "connections", "", MetricType::gauge,
       "TCP connections now, authenticated or not."},
      {"sessions_opened", "session_events_total", "event=\"opened\"", MetricType::counter,
       "Sessions opened, resumed, reaped after their grace period or evicted."},
      {"sessions_resumed", "session_events_total", "event=\"resumed\"", MetricType::counter, ""},
      {"sessions_reaped", "session_events_total", "event=\"reaped\"", MetricType::counter, ""},
      {"sessions_evicted", "session_events_total", "event=\"evicted\"", MetricType::counter, ""},
      {"flows_opened", "flow_events_total", "event=\"opened\"", MetricType::counter,
       "Flows opened, closed idle, evicted, refused, timed out in setup, refused at the total."},
      {"flows_closed_idle", "flow_events_total", "event=\"closed_idle\"", MetricType::counter, ""},
      {"flows_evicted", "flow_events_total", "event=\"evicted\"", MetricType::counter, ""},
      {"flows_refused", "flow_events_total", "event=\"refused\"", MetricType::counter, ""},
      {"flows_setup_timeout", "flow_events_total", "event=\"setup_timeout\"", MetricType::counter,
       ""},
      {"flows_refused_full", "flow_events_total", "event=\"refused_full\"", MetricType::counter,
       ""},
      {"auth_failures", "handshake_failures_total", "reason=\"authentication\"",
       MetricType::counter,
       "Connections that failed the handshake: bad MAC, replay, clock skew, bad version."},
      {"protocol_errors", "protocol_errors_total", "", MetricType::counter,
       "Connections closed for frames that break the protocol."},
      {"connections_refused", "connections_refused_total", "", MetricType::counter,
       "Connections refused at accept: the cap, pending handshakes from one address, "
       "--allow-client."},
      {"datagrams_to_targets", "datagrams_total", "direction=\"up\"", MetricType::counter,
       "Datagrams relayed: up to targets, down from them."},
      {"datagrams_from_targets", "datagrams_total", "direction=\"down\"", MetricType::counter, ""},
      {"bytes_to_targets", "bytes_total", "direction=\"up\"", MetricType::counter,
       "Payload bytes relayed: up to targets, down from them."},
      {"bytes_from_targets", "bytes_total", "direction=\"down\"", MetricType::counter, ""},
      {"links_paused", "links_paused_total", "", MetricType::counter,
       "Times a client's frames waited because replies to it piled up."},
      {"log_lines_suppressed", "log_lines_suppressed_total", "", MetricType::counter,
       "Repeated log events folded into summary lines."},
      {"egress_reassembled", "egress_reassembly_total", "outcome=\"reassembled\"",
       MetricType::counter, "Fragmented replies from the SOCKS5 egress: made whole or dropped."},
      {"egress_fragments_dropped", "egress_reassembly_total", "outcome=\"dropped\"",
       MetricType::counter, ""},
      {"lanes_joined", "connections_joined_total", "", MetricType::counter,
       "Connections that joined a session as an added lane (udp-local --connections)."},
      {"duplicates_sent", "duplicates_total", "event=\"sent\"", MetricType::counter,
       "Replies of small flows sent on a second connection too, and second copies dropped."},
      {"duplicates_dropped", "duplicates_total", "event=\"dropped\"", MetricType::counter, ""},
      {"udpgw_clients", "protocol_connections", "protocol=\"udpgw\"", MetricType::gauge,
       "Client connections of other protocols now (each its own session)."},
      {"socks5_clients", "protocol_connections", "protocol=\"socks5\"", MetricType::gauge, ""},
  };
  return rules;
}

const std::vector<MetricRule>& local_metric_rules() {
  static const std::vector<MetricRule> rules = {
      {"link_up", "link_up", "", MetricType::gauge,
       "1 while the connection to udp-server is authenticated, else 0."},
      {"connects", "connects_total", "", MetricType::counter,
       "Connection attempts to udp-server (reconnects included)."},
      {"sessions_new", "session_events_total", "event=\"new\"", MetricType::counter,
       "Handshakes answered with a new session or a resumed one."},
      {"sessions_resumed", "session_events_total", "event=\"resumed\"", MetricType::counter, ""},
      {"handshake_refusals", "handshake_failures_total", "reason=\"refused\"", MetricType::counter,
       "Handshakes the server refused."},
      {"link_losses", "link_losses_total", "", MetricType::counter,
       "Authenticated connections that died (each is followed by a reconnect)."},
      {"flows", "flows", "", MetricType::gauge, "Flows alive now."},
      {"flows_opened", "flow_events_total", "event=\"opened\"", MetricType::counter,
       "Flows opened, closed idle, refused by the server."},
      {"flows_closed_idle", "flow_events_total", "event=\"closed_idle\"", MetricType::counter, ""},
      {"flows_refused", "flow_events_total", "event=\"refused\"", MetricType::counter, ""},
      {"datagrams_up", "datagrams_total", "direction=\"up\"", MetricType::counter,
       "Datagrams: up toward the server, down delivered to local apps."},
      {"datagrams_down", "datagrams_total", "direction=\"down\"", MetricType::counter, ""},
      {"bytes_up", "bytes_total", "direction=\"up\"", MetricType::counter,
       "Payload bytes: up toward the server, down delivered to local apps."},
      {"bytes_down", "bytes_total", "direction=\"down\"", MetricType::counter, ""},
      {"socks5_connections", "socks5_connections", "", MetricType::gauge,
       "SOCKS5 control connections now."},
      {"rtt_us", "link_rtt_last_seconds", "", MetricType::gauge,
       "The last heartbeat round trip to udp-server.", 1e-6},
      {"socks5_reassembled", "socks5_reassembly_total", "outcome=\"reassembled\"",
       MetricType::counter, "SOCKS5 UDP fragment sequences: made whole, timed out, abandoned."},
      {"socks5_reassembly_timeouts", "socks5_reassembly_total", "outcome=\"timed_out\"",
       MetricType::counter, ""},
      {"socks5_reassembly_abandoned", "socks5_reassembly_total", "outcome=\"abandoned\"",
       MetricType::counter, ""},
      {"lanes_up", "connections_up", "", MetricType::gauge,
       "The session's TCP connections to udp-server up now (--connections)."},
      {"duplicates_sent", "duplicates_total", "event=\"sent\"", MetricType::counter,
       "Datagrams of small flows sent on a second connection too, and second copies dropped."},
      {"duplicates_dropped", "duplicates_total", "event=\"dropped\"", MetricType::counter, ""},
  };
  return rules;
}

const std::vector<MetricRule>& tun2socks_metric_rules() {
  static const std::vector<MetricRule> rules = {
      {"packets_in", "packets_total", "direction=\"in\"", MetricType::counter,
       "IP packets read from the TUN device (in) and written to it (out)."},
      {"packets_out", "packets_total", "direction=\"out\"", MetricType::counter, ""},
      {"packets_dropped", "drops_total", "reason=\"packet\"", MetricType::counter,
       "Datagrams and packets dropped, by reason."},
      {"tcp_connections", "tcp_connections", "", MetricType::gauge,
       "TCP connections through the device now."},
      {"tcp_opened", "tcp_connection_events_total", "event=\"opened\"", MetricType::counter,
       "TCP connections opened, and refused (SOCKS5 CONNECT failures included)."},
      {"tcp_refused", "tcp_connection_events_total", "event=\"refused\"", MetricType::counter, ""},
      {"tcp_bytes_up", "tcp_bytes_total", "direction=\"up\"", MetricType::counter,
       "TCP payload bytes: up toward SOCKS5, down to the apps."},
      {"tcp_bytes_down", "tcp_bytes_total", "direction=\"down\"", MetricType::counter, ""},
      {"udp_datagrams_up", "datagrams_total", "direction=\"up\"", MetricType::counter,
       "UDP datagrams from the apps (up) and back to them (down)."},
      {"udp_datagrams_down", "datagrams_total", "direction=\"down\"", MetricType::counter, ""},
      {"udp_dropped", "drops_total", "reason=\"udp\"", MetricType::counter, ""},
      {"udp_tunnel_up", "link_up", "", MetricType::gauge,
       "1 while the in-process udp-local's connection is authenticated, else 0."},
      {"udp_flows", "flows", "", MetricType::gauge, "The in-process udp-local's flows now."},
      {"udp_rtt_us", "link_rtt_last_seconds", "", MetricType::gauge,
       "The in-process udp-local's last heartbeat round trip to udp-server.", 1e-6},
  };
  return rules;
}

const std::vector<MetricRule>& metric_rules_for_stats(const std::string& stats_json) {
  if (stats_json.find("\"packets_in\"") != std::string::npos) return tun2socks_metric_rules();
  if (stats_json.find("\"sessions_attached\"") != std::string::npos) return server_metric_rules();
  return local_metric_rules();
}

}  // namespace udptun::runtime
