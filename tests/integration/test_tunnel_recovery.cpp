// Either end may die at any moment; traffic must come back by itself. Assertions are on
// what arrives at the target and back, never on log lines.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "../unit/cmocka_support.hpp"
#include "tunnel_fixture.hpp"

using harness::EchoServer;
using harness::UdpClient;

static long long ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

static void test_server_killed_and_restarted_traffic_resumes(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port()), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  fx.server->kill9();
  // Mid-traffic: datagrams sent while the server is gone are simply lost.
  for (int i = 0; i < 10; ++i) client.send_to(fx.front(), "while down", 10);
  REQUIRE(fx.start_server(), fx);
  auto back = std::chrono::steady_clock::now();
  REQUIRE(fx.echo_eventually(client, "after restart", 10000), fx);
  std::fprintf(stderr, "    traffic resumed %lld ms after the server came back\n", ms_since(back));
}

static void test_local_killed_and_restarted_traffic_resumes(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port()), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  fx.local->kill9();
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port())), fx);
  auto back = std::chrono::steady_clock::now();
  REQUIRE(fx.echo_eventually(client, "after restart", 10000), fx);
  std::fprintf(stderr, "    traffic resumed %lld ms after udp-local came back\n", ms_since(back));
}

// With a state directory, a udp-local killed -9 and started again resumes its session and
// its flows: the target sees the same source port (the server kept the flow's socket).
static void test_local_restarted_with_state_dir_keeps_source_port(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  std::string state = fx.dir.path() + "/state";
  mkdir(state.c_str(), 0700);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  uint16_t port_before = target.last_source_port();
  struct stat st {};
  REQUIRE(stat((state + "/udp-local.state").c_str(), &st) == 0, fx);
  // Owner-only; on Windows the state directory's ACL says who may read it, not mode bits.
  REQUIRE(harness::daemons_are_windows() || (st.st_mode & 0777) == 0600, fx);
  for (int i = 0; i < 3; ++i) {
    // Mid-traffic: datagrams in flight when it dies are lost, nothing else.
    for (int j = 0; j < 20; ++j) client.send_to(fx.front(), "in flight", 9);
    fx.local->kill9();
    REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
    auto back = std::chrono::steady_clock::now();
    REQUIRE(fx.echo_eventually(client, "after restart " + std::to_string(i), 10000), fx);
    std::fprintf(stderr, "    restart %d: traffic back %lld ms after udp-local came back\n", i,
                 ms_since(back));
    if (fx.front_moved) {  // the flow is recorded with its front: another front, other flows
      harness::report_skip(
          "same source port after a restart: Wine kept the killed udp-local's front bound");
      break;
    }
    REQUIRE(target.last_source_port() == port_before, fx);
  }
  // A record that is not one (torn, or tampered with) is ignored: a new session, working.
  fx.local->kill9();
  fx.dir.write("state/udp-local.state", "udptun-local-state 1\nsession zz\n");
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--state-dir", state}), fx);
  REQUIRE(fx.echo_eventually(client, "after a bad record", 10000), fx);
  REQUIRE(target.last_source_port() != port_before, fx);
}

// A planned restart of udp-server (a new process with the same --handover-socket, or SIGHUP,
// which starts one) hands the listener, the session and the flow's socket over: traffic goes
// on by itself and the target sees the same source port; the old process exits cleanly.
static void test_server_planned_restart_keeps_session_and_source_port(void**) {
  if (harness::daemons_are_windows()) {
    harness::report_skip("planned restart with socket handover: no descriptor passing on Windows");
    skip();
  }
  EchoServer target;
  TunnelFixture fx;
  std::string handover = fx.dir.path() + "/handover.sock";
  REQUIRE(fx.start_tunnel_to(target.port(), {"--handover-socket", handover}), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  uint16_t port_before = target.last_source_port();
  // 1. A successor started beside it.
  std::unique_ptr<harness::Process> old = std::move(fx.server);
  REQUIRE(fx.start_server({"--handover-socket", handover}), fx);
  REQUIRE(old->wait_exit(5000) == 0, fx);
  auto back = std::chrono::steady_clock::now();
  REQUIRE(fx.echo_eventually(client, "after the handover", 5000), fx);
  std::fprintf(stderr, "    traffic through the successor %lld ms after the handover\n",
               ms_since(back));
  REQUIRE(target.last_source_port() == port_before, fx);
  REQUIRE(harness::eventually([&] { return fx.server_counter("sessions_resumed") >= 1; }, 3000),
          fx);
  REQUIRE(fx.server_counter("sessions_opened") == 1, fx);  // the one taken over, no new one
  // 2. SIGHUP: the server starts its own successor and exits once it took over.
  kill(fx.server->pid(), SIGHUP);
  REQUIRE(fx.server->wait_exit(5000) == 0, fx);
  REQUIRE(fx.echo_eventually(client, "after SIGHUP", 5000), fx);
  REQUIRE(target.last_source_port() == port_before, fx);
  // The socket is the successor's now: a third server finds it and takes over in turn.
  REQUIRE(access(handover.c_str(), F_OK) == 0, fx);
}

static void test_orphaned_session_is_reaped(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port(), {"--session-grace-ms", "300"}), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  uint16_t old_port = target.last_source_port();
  fx.local->kill9();
  // Once reaped, the old flow's socket is closed: its port can no longer reach anyone.
  // Prove it through behaviour: a datagram from the target side to the old port is refused.
  bool closed = harness::eventually(
      [&] {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_storage to = harness::loopback(AF_INET, old_port);
        connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(sockaddr_in));
        send(fd, "x", 1, 0);
        char b;
        // ICMP port unreachable comes back as ECONNREFUSED on a connected UDP socket.
        bool refused = recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED;
        usleep(20'000);
        refused = refused || (recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED);
        close(fd);
        return refused;
      },
      5000);
  REQUIRE(closed, fx);
}

