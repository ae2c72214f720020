// udp-local: the daemon over libudplocal.
#include <vector>

#include "udptun/runtime/carrier_config.hpp"
#include "udptun/runtime/daemon_main.hpp"
#include "udptun/runtime/flow_idle_config.hpp"
#include "udptun/runtime/instance_api.hpp"
#include "udptun/udplocal.h"

using udptun::runtime::CommandLineOption;
using Kind = CommandLineOption::Kind;

namespace {

const std::vector<CommandLineOption> kOptions =
    udptun::runtime::with_carrier_options(udptun::runtime::with_flow_idle_options({
        {"--server", "server", Kind::string, "HOST:PORT",
         "udp-server, or the TCP port forward (ss-tunnel) that reaches it"},
        {"--server-protocol", "server_protocol", Kind::string, "NAME",
         "what --server speaks: udptun (default), udpgw (a badvpn-udpgw, e.g. through ssh -L), "
         "socks5-fwd-udp (hev-socks5-server) or uot (sing-box UDP-over-TCP); the others have no "
         "key and no resume"},
        {"--server-username", "server_username", Kind::string, "NAME",
         "RFC 1929 credentials for a socks5-fwd-udp or uot server ..."},
        {"--server-password", "server_password", Kind::string, "PASSWORD", "..."},
        {"--udpgw-max-connections", "udpgw_max_connections", Kind::integer, "N",
         "with udpgw: connection ids at once, the least recently used reused past it (default "
         "256, what badvpn-udpgw keeps per client)"},
        {"--psk-file", "psk_file", Kind::string, "FILE",
         "the pre-shared key (at least 16 bytes), the same as the server's"},
        {"--tls", "tls", Kind::flag, "",
         "carry the frames inside TLS to udp-server (its --tls-cert); needs --tls-pin or --tls-ca"},
        {"--tls-pin", "tls_pin", Kind::string, "SHA256",
         "the server certificate's SHA-256 (hex; openssl x509 -noout -fingerprint -sha256)"},
        {"--tls-ca", "tls_ca_file", Kind::string, "FILE",
         "or: CA certificates (PEM) the server certificate must chain to"},
        {"--tls-sni", "tls_server_name", Kind::string, "NAME",
         "the server name sent (SNI) and checked against a CA-issued certificate"},
        {"--via-socks5", "via_socks5", Kind::string, "HOST:PORT",
         "reach --server through this SOCKS5 proxy (CONNECT), e.g. ss-local"},
        {"--forward", "forward", Kind::string_list, "LISTEN=TARGET",
         "relay UDP arriving on LISTEN_ADDR:PORT to TARGET_HOST:PORT (repeatable)"},
        {"--socks5", "socks5", Kind::string, "ADDR:PORT",
         "serve SOCKS5 here (UDP ASSOCIATE through the tunnel)"},
        {"--socks5-username", "socks5_username", Kind::string, "NAME",
         "require this username on the SOCKS5 front"},
        {"--socks5-password", "socks5_password", Kind::string, "PASSWORD", "... and this password"},
        {"--upstream-socks5", "upstream_socks5", Kind::string, "ADDR:PORT",
         "relay SOCKS5 CONNECT requests to this server (else they are refused)"},
        {"--heartbeat-interval-ms", "heartbeat_interval_ms", Kind::integer, "MS",
         "ping the server this often (default 1000)"},
        {"--heartbeat-timeout-ms", "heartbeat_timeout_ms", Kind::integer, "MS",
         "reconnect when nothing was heard this long (default 4000)"},
        {"--connect-timeout-ms", "connect_timeout_ms", Kind::integer, "MS",
         "give up a connection attempt after this (default 5000)"},
        {"--reconnect-min-ms", "reconnect_min_ms", Kind::integer, "MS",
         "first reconnect delay (default 50)"},
        {"--reconnect-max-ms", "reconnect_max_ms", Kind::integer, "MS",
         "longest reconnect delay (default 1000)"},
        {"--max-flows", "max_flows", Kind::integer, "N",
         "least recently used flows are closed past this (default 100000)"},
        {"--link-down-queue-datagrams", "link_down_queue_datagrams", Kind::integer, "N",
         "datagrams kept while the link is down (default 256)"},
        {"--link-down-queue-bytes", "link_down_queue_bytes", Kind::integer, "BYTES",
         "... and at most these many bytes (default 1048576)"},
        {"--max-queued-bytes", "max_queued_bytes", Kind::integer, "BYTES",
         "TCP output queue; datagrams beyond it are dropped (default 4194304)"},
        {"--connections", "connections", Kind::integer, "N",
         "spread the session over N TCP connections when the server agrees (1..16): a lost "
         "segment holds only the flows of its connection, and small flows (see "
         "--duplicate-below-kbps) are sent on two, the first copy kept (default 4; Windows: 1)"},
        {"--socks5-reassembly-timeout-ms", "socks5_reassembly_timeout_ms", Kind::integer, "MS",
         "SOCKS5 UDP fragments: give up a sequence not whole within this (default 5000, at least "
         "5000 as RFC 1928 asks)"},
        {"--socks5-reassembly-max-bytes", "socks5_reassembly_max_bytes", Kind::integer, "BYTES",
         "... and one larger than this (default 65507)"},
        {"--socks5-reassembly-total-bytes", "socks5_reassembly_total_bytes", Kind::integer, "BYTES",
         "... and all associations' pending fragments together; past it, fragments are dropped "
         "(default 4194304)"},
        {"--socks5-packets-per-second", "socks5_packets_per_second", Kind::integer, "N",
         "datagrams per second per SOCKS5 association, each direction (default 0: no limit)"},
        {"--socks5-bytes-per-second", "socks5_bytes_per_second", Kind::integer, "BYTES",
         "bytes per second per SOCKS5 association, each direction (default 0: no limit)"},
        {"--allow-client", "allow_clients", Kind::string_list, "CIDR",
         "only apps at these addresses may use the forward and SOCKS5 fronts (repeatable)"},
        {"--state-dir", "state_dir", Kind::string, "DIR",
         "keep the session record here (udp-local.state): a restart resumes the session and its "
         "flows, which keep their server-side ports"},
    }));

}  // namespace

int main(int argc, char** argv) {
  const udptun::runtime::DaemonSpec spec{
      "udp-local",
      "udptun client end: UDP over one resumable TCP connection",
      "The client end of udptun: carries UDP (plain forwards, SOCKS5 UDP ASSOCIATE)\n"
      "to a udp-server over one TCP connection that survives restarts of either end.",
      &kOptions,
      /*hup_starts_successor=*/false,
      {{"EXAMPLES",
        "Forward local port 1234 to 192.0.2.7:53 and offer a SOCKS5 UDP front, through the "
        "server at 203.0.113.10:7001:\n\n"
        "  udp-local --server 203.0.113.10:7001 --psk-file /etc/udptun/psk \\\n"
        "      --forward 127.0.0.1:1234=192.0.2.7:53 --socks5 127.0.0.1:1081",
        {}},
       {"FILES",
        "/etc/udptun/udp-local.json and /etc/udptun/psk, as the shipped systemd unit "
        "udp-local.service reads them; the session record udp-local.state in --state-dir.",
        {}}}};
  return udptun::runtime::run_daemon(argc, argv, spec, UDPTUN_INSTANCE_API(udplocal));
}
