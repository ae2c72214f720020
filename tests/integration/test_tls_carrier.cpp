// The built-in TLS carrier: udp-local --tls with a pinned certificate (or a CA) to
// udp-server --tls-cert/--tls-key. A relay in the middle records what crosses the wire: with
// TLS no payload byte appears in it (without TLS the same datagrams do, so the capture is
// real). A wrong pin or a peer without TLS gets nowhere; sessions resume over TLS.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "../unit/cmocka_support.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

// Certificates for the name the client checks (--tls-sni udptun.test), and another one.
static harness::Certificate make_certificate(TunnelFixture& fx, const char* which) {
  return harness::make_certificate(fx.dir.path(),
                                   std::string(which) == "server" ? "udptun.test" : "other.test");
}

static const char kSecret[] = "PAYLOAD-THAT-MUST-NOT-SHOW-4f1c9e";

// Through a recording relay: echoes work, and the relay's capture holds kSecret or not.
static bool secret_on_the_wire(bool tls) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = make_certificate(fx, "server");
  if (c.pin.empty()) fail_msg("openssl could not make a certificate");
  std::vector<std::string> server_args, local_args;
  if (tls) {
    server_args = {"--tls-cert", c.cert, "--tls-key", c.key};
    local_args = {"--tls", "--tls-pin", c.pin};
  }
  REQUIRE(fx.start_server(server_args), fx);
  harness::CuttableRelay relay(fx.server_port);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), local_args,
                         harness::endpoint(AF_INET, relay.port())),
          fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, kSecret, 5000), fx);
  for (int i = 0; i < 20; ++i) REQUIRE(app.echo(fx.front(), kSecret, 2000), fx);
  std::string big(30'000, 'x');
  std::memcpy(big.data() + 15'000, kSecret, sizeof kSecret - 1);
  REQUIRE(app.echo(fx.front(), big, 2000), fx);
  usleep(100'000);
  std::string wire = relay.captured();
  REQUIRE(wire.size() > 20 * (sizeof kSecret - 1), fx);
  return wire.find(kSecret) != std::string::npos ||
         wire.find(std::string("UDPT")) != std::string::npos;  // nor the handshake's magic
}

static void test_no_payload_in_clear_on_the_wire(void**) {
  assert_true(secret_on_the_wire(false));  // the capture sees plain frames…
  assert_false(secret_on_the_wire(true));  // …and nothing of them inside TLS
}

static void test_wrong_pin_and_peers_without_tls_get_nowhere(void**) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = make_certificate(fx, "server");
  harness::Certificate other = make_certificate(fx, "other");
  REQUIRE(fx.start_server({"--tls-cert", c.cert, "--tls-key", c.key}), fx);
  UdpClient app;
  // Another certificate's pin: refused before any udptun byte, retried with backoff.
  REQUIRE(
      fx.start_local(harness::endpoint(AF_INET, target.port()), {"--tls", "--tls-pin", other.pin}),
      fx);
  REQUIRE(!fx.echo_eventually(app, "wrong pin", 1500), fx);
  REQUIRE(fx.local->log().find("not the one expected") != std::string::npos, fx);
  // A client without TLS: no session either.
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
  REQUIRE(!fx.echo_eventually(app, "no tls", 1500), fx);
  REQUIRE(fx.server_counter("sessions_opened") == 0, fx);
  // The right pin: served.
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--tls", "--tls-pin", c.pin}),
          fx);
  REQUIRE(fx.echo_eventually(app, "right pin", 5000), fx);
  // A TLS client at a server without TLS: told so.
  TunnelFixture plain;
  REQUIRE(plain.start_server(), plain);
  REQUIRE(
      plain.start_local(harness::endpoint(AF_INET, target.port()), {"--tls", "--tls-pin", c.pin}),
      plain);
  UdpClient app2;
  REQUIRE(!harness::eventually([&] { return app2.echo(plain.front(), "x", 200); }, 1500), plain);
  REQUIRE(plain.local->log().find("does not speak TLS") != std::string::npos, plain);
}

// With a CA file instead of a pin: the certificate must chain to it and carry the name.
static void test_ca_file_and_server_name(void**) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = make_certificate(fx, "server");
  REQUIRE(fx.start_server({"--tls-cert", c.cert, "--tls-key", c.key}), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls-ca", c.cert, "--tls-sni", "udptun.test"}),
          fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "via the CA", 5000), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls-ca", c.cert, "--tls-sni", "elsewhere.test"}),
          fx);
  UdpClient app2;
  REQUIRE(!fx.echo_eventually(app2, "wrong name", 1500), fx);
}

