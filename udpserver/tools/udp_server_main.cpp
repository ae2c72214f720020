// udp-server: the daemon over libudpserver.
#include <vector>

#include "udptun/runtime/carrier_config.hpp"
#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/flow_idle_config.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/udpserver.h"

using udptun::runtime::CommandLineOption;
using Kind = CommandLineOption::Kind;

namespace {

const std::vector<CommandLineOption> kOptions =
    udptun::runtime::with_carrier_options(udptun::runtime::with_flow_idle_options({
        {"--listen", "listen", Kind::string_list, "ADDR:PORT",
         "accept udp-local connections here (repeatable; [::1]:7001 for IPv6)"},
        {"--psk-file", "psk_file", Kind::string, "FILE", "the pre-shared key (at least 16 bytes)"},
        {"--udpgw-listen", "udpgw_listen", Kind::string_list, "ADDR:PORT",
         "also accept badvpn udpgw clients here (repeatable; no key: keep it on loopback or "
         "behind ssh -L, or use --allow-client)"},
        {"--udpgw-max-connections", "udpgw_max_connections", Kind::integer, "N",
         "udpgw connection ids per client connection; the least recently used goes past it "
         "(default 256)"},
        {"--socks5-listen", "socks5_listen", Kind::string_list, "ADDR:PORT",
         "also accept hev-socks5 FWD UDP and sing-box UDP-over-TCP clients here (repeatable; "
         "nothing else is served: not an open proxy)"},
        {"--socks5-listen-username", "socks5_listen_username", Kind::string, "NAME",
         "RFC 1929 credentials those clients must give ..."},
        {"--socks5-listen-password", "socks5_listen_password", Kind::string, "PASSWORD", "..."},
        {"--max-connections-per-client", "max_connections_per_client", Kind::integer, "N",
         "udpgw and SOCKS5-listener connections from one client address (default 4096; 0: no "
         "cap)"},
        {"--udpgw-dns", "udpgw_dns", Kind::string, "IP:PORT",
         "where udpgw datagrams flagged DNS go (default: the first nameserver of "
         "/etc/resolv.conf)"},
        {"--allow-target", "allow_targets", Kind::string_list, "CIDR",
         "allow targets in an otherwise refused range, e.g. 127.0.0.0/8 (repeatable)"},
        {"--allow-client", "allow_clients", Kind::string_list, "CIDR",
         "accept udp-local connections only from these addresses (repeatable; default: any "
         "address, the key decides)"},
        {"--nat-filtering", "nat_filtering", Kind::string, "MODE",
         "who may send to a flow: endpoint-independent (default: anyone, full cone), "
         "address-dependent or address-and-port-dependent (only those it sent to)"},
        {"--egress", "egress", Kind::string, "MODE",
         "direct (default: our own sockets), socks5 (each flow through a UDP ASSOCIATE) or "
         "tun2socks (IP packets through an in-process tun2socks, its UDP via SOCKS5)"},
        {"--egress-socks5", "egress_socks5", Kind::string, "IP:PORT",
         "the SOCKS5 server for --egress socks5/tun2socks, e.g. ss-local -U (implies socks5)"},
        {"--egress-socks5-username", "egress_socks5_username", Kind::string, "NAME",
         "RFC 1929 credentials for it ..."},
        {"--egress-socks5-password", "egress_socks5_password", Kind::string, "PASSWORD", "..."},
        {"--session-grace-ms", "session_grace_ms", Kind::integer, "MS",
         "keep a disconnected session this long for a resume (default 120000)"},
        {"--link-timeout-ms", "link_timeout_ms", Kind::integer, "MS",
         "close a connection silent this long (default 10000)"},
        {"--handshake-timeout-ms", "handshake_timeout_ms", Kind::integer, "MS",
         "close a connection that has not authenticated by then (default 10000)"},
        {"--max-flows-per-session", "max_flows_per_session", Kind::integer, "N",
         "least recently used flows are evicted past this (default 8192)"},
        {"--max-connections-per-session", "max_connections_per_session", Kind::integer, "N",
         "TCP connections a session may spread over (udp-local --connections; 1..16, default 4; "
         "1: one each)"},
        {"--flow-opens-per-second", "flow_opens_per_second", Kind::integer, "N",
         "new flows a session may open per second; more are refused (default 2000)"},
        {"--session-packets-per-second", "session_packets_per_second", Kind::integer, "N",
         "datagrams per second per session, each direction (default 1000000; 0: no limit)"},
        {"--session-bytes-per-second", "session_bytes_per_second", Kind::integer, "BYTES",
         "bytes per second per session, each direction (default 0: no limit)"},
        {"--client-packets-per-second", "client_packets_per_second", Kind::integer, "N",
         "datagrams per second per client address, all its sessions (default 0: no limit)"},
        {"--client-bytes-per-second", "client_bytes_per_second", Kind::integer, "BYTES",
         "bytes per second per client address, all its sessions (default 0: no limit)"},
        {"--amplification-ratio", "amplification_ratio", Kind::integer, "N",
         "replies to a flow whose client has not sent again since: at most N x what it sent plus "
         "the allowance (default 3; 0: no guard)"},
        {"--amplification-allowance-bytes", "amplification_allowance_bytes", Kind::integer, "BYTES",
         "... plus this, for first answers such as DNS responses (default 32768)"},
        {"--amplification-window-ms", "amplification_window_ms", Kind::integer, "MS",
         "a client that sent after a reply may get replies freely this long after it last sent "
         "(default 30000)"},
        {"--max-sessions", "max_sessions", Kind::integer, "N",
         "least recently used sessions are evicted past this (default 1024)"},
        {"--max-sessions-per-client", "max_sessions_per_client", Kind::integer, "N",
         "sessions from one client address; past it, that address's own least recent session "
         "makes room (default 64; 0: no cap)"},
        {"--workers", "workers", Kind::integer, "N",
         "event loops serving sessions, one thread each (default 0: one per core)"},
        {"--max-pending-handshakes", "max_pending_handshakes", Kind::integer, "N",
         "unauthenticated connections at once (default 256)"},
        {"--max-pending-handshakes-per-source", "max_pending_handshakes_per_source", Kind::integer,
         "N", "unauthenticated connections from one address at once (default 8)"},
        {"--handshakes-per-second-per-source", "handshakes_per_second_per_source", Kind::integer,
         "N",
         "new connections per second from one address (each costs a handshake; with TLS a key "
         "exchange); more are closed at accept (default 32; 0: no limit)"},
        {"--ipv6-source-prefix", "ipv6_source_prefix", Kind::integer, "BITS",
         "per-source limits count IPv6 clients by this prefix: one host usually holds a whole /64 "
         "(32..128, default 64)"},
        {"--max-connections", "max_connections", Kind::integer, "N",
         "TCP connections at once (default: from the descriptor limit)"},
        {"--max-total-flows", "max_total_flows", Kind::integer, "N",
         "flows over all sessions (default: from the descriptor limit)"},
        {"--max-held-bytes-per-session", "max_held_bytes_per_session", Kind::integer, "BYTES",
         "datagrams held for flows being set up, per session (default 262144)"},
        {"--flow-setup-timeout-ms", "flow_setup_timeout_ms", Kind::integer, "MS",
         "give up a flow not ready by then: resolution, SOCKS5 association (default 10000)"},
        {"--max-clock-skew-ms", "max_clock_skew_ms", Kind::integer, "MS",
         "accepted client clock difference (default 120000)"},
        {"--tls-cert", "tls_cert_file", Kind::string, "FILE",
         "carry the frames inside TLS: this certificate (PEM) ..."},
        {"--tls-key", "tls_key_file", Kind::string, "FILE", "... and its private key (PEM)"},
        {"--handover-socket", "handover_socket", Kind::string, "PATH",
         "planned restarts: a new udp-server started with the same PATH (or SIGHUP, which starts "
         "one) takes over the listeners, sessions and flow sockets; clients resume, targets see "
         "the same ports"},
        {"--drain-grace-ms", "drain_grace_ms", Kind::integer, "MS",
         "on SIGTERM: stop accepting, send every client GOAWAY (it reconnects elsewhere, e.g. "
         "through a balancer), stop once all left or after MS (default 10000; 0: at once)"},
        {"--max-queued-bytes", "max_queued_bytes", Kind::integer, "BYTES",
         "per-connection output queue; replies beyond it are dropped (default 4194304)"},
    }));

}  // namespace

int main(int argc, char** argv) {
  const udptun::runtime::DaemonSpec spec{
      "udp-server",
      "udptun server end: authenticated UDP relay behind a TCP listener",
      "The server end of udptun: takes tunnelled UDP flows from udp-local over TCP\n"
      "and relays them to their targets.",
      &kOptions,
      /*hup_starts_successor=*/true,
      {{"EXAMPLES",
        "Listen on port 7001 for udp-local clients that know the key; relay their datagrams "
        "to public addresses only:\n\n"
        "  udp-server --listen 0.0.0.0:7001 --psk-file /etc/udptun/psk\n\n"
        "The same over TLS, with planned restarts that keep every session:\n\n"
        "  udp-server --config /etc/udptun/udp-server.json --tls-cert cert.pem \\\n"
        "      --tls-key key.pem --handover-socket /run/udp-server/handover",
        {}},
       {"FILES",
        "/etc/udptun/udp-server.json and /etc/udptun/psk, as the shipped systemd unit "
        "udp-server.service reads them (the key through a systemd credential).",
        {}}}};
  auto api = UDPTUN_INSTANCE_API(udpserver);
  api.drain = udpserver_drain;  // SIGTERM drains
  return udptun::runtime::run_daemon(argc, argv, spec, api);
}
