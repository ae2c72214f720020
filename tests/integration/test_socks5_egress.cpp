// udp-server's socks5 egress against a relay that fragments every reply (RFC 1928 §7): the
// server reassembles them and the app gets each reply whole.
#include "../unit/cmocka_support.hpp"
#include "fake_socks5.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

static void test_fragmented_relay_replies_are_reassembled(void**) {
  EchoingSocks5 socks(true);
  EchoServer unused;
  TunnelFixture fx;
  REQUIRE(fx.start_server(
              {"--egress", "socks5", "--egress-socks5", harness::endpoint(AF_INET, socks.port)}),
          fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, unused.port())), fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "a reply in three fragments", 5000), fx);
  for (int i = 0; i < 10; ++i)
    REQUIRE(app.echo(fx.front(), "fragmented " + std::to_string(i), 2000), fx);
  REQUIRE(harness::eventually([&] { return fx.server_counter("egress_reassembled") >= 11; }, 3000),
          fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fragmented_relay_replies_are_reassembled),
  };
  return cmocka_run_group_tests_name("socks5_egress", tests, nullptr, nullptr);
}
