// Who may use the relays: --allow-client on udp-server (the TCP peer) and on udp-local's
// forward and SOCKS5 fronts (the app). Assertions are on what gets through, and counters.
#include <arpa/inet.h>

#include <cstring>

#include "../unit/cmocka_support.hpp"
#include "socks5_test_client.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

#define REQUIRE(cond, fx)    \
  do {                       \
    if (!(cond)) {           \
      (fx).dump_logs();      \
      fail_msg("%s", #cond); \
    }                        \
  } while (0)

static sockaddr_storage at(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

static void test_server_refuses_clients_outside_its_allow_list(void**) {
  EchoServer target;
  {
    TunnelFixture fx;
    REQUIRE(fx.start_server({"--allow-client", "192.0.2.0/24"}), fx);
    REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
    UdpClient app;
    REQUIRE(!fx.echo_eventually(app, "refused", 1500), fx);
    REQUIRE(
        harness::eventually([&] { return fx.server_counter("connections_refused") >= 1; }, 3000),
        fx);
    REQUIRE(fx.server_counter("sessions_opened") == 0, fx);
  }
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--allow-client", "192.0.2.0/24", "--allow-client", "127.0.0.1"}), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "allowed", 5000), fx);
}

static void test_forward_front_serves_only_allowed_apps(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  REQUIRE(
      fx.start_local(harness::endpoint(AF_INET, target.port()), {"--allow-client", "127.0.0.2"}),
      fx);
  UdpClient allowed(at("127.0.0.2"));
  REQUIRE(fx.echo_eventually(allowed, "from 127.0.0.2", 5000), fx);
  uint64_t before = target.received();
  UdpClient stranger;  // 127.0.0.1
  for (int i = 0; i < 20; ++i) stranger.send_to(fx.front(), "stranger", 8);
  REQUIRE(!stranger.echo(fx.front(), "stranger", 500), fx);
  REQUIRE(allowed.echo(fx.front(), "still served", 2000), fx);
  usleep(100'000);
  REQUIRE(target.received() == before + 1, fx);  // only the allowed app's datagram
}

static void test_socks5_front_serves_only_allowed_apps(void**) {
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  uint16_t socks_port = harness::free_port(AF_INET, SOCK_STREAM);
  REQUIRE(fx.start_local("127.0.0.1:9", {"--socks5", harness::endpoint(AF_INET, socks_port),
                                         "--allow-client", "127.0.0.2"}),
          fx);
  REQUIRE(harness::eventually(
              [&] {
                Socks5TestClient probe;
                return probe.connect_to(socks_port);
              },
              5000),
          fx);
  // From 127.0.0.1: closed at once, before any SOCKS5 byte.
  Socks5TestClient stranger;
  REQUIRE(stranger.connect_to(socks_port), fx);
  REQUIRE(stranger.closed_by_peer(3000), fx);
  // From 127.0.0.2: served.
  Socks5TestClient allowed;
  allowed.tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage me = at("127.0.0.2");
  bind(allowed.tcp, reinterpret_cast<sockaddr*>(&me), sizeof(sockaddr_in));
  sockaddr_storage to = harness::loopback(AF_INET, socks_port);
  REQUIRE(connect(allowed.tcp, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in)) == 0, fx);
  REQUIRE(allowed.greet({0x00}) == 0x00, fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_refuses_clients_outside_its_allow_list),
      cmocka_unit_test(test_forward_front_serves_only_allowed_apps),
      cmocka_unit_test(test_socks5_front_serves_only_allowed_apps),
  };
  return cmocka_run_group_tests_name("access_control", tests, nullptr, nullptr);
}
