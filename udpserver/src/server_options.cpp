// udp-server's configuration keys, each declared once: flag, JSON key, bounds, the member it
// fills, help and documentation (docs/CONFIG.md's udp-server table is made from this).
#include "server_config.hpp"

#include "udptun/protocol/frame.hpp"
#include "udptun/udpserver_options.hpp"

namespace udptun::udpserver {

namespace {

using C = ServerConfig;
using runtime::OptionList;
using namespace runtime;  // the field kinds: number, text, parsed, ...

constexpr uint64_t kDay = 86'400'000;

// An address to listen on: an IP literal, never a name.
TextParser<C> listen_address(std::vector<protocol::Address> C::*member) {
  return [member](const std::string& t, C& c) {
    auto a = parse_endpoint(t, true);
    if (!a.ok()) return a.status();
    (c.*member).push_back(a.value());
    return Status::success();
  };
}

Status add_target_range(const std::string& t, C& c) {
  Cidr cidr;
  if (!Cidr::parse(t, cidr)) return Status::failure(t + " is not an address or CIDR range");
  c.allow_targets.push_back(cidr);
  return Status::success();
}

Status parse_egress_socks5(const std::string& t, C& c) {
  auto a = parse_endpoint(t, true);
  if (!a.ok() || a.value().port == 0)
    return Status::failure(t + ": must be IP:PORT (e.g. ss-local -U)");
  c.egress_socks5 = a.value();
  return Status::success();
}

const OptionList<C> kListenerOptions = {
    {"--listen", "listen", "ADDR:PORT", parsed_list<C>(listen_address(&C::listen)),
     "accept udp-local connections here ([::1]:7001 for IPv6)",
     "TCP addresses to accept udp-local connections on (IP literals)",
     "required (unless `udpgw_listen` or `socks5_listen`)"},
    {"--psk-file", "psk_file", "FILE", text(&C::psk_file), "the pre-shared key (at least 16 bytes)",
     "the pre-shared key: the file's bytes less trailing newlines, at least 16",
     "required (or `psk`) with `listen`", true},
    {nullptr, "psk", "", text(&C::psk), "the key itself, for embedding"},
    {"--allow-client", "allow_clients", "CIDR", cidr_list(&C::allow_clients),
     "accept udp-local connections only from these addresses (the key still decides)",
     "accept udp-local connections only from these addresses (the TCP peer: the client, or the "
     "ss-server/HAProxy in front); others are closed at accept and counted "
     "(`connections_refused`). The key still decides who is a client; this keeps strangers from "
     "even reaching the handshake"},
    {"--tls-cert", "tls_cert_file", "FILE", text(&C::tls_cert_file),
     "carry the frames inside TLS: this certificate (PEM) ...",
     "the built-in TLS carrier: every connection is TLS (1.2, ECDHE with AEAD suites) with this "
     "certificate and key (PEM), the PSK handshake inside it. Clients without `--tls` get nowhere "
     "(they time out waiting for the challenge and say why)",
     nullptr, true},
    {"--tls-key", "tls_key_file", "FILE", text(&C::tls_key_file), "... and its private key (PEM)",
     "the built-in TLS carrier: every connection is TLS (1.2, ECDHE with AEAD suites) with this "
     "certificate and key (PEM), the PSK handshake inside it. Clients without `--tls` get nowhere "
     "(they time out waiting for the challenge and say why)",
     nullptr, true},
    {"--udpgw-listen", "udpgw_listen", "ADDR:PORT",
     parsed_list<C>(listen_address(&C::udpgw_listen)),
     "also accept badvpn udpgw clients here (no key: keep it on loopback or behind ssh -L, or use "
     "--allow-client)",
     "also accept badvpn udpgw clients (badvpn-tun2socks `--udpgw-remote-server-addr`, SSH-tunnel "
     "VPN apps) here: each connection is a session of its own, its connection ids flows "
     "([PROTOCOL.md §7.1](PROTOCOL.md)). udpgw has no key: keep it on loopback (behind `ssh -L`) "
     "or name `--allow-client`; otherwise udp-server warns at start. The target policy, rate "
     "limits and flow caps apply as to udptun's clients; `--max-connections-per-client` bounds "
     "connections per address. Nothing resumes: a restart or a cut closes its flows"},
    {"--udpgw-max-connections", "udpgw_max_connections", "N",
     number(&C::udpgw_max_connections, 1, 65'536),
     "udpgw connection ids per client connection; the least recently used goes past it",
     "connection ids (flows) per udpgw connection; past it the least recently used is closed, as "
     "badvpn's udpgw does"},
    {"--udpgw-dns", "udpgw_dns", "IP:PORT", endpoint(&C::udpgw_dns),
     "where udpgw datagrams flagged DNS go ",
     "where udpgw datagrams flagged DNS go (reachable even on loopback or a private address: the "
     "operator named it)",
     "the first `nameserver` of /etc/resolv.conf, port 53"},
    {"--socks5-listen", "socks5_listen", "ADDR:PORT",
     parsed_list<C>(listen_address(&C::socks5_listen)),
     "also accept hev-socks5 FWD UDP and sing-box UDP-over-TCP clients here (nothing else is "
     "served: not an open proxy)",
     "also accept hev-socks5-tunnel (`udp: 'tcp'`: SOCKS5 FWD UDP) and sing-box / Clash.Meta / "
     "Xray UDP-over-TCP clients (CONNECT to `sp.udp-over-tcp.arpa` or `sp.v2.udp-over-tcp.arpa`) "
     "here ([PROTOCOL.md §7.2, §7.3](PROTOCOL.md)): each connection a session and one flow (one "
     "socket for all its destinations). Nothing else is served — any other CONNECT is refused "
     "(`0x02`), UDP ASSOCIATE and BIND too (`0x07`): not an open proxy. Without credentials or "
     "`--allow-client` off loopback, udp-server warns at start. A client silent for "
     "`--flow-idle-timeout-ms` is closed (these protocols have no heartbeat)"},
    {"--socks5-listen-username", "socks5_listen_username", "NAME", text(&C::socks5_listen_username),
     "RFC 1929 credentials those clients must give ...",
     "RFC 1929 credentials those clients must give (then only they are accepted)"},
    {"--socks5-listen-password", "socks5_listen_password", "PASSWORD",
     text(&C::socks5_listen_password), "...",
     "RFC 1929 credentials those clients must give (then only they are accepted)"},
    {"--max-connections-per-client", "max_connections_per_client", "N",
     number(&C::max_connections_per_client, 0, 10'000'000),
     "udpgw and SOCKS5-listener connections from one client address (0: no cap)",
     "udpgw and SOCKS5-listener connections from one client address. Each is a session of its own "
     "but not one of `--max-sessions` / `--max-sessions-per-client` (those bound udptun's "
     "resumable sessions), nor a handshake for `--handshakes-per-second-per-source`: "
     "hev-socks5-tunnel opens one per app UDP socket, as fast as apps open them. "
     "`--max-connections` bounds them all. 0: no cap"},
};

const OptionList<C> kEgressOptions = {
    {"--allow-target", "allow_targets", "CIDR", parsed_list<C>(add_target_range),
     "allow targets in an otherwise refused range, e.g. 127.0.0.0/8",
     "open an otherwise refused target range (loopback, private, link-local, multicast, …), e.g. "
     "`127.0.0.0/8`"},
    {"--nat-filtering", "nat_filtering", "MODE",
     choice(&C::filtering,
            {{"endpoint-independent", C::Filtering::endpoint_independent},
             {"address-dependent", C::Filtering::address_dependent},
             {"address-and-port-dependent", C::Filtering::address_and_port_dependent}}),
     "who may send to a flow: endpoint-independent (anyone, full cone), address-dependent or "
     "address-and-port-dependent (only those it sent to)",
     "which senders reach a flow's mapping (RFC 4787 §5): `endpoint-independent` (anyone: full "
     "cone, what STUN/ICE, WebRTC and consoles want), `address-dependent` (only addresses the flow "
     "sent to), `address-and-port-dependent` (only address and port pairs it sent to); filtered "
     "datagrams are counted as `drops_filtered`. Mapping is always endpoint-independent: one "
     "socket per app source"},
    {"--egress", "egress", "MODE",
     choice(&C::egress, {{"direct", C::Egress::direct},
                         {"socks5", C::Egress::socks5},
                         {"tun2socks", C::Egress::tun2socks}}),
     "direct (our own sockets), socks5 (each flow through a UDP ASSOCIATE) or tun2socks (IP "
     "packets through an in-process tun2socks, its UDP via SOCKS5)",
     "how datagrams leave: `direct` (one socket per flow), `socks5` (each flow through its own UDP "
     "ASSOCIATE at `egress_socks5`), `tun2socks` (as IP packets through an in-process tun2socks "
     "whose UDP goes to `egress_socks5`; flows get virtual source endpoints in 100.64.0.0/10 or "
     "fd75:6470:7475::/48). The target policy applies to every mode"},
    {"--egress-socks5", "egress_socks5", "IP:PORT", parsed<C>(parse_egress_socks5),
     "the SOCKS5 server for --egress socks5/tun2socks, e.g. ss-local -U (implies socks5)",
     "the SOCKS5 server for those, e.g. a TCP ss-local beside an `ss-local -U` on the same port; "
     "given alone it implies `socks5`. A flow whose association dies is closed (CLOSE_FLOW error) "
     "and re-made by the client's next datagram"},
    {"--egress-socks5-username", "egress_socks5_username", "NAME", text(&C::egress_socks5_username),
     "RFC 1929 credentials for it ...", "RFC 1929 credentials for it"},
    {"--egress-socks5-password", "egress_socks5_password", "PASSWORD",
     text(&C::egress_socks5_password), "...", "RFC 1929 credentials for it"},
};

const OptionList<C> kSessionOptions = {
    {"--session-grace-ms", "session_grace_ms", "MS", number(&C::session_grace_ms, 0, kDay),
     "keep a disconnected session this long for a resume",
     "keep a session whose connection died this long, waiting for a resume"},
    {"--link-timeout-ms", "link_timeout_ms", "MS", number(&C::link_timeout_ms, 500, kDay),
     "close a connection silent this long",
     "close a connection nothing was heard on for this long (clients ping every second)"},
    {"--handshake-timeout-ms", "handshake_timeout_ms", "MS",
     number(&C::handshake_timeout_ms, 100, 600'000),
     "close a connection that has not authenticated by then",
     "close a connection that has not authenticated this long after it was accepted (TLS handshake "
     "included; bytes trickling in do not extend it)"},
    {"--max-flows-per-session", "max_flows_per_session", "N",
     number(&C::max_flows_per_session, 1, 10'000'000),
     "least recently used flows are evicted past this",
     "past it, the least recently used flow is evicted"},
    {"--max-connections-per-session", "max_connections_per_session", "N",
     number(&C::max_connections_per_session, 1, protocol::kMaxLanes),
     "TCP connections a session may spread over (udp-local --connections; 1..16, default 4; 1: one "
     "each)",
     "TCP connections one session may spread over when its udp-local asks (`--connections`; 1..16; "
     "1: one each). Added connections count against `--max-connections` like any other "
     "(`lanes_joined`)"},
    {"--flow-opens-per-second", "flow_opens_per_second", "N",
     number(&C::flow_opens_per_second, 1, 10'000'000),
     "new flows a session may open per second; more are refused",
     "new flows per session per second; more are refused (FLOW_STATUS flow_limit)"},
    {"--amplification-ratio", "amplification_ratio", "N",
     number(&C::amplification_ratio, 0, 1'000'000),
     "replies to a flow whose client has not sent again since: at most N x what it sent plus the "
     "allowance (0: no guard)",
     "the amplification guard, per flow: until the client sends again after a reply arrived, "
     "replies may total N × what it sent plus the allowance; more are dropped and counted "
     "(`drops_amplification`). A client that keeps talking (QUIC ACKs, game inputs, RTCP reports) "
     "confirms the flow and gets every reply for as long as it sends at least once per window. 0: "
     "no guard"},
    {"--amplification-allowance-bytes", "amplification_allowance_bytes", "BYTES",
     number(&C::amplification_allowance_bytes, 0, 1u << 30),
     "... plus this, for first answers such as DNS responses",
     "… plus this, so first answers (a DNS response, a game handshake) pass whole"},
    {"--amplification-window-ms", "amplification_window_ms", "MS",
     number(&C::amplification_window_ms, 1'000, kDay),
     "a client that sent after a reply may get replies freely this long after it last sent",
     "how long a confirmed flow stays confirmed after the client last sent"},
    {"--session-packets-per-second", "session_packets_per_second", "N",
     number(&C::session_packets_per_second, 0, 1'000'000'000),
     "datagrams per second per session, each direction (0: no limit)",
     "datagrams per second per session, each direction on its own (token bucket, a burst of one "
     "second's worth); more are dropped and counted (`drops_rate_limited_up` / `_down`); 0: no "
     "limit"},
    {"--session-bytes-per-second", "session_bytes_per_second", "BYTES",
     number(&C::session_bytes_per_second, 0, 1ull << 40),
     "bytes per second per session, each direction (0: no limit)",
     "the same in bytes (the burst is at least one maximal datagram)"},
    {"--client-packets-per-second", "client_packets_per_second", "N",
     number(&C::client_packets_per_second, 0, 1'000'000'000),
     "datagrams per second per client address, all its sessions (0: no limit)",
     "the same, shared by every session from one client address (the TCP peer: behind ss-server or "
     "a balancer, that is theirs)"},
    {"--client-bytes-per-second", "client_bytes_per_second", "BYTES",
     number(&C::client_bytes_per_second, 0, 1ull << 40),
     "bytes per second per client address, all its sessions (0: no limit)",
     "the same, shared by every session from one client address (the TCP peer: behind ss-server or "
     "a balancer, that is theirs)"},
};

const OptionList<C> kCapacityOptions = {
    {"--max-sessions", "max_sessions", "N", number(&C::max_sessions, 1, 1'000'000),
     "least recently used sessions are evicted past this",
     "past it, a session of the worker the new session belongs to is evicted: one without a "
     "connection first, then one of the address with the most sessions there, then the least "
     "recently used"},
    {"--max-sessions-per-client", "max_sessions_per_client", "N",
     number(&C::max_sessions_per_client, 0, 10'000'000),
     "sessions from one client address; past it, that address's own least recent session makes "
     "room (0: no cap)",
     "sessions from one client address (IPv6: its `--ipv6-source-prefix`); past it, that address's "
     "own least recently used session (on the worker of the new one) makes room, or the new one is "
     "refused (`server_full`): one key holder cannot evict other clients' sessions. 0: no cap. "
     "Clients behind one NAT or a balancer share an address: raise it there"},
    {"--workers", "workers", "N", number(&C::workers, 0, 256),
     "event loops serving sessions, one thread each",
     "event loops serving sessions, each on a thread of its own. A session belongs to one worker "
     "(by its id), with its connection and flows; every new connection is accepted by worker 0, "
     "its handshake run there (with TLS: on the worker with the fewest handshakes under way) and "
     "then handed to its session's worker, so a resumed session comes back to the worker that has "
     "its flows. Session, flow and connection limits are totals over all workers; the counters are "
     "their sums (each worker's as of its last publication, at most one stats interval old). One "
     "with `--egress tun2socks` (more is refused) and on Windows. With more than one, the log and "
     "session callbacks of the library may come from the workers' threads, never two at once",
     "0: one per core"},
    {"--max-pending-handshakes", "max_pending_handshakes", "N",
     number(&C::max_pending_handshakes, 1, 1'000'000), "unauthenticated connections at once",
     "unauthenticated connections at once; the oldest goes first. With TLS and several workers, "
     "each worker holds its share (N / workers)"},
    {"--max-pending-handshakes-per-source", "max_pending_handshakes_per_source", "N",
     number(&C::max_pending_handshakes_per_source, 1, 1'000'000),
     "unauthenticated connections from one address at once",
     "unauthenticated connections from one IP address at once; its new ones are refused past it "
     "(others' are not touched)"},
    {"--handshakes-per-second-per-source", "handshakes_per_second_per_source", "N",
     number(&C::handshakes_per_second_per_source, 0, 1'000'000),
     "new connections per second from one address (each costs a handshake; with TLS a key "
     "exchange); more are closed at accept (0: no limit)",
     "new connections per second from one address (IPv6: its `--ipv6-source-prefix`), a burst of "
     "one second's worth: each costs a handshake, with TLS a key exchange and a signature (spread "
     "over the workers); more are closed at accept (`connections_refused`). A client's reconnect "
     "costs one per `--connections`; raise it for many clients behind one NAT. 0: no limit"},
    {"--ipv6-source-prefix", "ipv6_source_prefix", "BITS", number(&C::ipv6_source_prefix, 32, 128),
     "per-source limits count IPv6 clients by this prefix: one host usually holds a whole /64 "
     "(32..128, default 64)",
     "per-source limits (pending handshakes, `--client-*-per-second`) count an IPv6 client by this "
     "prefix of its address, since one host usually holds a whole /64 (32..128; an IPv4-mapped "
     "address counts as its IPv4 address)"},
    {"--max-connections", "max_connections", "N", number(&C::max_connections, 0, 10'000'000),
     "TCP connections at once (default: from the descriptor limit)",
     "TCP connections at once; more are closed at accept and counted (`connections_refused`)",
     "from the descriptor limit"},
    {"--max-total-flows", "max_total_flows", "N", number(&C::max_total_flows, 0, 100'000'000),
     "flows over all sessions (default: from the descriptor limit)",
     "flows over all sessions; more are refused (FLOW_STATUS flow_limit, `flows_refused_full`), "
     "existing ones go on",
     "from the descriptor limit"},
    {"--max-held-bytes-per-session", "max_held_bytes_per_session", "BYTES",
     number(&C::max_held_bytes_per_session, 0, 1u << 30),
     "datagrams held for flows being set up, per session",
     "datagrams held while flows resolve or wait for their SOCKS5 association, per session; more "
     "are dropped (`drops_held`)"},
    {"--flow-setup-timeout-ms", "flow_setup_timeout_ms", "MS",
     number(&C::flow_setup_timeout_ms, 100, 600'000),
     "give up a flow not ready by then: resolution, SOCKS5 association",
     "a flow not ready by then (name not resolved, SOCKS5 relay not answering) is refused and its "
     "held datagrams freed"},
    {"--max-clock-skew-ms", "max_clock_skew_ms", "MS", number(&C::max_clock_skew_ms, 1'000, kDay),
     "accepted client clock difference",
     "accepted difference between a client's clock and ours (a sanity check on client clocks; "
     "freshness comes from the handshake challenge)"},
    {"--max-queued-bytes", "max_queued_bytes", "BYTES",
     number(&C::max_queued_bytes, 65'536, 1u << 30),
     "per-connection output queue; replies beyond it are dropped",
     "per session: the per-flow queues of replies toward the client, all together ([The "
     "carrier](#the-carrier-queues-pacing-and-the-kernel-both-daemons)); over it, the longest "
     "queue loses its oldest (`drops_queue_full`). Per connection, past it (and 64 KiB for control "
     "replies and TLS records, alerts included), the client's own bytes wait unread until it has "
     "read what it is owed, before authentication and after (`links_paused`). Over TLS, a peer "
     "that provokes more than 16 alerts (renegotiation attempts) is cut off"},
    {"--handover-socket", "handover_socket", "PATH", text(&C::handover_socket),
     "planned restarts: a new udp-server started with the same PATH (or SIGHUP, which starts one) "
     "takes over the listeners, sessions and flow sockets; clients resume, targets see the same "
     "ports",
     "planned restarts keep every session: the server listens on this Unix socket (mode 0600; only "
     "its own user or root is answered) for a successor. A udp-server started with the same PATH — "
     "by hand, by `kill -HUP` (the running one starts it: the binary on disk now, the same "
     "arguments), by `systemctl reload` — receives the listeners, the sessions and the flows' "
     "sockets (SCM_RIGHTS), and the old process exits 0; clients reconnect and resume, targets see "
     "the same ports. A successor that cannot start (a bad new configuration), or a peer that "
     "connects and does not complete the exchange within 3 s, changes nothing: the old one goes on "
     "serving (its loop pauses for those 3 s at most). Both ends check the other's user (the same, "
     "or root): a successor never serves listeners or sockets handed over by another user's "
     "process, takes each listener's address from the socket itself, and reads a record only as "
     "far as it arrives. Flows through a `socks5`/`tun2socks` egress are re-made. Under "
     "proxy-controller, restart is stop + start (new sessions)",
     nullptr, true},
    {"--drain-grace-ms", "drain_grace_ms", "MS", number(&C::drain_grace_ms, 0, 600'000),
     "on SIGTERM: stop accepting, send every client GOAWAY (it reconnects elsewhere, e.g. through "
     "a balancer), stop once all left or after MS (0: at once)"},
};

}  // namespace

const runtime::OptionList<ServerConfig>& server_options() {
  // Made on first use: it is built from the runtime's tables, maybe before their statics.
  static const runtime::OptionList<ServerConfig> options =
      runtime::join<C>({kListenerOptions, kEgressOptions, kSessionOptions, kCapacityOptions,
                        runtime::lift_base<C>(runtime::flow_idle_options()),
                        runtime::lift_member(&C::carrier, runtime::carrier_options()),
                        runtime::common_options<C>()});
  return options;
}

std::vector<runtime::CommandLineOption> describe_options() {
  return runtime::describe(server_options());
}

}  // namespace udptun::udpserver
