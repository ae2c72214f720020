// udp-local's configuration keys, each declared once: flag, JSON key, bounds, the member it
// fills, help and documentation (docs/CONFIG.md's udp-local table is made from this).
#include "client_config.hpp"

#include "udptun/protocol/frame.hpp"
#include "udptun/udplocal_options.hpp"

namespace udptun::udplocal {

namespace {

using C = ClientConfig;
using runtime::OptionList;
using namespace runtime;  // the field kinds: number, text, parsed, ...

Status parse_endpoint(const std::string& text, bool ip_only, protocol::Address& out) {
  auto parsed = runtime::parse_endpoint(text, ip_only);
  if (parsed.ok()) out = parsed.value();
  return parsed.status();
}

// "LISTEN_ADDR:PORT=TARGET_HOST:PORT".
Status parse_forward(const std::string& f, C& c) {
  size_t eq = f.find('=');
  if (eq == std::string::npos)
    return Status::failure(f + ": expected LISTEN_ADDR:PORT=TARGET_HOST:PORT");
  ForwardRule rule;
  Status e = parse_endpoint(f.substr(0, eq), true, rule.listen);
  if (e.ok()) e = parse_endpoint(f.substr(eq + 1), false, rule.target);
  if (!e.ok()) return e;
  if (rule.target.port == 0) return Status::failure(f + ": the target needs a port");
  c.forwards.push_back(rule);
  return Status::success();
}

const OptionList<C> kServerOptions = {
    {"--server", "server", "HOST:PORT",
     parsed<C>([](const std::string& t, C& c) { return parse_endpoint(t, false, c.server); }),
     "udp-server, or the TCP port forward (ss-tunnel) that reaches it",
     "udp-server, or the TCP port forward that reaches it (ss-tunnel); a name is resolved at "
     "each connect",
     "required"},
    {"--server-protocol", "server_protocol", "NAME",
     choice(&C::server_protocol, {{"udptun", ServerProtocol::udptun},
                                  {"udpgw", ServerProtocol::udpgw},
                                  {"socks5-fwd-udp", ServerProtocol::socks5_fwd_udp},
                                  {"uot", ServerProtocol::uot}}),
     "what --server speaks: udptun, udpgw (a badvpn-udpgw, e.g. through ssh -L), "
     "socks5-fwd-udp (hev-socks5-server) or uot (sing-box UDP-over-TCP); the others have no "
     "key and no resume",
     "what `--server` speaks ([PROTOCOL.md §7](PROTOCOL.md)): `udptun`; `udpgw` to use an "
     "existing badvpn-udpgw (or udp-server's `--udpgw-listen`), e.g. through `ssh -L "
     "7300:127.0.0.1:7300` — one connection, a connection id per flow and destination; "
     "`socks5-fwd-udp` (hev-socks5-server, or udp-server's `--socks5-listen`) or `uot` (a "
     "sing-box UDP-over-TCP server, v2) — a connection per flow, opened with the flow. None of "
     "them has a key, TLS or lanes (`--connections` is 1), and nothing resumes: after a link "
     "loss flows are re-made (new ports at the server)"},
    {"--server-username", "server_username", "NAME", text(&C::server_username),
     "RFC 1929 credentials for a socks5-fwd-udp or uot server ...",
     "RFC 1929 credentials for a `socks5-fwd-udp` or `uot` server (up to 255 bytes) …"},
    {"--server-password", "server_password", "PASSWORD", text(&C::server_password), "...",
     "… and its password (both or neither)"},
    {"--udpgw-max-connections", "udpgw_max_connections", "N",
     number(&C::udpgw_max_connections, 1, 65'536),
     "with udpgw: connection ids at once, the least recently used reused past it",
     "with udpgw: connection ids at once; past it the least recently used is reused "
     "(badvpn-udpgw keeps 256 per client)"},
    {"--psk-file", "psk_file", "FILE", text(&C::psk_file),
     "the pre-shared key (at least 16 bytes), the same as the server's",
     "the same key as the server's: the file's bytes less trailing newlines, at least 16",
     "required (or `psk`) with udptun", true},
    {nullptr, "psk", "", text(&C::psk), "the key itself, for embedding"},
};

const OptionList<C> kTlsOptions = {
    {"--tls", "tls", "", switch_on(&C::tls),
     "carry the frames inside TLS to udp-server (its --tls-cert); needs --tls-pin or --tls-ca",
     "carry the frames inside TLS to a udp-server with `--tls-cert` (in every upstream mode: "
     "direct, through a port forward, after a SOCKS5 CONNECT); any of the three below implies "
     "it"},
    {"--tls-pin", "tls_pin", "SHA256", text(&C::tls_pin),
     "the server certificate's SHA-256 (hex; openssl x509 -noout -fingerprint -sha256)",
     "the server certificate's SHA-256, hex with or without colons (`openssl x509 -in cert.pem "
     "-noout -fingerprint -sha256`); the certificate may be self-signed. A mismatch is an error "
     "logged as such, retried with the usual backoff …"},
    {"--tls-ca", "tls_ca_file", "FILE", text(&C::tls_ca_file),
     "or: CA certificates (PEM) the server certificate must chain to",
     "… or CA certificates (PEM) the server certificate must chain to, and carry the name "
     "below. With a pin too, both must hold (the pin does not waive the CA's checks)",
     nullptr, true},
    {"--tls-sni", "tls_server_name", "NAME", text(&C::tls_server_name),
     "the server name sent (SNI) and checked against a CA-issued certificate",
     "the name sent as SNI and checked against a CA-issued certificate. With `--tls-ca` and an "
     "IP address as `--server` (ss-tunnel's 127.0.0.1:7000, say) it is required: udp-local "
     "refuses to start without it, since any certificate of the CA would otherwise pass",
     "`--server`'s host name"},
    {"--via-socks5", "via_socks5", "HOST:PORT", parsed<C>([](const std::string& t, C& c) {
       c.has_via_socks5 = true;
       return parse_endpoint(t, false, c.via_socks5);
     }),
     "reach --server through this SOCKS5 proxy (CONNECT), e.g. ss-local",
     "reach `--server` through this SOCKS5 proxy's CONNECT (e.g. ss-local)"},
};

const OptionList<C> kFrontOptions = {
    {"--forward", "forward", "LISTEN=TARGET", parsed_list<C>(parse_forward),
     "relay UDP arriving on LISTEN_ADDR:PORT to TARGET_HOST:PORT",
     "datagrams arriving on `LISTEN_ADDR:PORT` go to `TARGET_HOST:PORT` (a name is resolved by "
     "the server)"},
    {"--socks5", "socks5", "ADDR:PORT", parsed<C>([](const std::string& t, C& c) {
       c.has_socks5 = true;
       return parse_endpoint(t, true, c.socks5_listen);
     }),
     "serve SOCKS5 here (UDP ASSOCIATE through the tunnel)",
     "serve SOCKS5 (RFC 1928): UDP ASSOCIATE through the tunnel"},
    {"--socks5-username", "socks5_username", "NAME", text(&C::socks5_username),
     "require this username on the SOCKS5 front",
     "require RFC 1929 username/password (up to 255 bytes each) …"},
    {"--socks5-password", "socks5_password", "PASSWORD", text(&C::socks5_password),
     "... and this password", "… with this password"},
    {"--upstream-socks5", "upstream_socks5", "ADDR:PORT", parsed<C>([](const std::string& t, C& c) {
       c.has_upstream_socks5 = true;
       return parse_endpoint(t, false, c.upstream_socks5);
     }),
     "relay SOCKS5 CONNECT requests to this server (else they are refused)",
     "relay SOCKS5 CONNECT requests to this server (else they get REP 0x07)"},
    {"--socks5-packets-per-second", "socks5_packets_per_second", "N",
     number(&C::socks5_packets_per_second, 0, 1'000'000'000),
     "datagrams per second per SOCKS5 association, each direction (0: no limit)",
     "per SOCKS5 association, each direction: datagrams beyond are dropped and counted "
     "(`drops_rate_limited`); 0: no limit"},
    {"--socks5-bytes-per-second", "socks5_bytes_per_second", "BYTES",
     number(&C::socks5_bytes_per_second, 0, 1ull << 40),
     "bytes per second per SOCKS5 association, each direction (0: no limit)",
     "the same in bytes; 0: no limit"},
    {"--socks5-reassembly-timeout-ms", "socks5_reassembly_timeout_ms", "MS",
     number(&C::socks5_reassembly_timeout_ms, 5'000, 600'000),
     "SOCKS5 UDP fragments: give up a sequence not whole within this",
     "SOCKS5 UDP fragments (RFC 1928 §7): a sequence not whole within this is dropped (at least "
     "5000, as the RFC asks) …"},
    {"--socks5-reassembly-max-bytes", "socks5_reassembly_max_bytes", "BYTES",
     number(&C::socks5_reassembly_max_bytes, 512, 65'507), "... and one larger than this",
     "… and one larger than this, per association"},
    {"--socks5-reassembly-total-bytes", "socks5_reassembly_total_bytes", "BYTES",
     number(&C::socks5_reassembly_total_bytes, 65'507, 1u << 30),
     "... and all associations' pending fragments together; past it, fragments are dropped",
     "… and all associations' pending fragments together: past it, fragments are dropped "
     "(`drops_socks5_fragment`), so many associations each holding a sequence cannot grow "
     "udp-local. A fragment counts against `--socks5-packets-per-second` / "
     "`--socks5-bytes-per-second` as it arrives, before reassembly"},
    {"--allow-client", "allow_clients", "CIDR", cidr_list(&C::allow_clients),
     "only apps at these addresses may use the forward and SOCKS5 fronts",
     "only apps at these addresses may use the forward and SOCKS5 fronts: other datagrams are "
     "dropped, other SOCKS5 connections closed at accept (`drops_not_allowed`). A front "
     "listening off loopback with neither this nor SOCKS5 credentials warns at start"},
    {nullptr, "in_process", "", switch_on(&C::in_process),
     "accept datagrams from `udplocal_submit` (embedding; replies through the `datagram` "
     "callback)"},
};

const OptionList<C> kLinkOptions = {
    {"--heartbeat-interval-ms", "heartbeat_interval_ms", "MS",
     number(&C::heartbeat_interval_ms, 50, 600'000), "ping the server this often"},
    {"--heartbeat-timeout-ms", "heartbeat_timeout_ms", "MS",
     number(&C::heartbeat_timeout_ms, 200, 600'000), "reconnect when nothing was heard this long"},
    {"--connect-timeout-ms", "connect_timeout_ms", "MS",
     number(&C::connect_timeout_ms, 100, 600'000),
     "give up a connection attempt (connect + proxy + handshake) after this"},
    {"--reconnect-min-ms", "reconnect_min_ms", "MS", number(&C::reconnect_min_ms, 1, 600'000),
     "first reconnect delay; doubles each failure (±25% jitter) ..."},
    {"--reconnect-max-ms", "reconnect_max_ms", "MS", number(&C::reconnect_max_ms, 1, 3'600'000),
     "... up to this (at least the first)"},
    {"--max-flows", "max_flows", "N", number(&C::max_flows, 1, 10'000'000),
     "past it, the least recently used flow is closed"},
    {"--link-down-queue-datagrams", "link_down_queue_datagrams", "N",
     number(&C::link_down_queue_datagrams, 0, 1'000'000),
     "datagrams kept while the link is down (then dropped and counted) ..."},
    {"--link-down-queue-bytes", "link_down_queue_bytes", "BYTES",
     number(&C::link_down_queue_bytes, 0, 1u << 30), "... and at most these many bytes"},
    {"--max-queued-bytes", "max_queued_bytes", "BYTES",
     number(&C::max_queued_bytes, 65'536, 1u << 30),
     "the per-flow queues toward the server, all together; over it, the longest queue loses its "
     "oldest datagrams",
     "the per-flow queues toward the server, all together ([The "
     "carrier](#the-carrier-queues-pacing-and-the-kernel-both-daemons)); over it, the longest "
     "queue loses its oldest datagrams (`drops_queue_full`)"},
    {"--connections", "connections", "N", number(&C::connections, 1, protocol::kMaxLanes),
     "spread the session over N TCP connections when the server agrees: a lost segment holds "
     "only the flows of its connection, and small flows (see --duplicate-below-kbps) are sent "
     "on two, the first copy kept",
     "spread the session over N TCP connections when the server agrees (it grants up to its "
     "`--max-connections-per-session`; an older server grants none and one connection is "
     "used). Over TCP a lost segment holds everything behind it on its connection for a round "
     "trip or more; so bulk flows share the first connection (one scheduler keeps them fair, one "
     "pacer keeps the path's queue short) and small flows — games, calls, DNS, below "
     "`--duplicate-below-kbps` — keep off it, each datagram sent on two of the others and the "
     "first copy kept: at 40 ms and 1% loss a game's p99 is 1.0–1.2× the round trip instead of "
     "2–4× (docs/BENCHMARKS.md). 1: one connection, as before. The Windows build keeps 1 by "
     "default: it is tested under Wine only, where a UDP socket beside several TCP connections "
     "on one loop stops receiving (a Wine fault: its socket server asserts in the same place); "
     "set it there once tested on Windows itself. The added connections start once the first "
     "is up and start again whenever it reconnects. Behind a load balancer, all of a session's "
     "connections must reach the same udp-server: an added one that lands elsewhere is refused "
     "(`no_session`) and retried, and the session carries on with those that joined (HAProxy: "
     "`balance source`, or one server per client address)",
     "4 (Windows: 1)"},
    {"--state-dir", "state_dir", "DIR", text(&C::state_dir),
     "keep the session record here (udp-local.state): a restart resumes the session and its "
     "flows, which keep their server-side ports",
     "keep the session record (`udp-local.state`, mode 0600: the session id, reserved flow ids, "
     "the flows of forwards and of the in-process path) here, so a restarted udp-local — killed "
     "or upgraded — resumes its server session within the server's grace period and those "
     "flows keep their server-side ports. Flows of SOCKS5 associations end with their "
     "association; flows younger than 1 s at a crash may be lost. One udp-local per directory "
     "(two would take turns resuming the same session). The directory is made (0700) when "
     "missing; one that is a link, belongs to another user (root excepted) or that others may "
     "write is refused at start, and a record that is a link, or that others may write, is not "
     "read (a new session instead). proxy-controller gives its services "
     "`STATE_DIR/services/NAME`",
     nullptr, true},
};

}  // namespace

const runtime::OptionList<ClientConfig>& client_options() {
  // Made on first use: it is built from the runtime's tables, maybe before their statics.
  static const runtime::OptionList<ClientConfig> options =
      runtime::join<C>({kServerOptions, kTlsOptions, kFrontOptions, kLinkOptions,
                        runtime::lift_base<C>(runtime::flow_idle_options()),
                        runtime::lift_member(&C::carrier, runtime::carrier_options()),
                        runtime::common_options<C>()});
  return options;
}

std::vector<runtime::CommandLineOption> describe_options() {
  return runtime::describe(client_options());
}

}  // namespace udptun::udplocal
