// udp-local's forward front ⇄ udp-server, both as processes on loopback: datagrams both
// ways, IPv4, IPv6, a name as target, the largest datagram, and many flows.
#include <unistd.h>

#include <cstring>

#include "../unit/cmocka_support.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

static void test_datagrams_both_ways_ipv4(void**) {
  EchoServer target(AF_INET);
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port()), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "first", 5000), fx);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(client.echo(fx.front(), "datagram " + std::to_string(i), 2000), fx);
  }
  assert_true(target.received() >= 101);
}

static void test_ipv6_target(void**) {
  EchoServer target(AF_INET6);
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET6, target.port())), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "over IPv6", 5000), fx);
}

static void test_ipv6_everywhere(void**) {
  // Server listening on [::1], the front on [::1], the target on [::1].
  EchoServer target(AF_INET6);
  harness::TempDir dir;
  std::string key = dir.write("psk", "0123456789abcdef0123");
  uint16_t sport = harness::free_port(AF_INET6, SOCK_STREAM);
  uint16_t fport = harness::free_port(AF_INET6, SOCK_DGRAM);
  harness::Process server(
      harness::udp_server_bin(),
      {"--listen", harness::endpoint(AF_INET6, sport), "--psk-file", key, "--allow-target", "::1"},
      dir.path() + "/server.log");
  harness::Process local(
      harness::udp_local_bin(),
      {"--server", harness::endpoint(AF_INET6, sport), "--psk-file", key, "--forward",
       harness::endpoint(AF_INET6, fport) + "=" + harness::endpoint(AF_INET6, target.port())},
      dir.path() + "/local.log");
  assert_true(server.start() && local.start());
  UdpClient client(AF_INET6);
  bool ok = harness::eventually(
      [&] { return client.echo(harness::loopback(AF_INET6, fport), "v6 all the way", 200); }, 5000);
  if (!ok) std::fprintf(stderr, "%s\n%s\n", server.log().c_str(), local.log().c_str());
  assert_true(ok);
}

static void test_domain_target_resolved_by_server(void**) {
  EchoServer target(AF_INET);
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  REQUIRE(fx.start_local("localhost:" + std::to_string(target.port())), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "by name", 5000), fx);
}

static void test_largest_datagram(void**) {
  EchoServer target(AF_INET);
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port()), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "warm up", 5000), fx);
  std::string big(65507, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
  REQUIRE(client.echo(fx.front(), big, 3000), fx);
}

static void test_refused_target_never_reached(void**) {
  // Without --allow-target, loopback targets are refused: nothing may arrive.
  EchoServer target(AF_INET);
  TunnelFixture fx;
  harness::Process server(
      harness::udp_server_bin(),
      {"--listen", harness::endpoint(AF_INET, fx.server_port), "--psk-file", fx.key_path},
      fx.dir.path() + "/strict-server.log");
  assert_true(server.start());
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
  UdpClient client;
  for (int i = 0; i < 20; ++i) {
    client.send_to(fx.front(), "should not pass", 15);
    usleep(50'000);
  }
  assert_int_equal(target.received(), 0);
  bool said = harness::eventually(
      [&] { return server.log().find("loopback address") != std::string::npos; }, 2000);
  if (!said) std::fprintf(stderr, "%s\n", server.log().c_str());
  assert_true(said);
}

static void test_many_sources_are_separate_flows(void**) {
  EchoServer target(AF_INET);
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port()), fx);
  {
    UdpClient first;
    REQUIRE(fx.echo_eventually(first, "warm up", 5000), fx);
  }
  std::vector<std::unique_ptr<UdpClient>> clients;
  for (int i = 0; i < 50; ++i) clients.push_back(std::make_unique<UdpClient>());
  for (int i = 0; i < 50; ++i) {
    REQUIRE(clients[i]->echo(fx.front(), "client " + std::to_string(i), 2000), fx);
  }
  // Each local source got its own server-side socket: the target saw many source ports.
  auto ports = target.source_ports();
  assert_true(ports.size() >= 50);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_datagrams_both_ways_ipv4),
      cmocka_unit_test(test_ipv6_target),
      cmocka_unit_test(test_ipv6_everywhere),
      cmocka_unit_test(test_domain_target_resolved_by_server),
      cmocka_unit_test(test_largest_datagram),
      cmocka_unit_test(test_refused_target_never_reached),
      cmocka_unit_test(test_many_sources_are_separate_flows),
  };
  return cmocka_run_group_tests_name("tunnel_forward", tests, nullptr, nullptr);
}