// A CA vouches for names: a certificate it issued for another name is refused, whether the
// name comes from --tls-sni or from --server's host, and a pin beside the CA does not waive
// the name (before, --tls-ca without --tls-sni took any certificate of the CA, and a pin
// replaced the CA's checks). An IP address as --server with --tls-ca and no --tls-sni is a
// configuration error: udp-local says so and does not start.
static void test_ca_issued_certificate_for_another_name_is_refused(void**) {
  EchoServer target;
  TunnelFixture fx;
  std::string dir = fx.dir.path();
  harness::Certificate evil = harness::make_issued_certificate(dir, "test-ca", "evil.example");
  if (evil.pin.empty()) fail_msg("openssl could not issue a certificate");
  std::string ca = dir + "/test-ca.pem";
  REQUIRE(fx.start_server({"--tls-cert", evil.cert, "--tls-key", evil.key}), fx);
  UdpClient app;
  // Named by --tls-sni: refused.
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls-ca", ca, "--tls-sni", "udptun.test"}),
          fx);
  REQUIRE(!fx.echo_eventually(app, "wrong name via sni", 1500), fx);
  // With the certificate's own pin beside the CA: still refused (the name is wrong).
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls-ca", ca, "--tls-pin", evil.pin, "--tls-sni", "udptun.test"}),
          fx);
  REQUIRE(!fx.echo_eventually(app, "pin and ca", 1500), fx);
  // Named by --server's host (localhost resolves to the server here): refused.
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--tls-ca", ca},
                         "localhost:" + std::to_string(fx.server_port)),
          fx);
  REQUIRE(!fx.echo_eventually(app, "wrong name via server", 1500), fx);
  REQUIRE(fx.server_counter("sessions_opened") == 0, fx);
  // An IP address and no name: refused at start, with the reason.
  fx.start_local(harness::endpoint(AF_INET, target.port()), {"--tls-ca", ca});
  REQUIRE(harness::eventually([&] { return !fx.local->running(); }, 5000), fx);
  REQUIRE(fx.local->log().find("tls_server_name") != std::string::npos, fx);
  // The right name, issued by the same CA: served, by --server's host as by --tls-sni.
  harness::Certificate good = harness::make_issued_certificate(dir, "test-ca", "localhost");
  REQUIRE(fx.start_server({"--tls-cert", good.cert, "--tls-key", good.key}), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--tls-ca", ca},
                         "localhost:" + std::to_string(fx.server_port)),
          fx);
  REQUIRE(fx.echo_eventually(app, "right name", 5000), fx);
}

// Kill -9 either end: the session resumes over TLS (same source port at the target).
static void test_resume_over_tls_after_kill(void**) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = make_certificate(fx, "server");
  std::vector<std::string> server_args = {"--tls-cert", c.cert, "--tls-key", c.key};
  std::string state = fx.dir.path() + "/state";
  mkdir(state.c_str(), 0700);
  std::vector<std::string> local_args = {"--tls", "--tls-pin", c.pin, "--state-dir", state};
  REQUIRE(fx.start_server(server_args), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), local_args), fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "before", 5000), fx);
  uint16_t port = target.last_source_port();
  fx.local->kill9();
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), local_args), fx);
  REQUIRE(fx.echo_eventually(app, "after udp-local", 10000), fx);
  REQUIRE(target.last_source_port() == port, fx);
  fx.server->kill9();
  REQUIRE(fx.start_server(server_args), fx);
  REQUIRE(fx.echo_eventually(app, "after udp-server", 10000), fx);
}

// Through a SOCKS5 CONNECT proxy (microsocks): TLS runs after the proxy's plaintext reply.
static void test_tls_via_socks5_connect(void**) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = make_certificate(fx, "server");
  REQUIRE(fx.start_server({"--tls-cert", c.cert, "--tls-key", c.key}), fx);
  uint16_t socks_port = harness::free_port(AF_INET, SOCK_STREAM);
  harness::Process proxy("/usr/bin/microsocks",
                         {"-i", "127.0.0.1", "-p", std::to_string(socks_port)},
                         fx.dir.path() + "/microsocks.log");
  REQUIRE(proxy.start(), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls", "--tls-pin", c.pin, "--via-socks5",
                          harness::endpoint(AF_INET, socks_port)}),
          fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "TLS through a SOCKS5 CONNECT", 5000), fx);
  for (int i = 0; i < 20; ++i)
    REQUIRE(app.echo(fx.front(), "again " + std::to_string(i), 2000), fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_payload_in_clear_on_the_wire),
      cmocka_unit_test(test_wrong_pin_and_peers_without_tls_get_nowhere),
      cmocka_unit_test(test_ca_file_and_server_name),
      cmocka_unit_test(test_ca_issued_certificate_for_another_name_is_refused),
      cmocka_unit_test(test_resume_over_tls_after_kill),
      cmocka_unit_test(test_tls_via_socks5_connect),
  };
  return cmocka_run_group_tests_name("tls_carrier", tests, nullptr, nullptr);
}
