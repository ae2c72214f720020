// udp-server's badvpn udpgw listener (--udpgw-listen, docs/PROTOCOL.md §7.1), driven by a
// client written from the byte layout: echo over IPv4 and IPv6, 60 KB datagrams, ids that are
// flows (and rebinding them), the LRU cap, the DNS flag, keepalives and the silence limit,
// the target policy, and hostile input (short packets, oversize datagrams, unknown flags, a
// packet cut off by a close). Each connection is a session that ends with it. And udp-local
// as a udpgw client (--server-protocol udpgw).
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "../unit/cmocka_support.hpp"
#include "tunnel_fixture.hpp"
#include "udpgw_test_client.hpp"

using harness::EchoServer;
using udpgw_client::Client;
using udpgw_client::Reply;

struct UdpgwFixture {
  TunnelFixture fx;
  uint16_t udpgw_port = harness::free_port(AF_INET, SOCK_STREAM);
  bool start(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--udpgw-listen", harness::endpoint(AF_INET, udpgw_port)});
    if (!fx.start_server(extra)) return false;
    // Listening once a connection is taken.
    return harness::eventually(
        [&] {
          int fd = raw_client::tcp_connect(udpgw_port);
          if (fd < 0) return false;
          close(fd);
          return true;
        },
        5000);
  }
};

// A datagram out and its echo back on the same id, as from the address the client gave.
static bool echoes(Client& c, uint16_t conid, const std::string& ip, uint16_t port,
                   const std::string& payload, uint8_t flags = 0) {
  if (!c.send(flags, conid, ip, port, payload)) return false;
  Reply r;
  if (!c.receive(r)) return false;
  return r.conid == conid && r.ip == ip && r.port == port && r.payload == payload &&
         (r.flags & udpgw_client::kIpv6) == (flags & udpgw_client::kIpv6);
}

