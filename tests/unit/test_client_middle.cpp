// udp-local's middle layer (Client, Tunnel, TunnelConnection) driven by the test's own loop:
// udp-local is a guest on it (as inside tun2socks), the test plays udp-server with the
// protocol's codecs on a non-blocking loopback listener and an app with a UDP socket, and turns
// the loop until what it waits for has happened. Datagrams in, frames out; replies back as
// datagrams; a lost link resumed with the same session, its flows announced again and what
// waited while it was down sent after.
#include <array>
#include <random>
#include <string>

#include "loop_driver.hpp"
#include "loop_peer.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/udplocal.h"
#include "udptun/udplocal_guest.hpp"
// Last: cmocka defines a macro fail().
#include "cmocka_support.hpp"

using namespace udptun;
using namespace udptun::protocol;
using udptun::test::DatagramPeer;
using udptun::test::ReceivedFrame;
using udptun::test::run_until;
using udptun::test::StreamPeer;

namespace {

// The test's udp-server: a listener, the connection udp-local made, and the hello it sent.
struct FakeServer {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  StreamPeer connection;
  ClientHello hello;
  FakeServer() {
    sockaddr_in a = udptun::test::loopback4(0);
    ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener, 8);
  }
  ~FakeServer() { ::close(listener); }
  uint16_t port() const { return udptun::test::port_of(listener); }

  // Accepts udp-local's next connection and answers its hello with `status`.
  bool accept_and_answer(runtime::EventLoop& loop, HelloStatus status) {
    int fd = -1;
    if (!run_until(loop, [&] { return (fd = ::accept(listener, nullptr, nullptr)) >= 0; }))
      return false;
    connection.adopt(fd);
    ServerChallenge challenge;
    std::random_device rd;
    for (auto& b : challenge.challenge) b = static_cast<uint8_t>(rd());
    std::array<uint8_t, kServerChallengeSize> first;
    encode_server_challenge(challenge, first);
    if (!connection.write(first.data(), first.size()) ||
        !run_until(loop, [&] { return connection.has(kClientHelloSize); }))
      return false;
    uint8_t wire[kClientHelloSize];
    connection.take(wire, sizeof wire);
    auto parsed = decode_client_hello(ByteView(wire, sizeof wire));
    if (!parsed.ok() ||
        !verify_client_hello(udptun::test::test_key(), challenge.challenge, parsed.value))
      return false;
    hello = parsed.value;
    ServerHello reply;
    reply.status = status;
    reply.session = hello.session;
    for (auto& b : reply.nonce) b = static_cast<uint8_t>(rd());
    std::array<uint8_t, kServerHelloSize> answer;
    encode_server_hello(udptun::test::test_key(), hello.mac, reply, answer);
    return connection.write(answer.data(), answer.size());
  }
  bool send(const Frame& frame) {
    std::vector<uint8_t> out;
    append_frame(out, frame);
    return connection.write(out);
  }
};

struct ClientUnderTest {
  runtime::EventLoop loop;
  udplocal_t* client = nullptr;
  uint16_t front_port = 0;

  // `extra`: more keys of the JSON configuration.
  bool start(uint16_t server_port, const std::string& extra = "") {
    front_port = udptun::test::free_udp_port();
    std::string json = R"({"server":"127.0.0.1:)" + std::to_string(server_port) + R"(","psk":")" +
                       udptun::test::kTestKey + R"(","forward":"127.0.0.1:)" +
                       std::to_string(front_port) +
                       R"(=127.0.0.1:9","connections":1,"reconnect_min_ms":10,)"
                       R"("reconnect_max_ms":50,"stats_interval_ms":100)" +
                       extra + "}";
    char err[256];
    client = udptun::udplocal::new_guest(json.c_str(), loop, err, sizeof err);
    if (!client) std::fprintf(stderr, "%s\n", err);
    udplocal_callbacks cb{};
    cb.log = [](void*, int, const char*) {};
    return client && udplocal_start(client, &cb, this) == 0;
  }
  ~ClientUnderTest() {
    if (client) {
      udplocal_stop(client);  // a guest stops on this thread
      udplocal_free(client);
    }
    udptun::test::finish_closes(loop);
  }
  udplocal_stats stats() {
    udplocal_stats s{};
    udplocal_get_stats(client, &s);
    return s;
  }
};