// udp-server, and udp-local reaching it through a relay the test can cut or block.
struct RelayedTunnel {
  EchoServer target;
  TunnelFixture fx;
  std::unique_ptr<harness::CuttableRelay> relay;
  bool start() {
    if (!fx.start_server()) return false;
    relay = std::make_unique<harness::CuttableRelay>(fx.server_port);
    return fx.start_local(harness::endpoint(AF_INET, target.port()), {},
                          harness::endpoint(AF_INET, relay->port()));
  }
};

static void test_link_cut_session_resumes_with_same_source_port(void**) {
  RelayedTunnel t;
  REQUIRE(t.start(), t.fx);
  EchoServer& target = t.target;
  TunnelFixture& fx = t.fx;
  harness::CuttableRelay& relay = *t.relay;
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before the cut", 5000), fx);
  uint16_t port_before = target.last_source_port();
  for (int round = 0; round < 3; ++round) {
    relay.cut();
    auto cut_at = std::chrono::steady_clock::now();
    REQUIRE(fx.echo_eventually(client, "after cut " + std::to_string(round), 10000), fx);
    std::fprintf(stderr, "    cut %d: traffic back after %lld ms\n", round, ms_since(cut_at));
    // The session was resumed: the target still sees the same source port.
    assert_int_equal(target.last_source_port(), port_before);
  }
  assert_true(relay.connections_seen() >= 4);
}

static void test_long_outage_then_back(void**) {
  RelayedTunnel t;
  REQUIRE(t.start(), t.fx);
  EchoServer& target = t.target;
  TunnelFixture& fx = t.fx;
  harness::CuttableRelay& relay = *t.relay;
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before", 5000), fx);
  uint16_t port_before = target.last_source_port();
  relay.set_blocked(true);
  int seen = relay.connections_seen();
  relay.cut();
  // udp-local keeps retrying, with backoff, through several refused attempts (the outage).
  REQUIRE(harness::eventually([&] { return relay.connections_seen() >= seen + 4; }, 10000), fx);
  relay.set_blocked(false);
  auto back = std::chrono::steady_clock::now();
  REQUIRE(fx.echo_eventually(client, "after the outage", 10000), fx);
  std::fprintf(stderr, "    traffic back %lld ms after the path returned\n", ms_since(back));
  assert_int_equal(target.last_source_port(), port_before);
}

static void test_idle_flows_expire_and_come_back(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_tunnel_to(target.port(), {"--flow-idle-timeout-ms", "300"}), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before idle", 5000), fx);
  uint16_t first_port = target.last_source_port();
  // The server closes the idle flow and tells udp-local.
  REQUIRE(
      harness::eventually(
          [&] { return fx.local->log().find("closed by the server") != std::string::npos; }, 5000),
      fx);
  REQUIRE(client.echo(fx.front(), "after idle", 2000), fx);
  // A new flow, so a new socket: the old binding was really released.
  REQUIRE(target.last_source_port() != first_port, fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_killed_and_restarted_traffic_resumes),
      cmocka_unit_test(test_local_killed_and_restarted_traffic_resumes),
      cmocka_unit_test(test_local_restarted_with_state_dir_keeps_source_port),
      cmocka_unit_test(test_server_planned_restart_keeps_session_and_source_port),
      cmocka_unit_test(test_orphaned_session_is_reaped),
      cmocka_unit_test(test_link_cut_session_resumes_with_same_source_port),
      cmocka_unit_test(test_long_outage_then_back),
      cmocka_unit_test(test_idle_flows_expire_and_come_back),
  };
  return cmocka_run_group_tests_name("tunnel_recovery", tests, nullptr, nullptr);
}