static void test_echo_over_ipv4_and_ipv6(void**) {
  UdpgwFixture u;
  EchoServer v4, v6(AF_INET6);
  REQUIRE(u.start(), u.fx);
  Client c(u.udpgw_port);
  REQUIRE(c.connected(), u.fx);
  REQUIRE(echoes(c, 1, "127.0.0.1", v4.port(), "over udpgw"), u.fx);
  REQUIRE(echoes(c, 2, "::1", v6.port(), "over udpgw, IPv6", udpgw_client::kIpv6), u.fx);
  REQUIRE(echoes(c, 1, "127.0.0.1", v4.port(), "again on id 1"), u.fx);
  REQUIRE(harness::eventually([&] { return u.fx.server_counter("udpgw_clients") == 1; }, 3000),
          u.fx);
  REQUIRE(u.fx.server_counter("flows") == 2, u.fx);
  // 60 KB datagrams both ways (udpgw allows up to 65,507 here).
  std::string big(60'000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE(echoes(c, 3, "127.0.0.1", v4.port(), big), u.fx);
}

// Each id is a flow (one port at the server); REBIND or another address on the id starts a
// new one; past --udpgw-max-connections ids the least recently used goes.
static void test_ids_are_flows_with_an_lru_cap(void**) {
  UdpgwFixture u;
  EchoServer target, other;
  REQUIRE(u.start({"--udpgw-max-connections", "8"}), u.fx);
  Client c(u.udpgw_port);
  REQUIRE(echoes(c, 7, "127.0.0.1", target.port(), "first"), u.fx);
  uint16_t first_port = target.last_source_port();
  REQUIRE(echoes(c, 7, "127.0.0.1", target.port(), "same id"), u.fx);
  REQUIRE(target.last_source_port() == first_port, u.fx);
  REQUIRE(echoes(c, 7, "127.0.0.1", target.port(), "rebound", udpgw_client::kRebind), u.fx);
  REQUIRE(target.last_source_port() != first_port, u.fx);
  uint16_t rebound_port = target.last_source_port();
  REQUIRE(echoes(c, 7, "127.0.0.1", other.port(), "another address"), u.fx);
  REQUIRE(other.last_source_port() != rebound_port, u.fx);
  // 40 ids through a cap of 8: every one echoes, at most 8 flows stay.
  for (uint16_t id = 100; id < 140; ++id)
    REQUIRE(echoes(c, id, "127.0.0.1", target.port(), "id " + std::to_string(id)), u.fx);
  REQUIRE(harness::eventually([&] { return u.fx.server_counter("flows") == 8; }, 3000), u.fx);
  // The most recent id is still its flow; the oldest was closed and opens anew.
  uint16_t recent = 0;
  REQUIRE(echoes(c, 139, "127.0.0.1", target.port(), "recent"), u.fx);
  recent = target.last_source_port();
  REQUIRE(echoes(c, 139, "127.0.0.1", target.port(), "recent again"), u.fx);
  REQUIRE(target.last_source_port() == recent, u.fx);
  std::printf("    40 ids through a cap of 8: every one echoed; flows now %.0f\n",
              u.fx.server_counter("flows"));
}

// DNS-flagged datagrams go to --udpgw-dns whatever their address; the reply carries the
// address the client gave.
static void test_dns_flag_goes_to_the_configured_resolver(void**) {
  UdpgwFixture u;
  EchoServer resolver;
  REQUIRE(u.start({"--udpgw-dns", harness::endpoint(AF_INET, resolver.port())}), u.fx);
  Client c(u.udpgw_port);
  REQUIRE(echoes(c, 53, "10.255.255.53", 53, "a query", udpgw_client::kDns), u.fx);
  REQUIRE(resolver.received() == 1, u.fx);
}

// A keepalive every 300 ms keeps a connection alive past twice --link-timeout-ms; without
// them it is closed, and its session with it.
static void test_keepalives_and_the_silence_limit(void**) {
  UdpgwFixture u;
  EchoServer target;
  REQUIRE(u.start({"--link-timeout-ms", "500"}), u.fx);
  Client talker(u.udpgw_port), silent(u.udpgw_port);
  REQUIRE(echoes(talker, 1, "127.0.0.1", target.port(), "hello"), u.fx);
  REQUIRE(echoes(silent, 1, "127.0.0.1", target.port(), "hello"), u.fx);
  // Until the silent one is closed, and for at least twice the limit: a keepalive every
  // 300 ms (the time the silent one's socket is watched in between).
  auto start = std::chrono::steady_clock::now();
  auto past = [&](int ms) {
    return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(ms);
  };
  bool silent_closed = false;
  while (!(silent_closed && past(1'200)) && !past(5'000)) {
    REQUIRE(talker.send_raw(Client::keepalive()), u.fx);
    if (!silent_closed)
      silent_closed = silent.closed_within(300);
    else
      REQUIRE(!talker.closed_within(300), u.fx);  // its keepalives keep it
  }
  REQUIRE(silent_closed, u.fx);
  REQUIRE(echoes(talker, 1, "127.0.0.1", target.port(), "still here"), u.fx);
  REQUIRE(harness::eventually([&] { return u.fx.server_counter("udpgw_clients") == 1; }, 3000),
          u.fx);
  REQUIRE(u.fx.server_counter("sessions") == 1, u.fx);  // the silent one's went with it
}

// udpgw has no key: the target policy is what keeps it from being an open relay.
static void test_forbidden_targets_are_dropped(void**) {
  UdpgwFixture u;
  EchoServer target;
  // No --allow-target for loopback here: the fixture's are for udptun's tests.
  TunnelFixture& fx = u.fx;
  std::vector<std::string> args = {"--udpgw-listen",      harness::endpoint(AF_INET, u.udpgw_port),
                                   "--log-level",         "debug",
                                   "--stats-fd",          "3",
                                   "--stats-interval-ms", "100"};
  fx.server_stats = fx.dir.path() + "/server.stats";
  fx.server = std::make_unique<harness::Process>(harness::udp_server_bin(), args,
                                                 fx.dir.path() + "/server.log");
  fx.server->set_fd3_path(fx.server_stats);
  REQUIRE(fx.server->start(), fx);
  std::unique_ptr<Client> c;
  REQUIRE(harness::eventually(
              [&] {
                c = std::make_unique<Client>(u.udpgw_port);
                return c->connected();
              },
              5000),
          fx);
  REQUIRE(c->send(0, 1, "127.0.0.1", target.port(), "to loopback"), fx);
  Reply r;
  REQUIRE(!c->receive(r, 500), fx);
  REQUIRE(target.received() == 0, fx);
  REQUIRE(harness::eventually([&] { return fx.server_counter("flows_refused") >= 1; }, 3000), fx);
  REQUIRE(fx.server->log().find("not on loopback") == std::string::npos, fx);  // it is
}

// Hostile input costs only the packet (short ones, oversize datagrams, unknown flags) or the
// connection (a close in the middle of a packet); the server and other clients go on.
static void test_hostile_input(void**) {
  UdpgwFixture u;
  EchoServer target;
  REQUIRE(u.start(), u.fx);
  Client c(u.udpgw_port), bystander(u.udpgw_port);
  REQUIRE(echoes(bystander, 1, "127.0.0.1", target.port(), "before"), u.fx);
  // LEN 0, a header cut short, an address cut short: each skipped.
  REQUIRE(
      c.send_raw({0x00, 0x00, 0x02, 0x00, 0x00, 0x05, 0x05, 0x00, 0x00, 0x01, 0x00, 0x7f, 0x00}),
      u.fx);
  // A datagram over 65,507 bytes: dropped (LEN 65,535 = 3 + 6 + 65,526).
  REQUIRE(c.send(0, 2, "127.0.0.1", target.port(), std::string(65'526, 'o')), u.fx);
  // Unknown flag bits are ignored, as badvpn does.
  REQUIRE(echoes(c, 3, "127.0.0.1", target.port(), "odd flags", 0xf0), u.fx);
  REQUIRE(target.received() == 2, u.fx);  // "before" and "odd flags": nothing else passed
  // Half a packet, then the connection goes.
  {
    Client cut(u.udpgw_port);
    auto p = Client::packet(0, 9, "127.0.0.1", target.port(), std::string(1000, 'h'));
    p.resize(p.size() / 2);
    REQUIRE(cut.send_raw(p), u.fx);
  }
  REQUIRE(echoes(bystander, 1, "127.0.0.1", target.port(), "after"), u.fx);
  REQUIRE(u.fx.server->running(), u.fx);
}

// Many clients, many ids: each connection its own session, all served, all gone at close.
static void test_many_clients(void**) {
  UdpgwFixture u;
  EchoServer target;
  REQUIRE(u.start(), u.fx);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(std::make_unique<Client>(u.udpgw_port));
  for (size_t i = 0; i < clients.size(); ++i)
    for (uint16_t id = 0; id < 10; ++id)
      REQUIRE(echoes(*clients[i], id, "127.0.0.1", target.port(),
                     std::to_string(i) + "/" + std::to_string(id)),
              u.fx);
  REQUIRE(harness::eventually(
              [&] {
                return u.fx.server_counter("udpgw_clients") == 20 &&
                       u.fx.server_counter("flows") == 200;
              },
              3000),
          u.fx);
  clients.clear();
  REQUIRE(harness::eventually(
              [&] {
                return u.fx.server_counter("udpgw_clients") == 0 &&
                       u.fx.server_counter("sessions") == 0 && u.fx.server_counter("flows") == 0;
              },
              3000),
          u.fx);
}

// udp-local speaking udpgw (--server-protocol udpgw) to udp-server's udpgw listener: its
// forward front served through it, and served again after udp-server is killed and started
// anew (nothing resumes: the flow is re-made).
static void test_udp_local_speaks_udpgw(void**) {
  UdpgwFixture u;
  EchoServer target;
  REQUIRE(u.start(), u.fx);
  std::string at = harness::endpoint(AF_INET, u.udpgw_port);
  REQUIRE(u.fx.start_local(harness::endpoint(AF_INET, target.port()),
                           {"--server-protocol", "udpgw"}, at),
          u.fx);
  harness::UdpClient app;
  REQUIRE(u.fx.echo_eventually(app, "through udpgw", 5000), u.fx);
  REQUIRE(harness::eventually([&] { return u.fx.server_counter("udpgw_clients") == 1; }, 3000),
          u.fx);
  u.fx.server->kill9();
  REQUIRE(u.start(), u.fx);
  REQUIRE(u.fx.echo_eventually(app, "after the server came back", 5000), u.fx);
  REQUIRE(u.fx.local->log().find("tunnel up (udpgw)") != std::string::npos, u.fx);
}

// What udp-local cannot do with udpgw is refused at start, with the reason.
static void test_udp_local_udpgw_refusals(void**) {
  TunnelFixture fx;
  EchoServer target;
  REQUIRE(
      fx.start_local(harness::endpoint(AF_INET, target.port()),
                     {"--server-protocol", "udpgw", "--tls", "--tls-pin", std::string(64, 'a')}),
      fx);
  int code = fx.local->wait_exit(5000);
  REQUIRE(code != 0 && code != -1, fx);
  REQUIRE(fx.local->log().find("does not speak it") != std::string::npos, fx);
  REQUIRE(fx.start_local(
              harness::endpoint(AF_INET, target.port()),
              {"--server-protocol", "udpgw", "--server-username", "u", "--server-password", "p"}),
          fx);
  code = fx.local->wait_exit(5000);
  REQUIRE(code != 0 && code != -1, fx);
  REQUIRE(fx.local->log().find("is for") != std::string::npos, fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_over_ipv4_and_ipv6),
      cmocka_unit_test(test_ids_are_flows_with_an_lru_cap),
      cmocka_unit_test(test_dns_flag_goes_to_the_configured_resolver),
      cmocka_unit_test(test_keepalives_and_the_silence_limit),
      cmocka_unit_test(test_forbidden_targets_are_dropped),
      cmocka_unit_test(test_hostile_input),
      cmocka_unit_test(test_many_clients),
      cmocka_unit_test(test_udp_local_speaks_udpgw),
      cmocka_unit_test(test_udp_local_udpgw_refusals),
  };
  return cmocka_run_group_tests_name("udpgw_listener", tests, nullptr, nullptr);
}