// An app's datagram becomes OPEN_FLOW and DATA on the tunnel; the server's DATA for that flow
// comes back to the app from the front's port.
void test_datagrams_in_frames_out(void**) {
  FakeServer server;
  ClientUnderTest c;
  assert_true(c.start(server.port()));
  assert_true(server.accept_and_answer(c.loop, HelloStatus::new_session));
  assert_false(server.hello.resume);
  DatagramPeer app;
  assert_true(app.send_to(c.front_port, "hello"));
  ReceivedFrame open, data;
  assert_true(run_until(
      c.loop, [&] { return next_frame_of(server.connection, FrameType::open_flow, open); }));
  assert_string_equal(format_address(open.target).c_str(), "127.0.0.1:9");
  assert_true(
      run_until(c.loop, [&] { return next_frame_of(server.connection, FrameType::data, data); }));
  assert_int_equal(data.flow_id, open.flow_id);
  assert_string_equal(data.payload.c_str(), "hello");
  assert_true(server.send(Data{open.flow_id, false, {}, udptun::test::view_of("world")}));
  DatagramPeer::Datagram reply;
  assert_true(run_until(c.loop, [&] { return app.receive(reply); }));
  assert_string_equal(reply.payload.c_str(), "world");
  assert_int_equal(reply.from_port, c.front_port);
}

// The link dies: udp-local connects again, resumes the same session, announces its flow again
// and sends what the app sent while it was down.
void test_lost_link_resumes_the_session(void**) {
  FakeServer server;
  ClientUnderTest c;
  assert_true(c.start(server.port()));
  assert_true(server.accept_and_answer(c.loop, HelloStatus::new_session));
  const SessionId session = server.hello.session;
  DatagramPeer app;
  assert_true(app.send_to(c.front_port, "first"));
  ReceivedFrame open, again, data;
  assert_true(run_until(
      c.loop, [&] { return next_frame_of(server.connection, FrameType::open_flow, open); }));
  server.connection.close_now();
  assert_true(run_until(c.loop, [&] { return c.stats().link_up == 0; }));
  assert_true(app.send_to(c.front_port, "while down"));
  assert_true(server.accept_and_answer(c.loop, HelloStatus::resumed));
  assert_true(server.hello.resume);
  assert_memory_equal(server.hello.session.data(), session.data(), session.size());
  assert_true(run_until(
      c.loop, [&] { return next_frame_of(server.connection, FrameType::open_flow, again); }));
  assert_int_equal(again.flow_id, open.flow_id);
  assert_true(
      run_until(c.loop, [&] { return next_frame_of(server.connection, FrameType::data, data); }));
  assert_string_equal(data.payload.c_str(), "while down");
  assert_true(run_until(c.loop, [&] {
    auto st = c.stats();
    return st.link_up == 1 && st.sessions_resumed == 1 && st.link_losses == 1;
  }));
}

// The server refuses a flow (FLOW_STATUS): udp-local counts it and holds that target off; the
// server closes another (CLOSE_FLOW): udp-local forgets it, and the app's next datagram opens
// a new flow with a new id.
void test_refused_and_closed_flows(void**) {
  FakeServer server;
  ClientUnderTest c;
  assert_true(c.start(server.port()));
  assert_true(server.accept_and_answer(c.loop, HelloStatus::new_session));
  DatagramPeer app;
  assert_true(app.send_to(c.front_port, "one"));
  ReceivedFrame open, reopened;
  assert_true(run_until(
      c.loop, [&] { return next_frame_of(server.connection, FrameType::open_flow, open); }));
  FlowStatus refused;
  refused.flow_id = open.flow_id;
  refused.state = FlowState::target_forbidden;
  assert_true(server.send(refused));
  assert_true(run_until(c.loop, [&] { return c.stats().flows_refused == 1; }));
  // Closed by the server (idle there): forgotten here, so the next datagram opens anew.
  assert_true(server.send(CloseFlow{open.flow_id, CloseReason::idle}));
  assert_true(run_until(c.loop, [&] { return c.stats().flows == 0; }));
  assert_true(app.send_to(c.front_port, "two"));
  assert_true(run_until(
      c.loop, [&] { return next_frame_of(server.connection, FrameType::open_flow, reopened); }));
  assert_int_not_equal(reopened.flow_id, open.flow_id);
}

// Heartbeats: udp-local pings, a PONG gives it a round trip; a server that stops answering is
// left after --heartbeat-timeout-ms and a new connection made.
void test_heartbeats_and_a_silent_server(void**) {
  FakeServer server;
  ClientUnderTest c;
  assert_true(c.start(server.port(), R"(,"heartbeat_interval_ms":50,"heartbeat_timeout_ms":300)"));
  assert_true(server.accept_and_answer(c.loop, HelloStatus::new_session));
  ReceivedFrame ping;
  assert_true(
      run_until(c.loop, [&] { return next_frame_of(server.connection, FrameType::ping, ping); }));
  assert_true(server.send(Pong{ping.value}));
  assert_true(run_until(c.loop, [&] { return c.stats().rtt_us > 0; }));
  // Silent from now on: udp-local gives the link up and connects again, resuming.
  assert_true(server.accept_and_answer(c.loop, HelloStatus::resumed));
  assert_true(server.hello.resume);
  assert_true(run_until(c.loop, [&] { return c.stats().link_losses == 1; }));
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_datagrams_in_frames_out),
      cmocka_unit_test(test_lost_link_resumes_the_session),
      cmocka_unit_test(test_refused_and_closed_flows),
      cmocka_unit_test(test_heartbeats_and_a_silent_server),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
