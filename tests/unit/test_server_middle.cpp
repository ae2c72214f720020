// udp-server's middle layer driven by the test's own loop: the server is a guest on it (worker 0
// runs there), the test plays udp-local with the protocol's codecs on a non-blocking loopback
// connection and the target with a UDP socket, and turns the loop until what it waits for has
// happened. Frames in, datagrams out (Session, ServerFlow); replies back as frames; a session
// that outlives its connection; a connection handed to the worker that owns its session.
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "loop_driver.hpp"
#include "loop_peer.hpp"
#include "server.hpp"
#include "server_config.hpp"
#include "udptun/protocol/handshake.hpp"
#include "udptun/runtime/wall_clock.hpp"
// Last: cmocka defines a macro fail(), which ConfigReader has as a method.
#include "cmocka_support.hpp"

using namespace udptun;
using namespace udptun::protocol;
using udptun::test::DatagramPeer;
using udptun::test::ReceivedFrame;
using udptun::test::run_until;
using udptun::test::StreamPeer;

namespace {

struct ServerUnderTest {
  runtime::EventLoop loop;
  std::unique_ptr<udptun::udpserver::Server> server;
  std::atomic<int> port{0};
  std::mutex log_mutex;
  std::string log;  // every line, from every worker

  // `extra`: more keys of the JSON configuration (",\"flow_idle_timeout_ms\":300").
  bool start(int workers = 1, const std::string& extra = "") {
    std::string json = std::string(R"({"listen":"127.0.0.1:0","psk":")") + udptun::test::kTestKey +
                       R"(","allow_targets":["127.0.0.0/8"],"stats_interval_ms":100,)"
                       R"("log_level":"debug","workers":)" +
                       std::to_string(workers) + extra + "}";
    auto config = udptun::udpserver::parse_server_config(json.c_str());
    if (!config.ok()) return false;
    server = std::make_unique<udptun::udpserver::Server>(std::move(config).value(), &loop);
    udpserver_callbacks cb{};
    cb.started = [](void* u, const char* address) {
      static_cast<ServerUnderTest*>(u)->port = std::atoi(std::strrchr(address, ':') + 1);
    };
    cb.log = [](void* u, int, const char* line) {
      auto* self = static_cast<ServerUnderTest*>(u);
      std::lock_guard<std::mutex> lock(self->log_mutex);
      self->log += std::string(line) + "\n";
    };
    return server->start(&cb, this) == 0 && port != 0;
  }
  ~ServerUnderTest() {
    server.reset();  // stops on this thread (a guest), closing its handles
    udptun::test::finish_closes(loop);
  }
  udpserver_stats stats() {
    udpserver_stats s{};
    server->snapshot(&s);
    return s;
  }
  // Turns the loop until a snapshot taken after now says `pred`.
  bool stats_say(const std::function<bool(const udpserver_stats&)>& pred) {
    return run_until(loop, [&] { return pred(stats()); });
  }
  bool log_has(const std::string& text) {
    std::lock_guard<std::mutex> lock(log_mutex);
    return log.find(text) != std::string::npos;
  }

  // The handshake of udp-local, turn by turn: the status of the server's verified reply
  // (refused when anything went wrong).
  HelloStatus handshake(StreamPeer& c, const SessionId& session, bool resume) {
    PreSharedKey key = udptun::test::test_key();
    if (!c.connect_to(static_cast<uint16_t>(port.load())) ||
        !run_until(loop, [&] { return c.has(kServerChallengeSize); }))
      return HelloStatus::refused;
    uint8_t challenge[kServerChallengeSize];
    c.take(challenge, sizeof challenge);
    auto parsed = decode_server_challenge(ByteView(challenge, sizeof challenge));
    if (!parsed.ok()) return HelloStatus::refused;
    ClientHello hello;
    hello.challenge = parsed.value.challenge;
    hello.session = session;
    hello.resume = resume;
    hello.timestamp_ms = runtime::wall_clock_ms();
    std::random_device rd;
    for (auto& b : hello.nonce) b = static_cast<uint8_t>(rd());
    std::array<uint8_t, kClientHelloSize> wire;
    encode_client_hello(key, hello, wire);
    if (!c.write(wire.data(), wire.size()) ||
        !run_until(loop, [&] { return c.has(kServerHelloSize); }))
      return HelloStatus::refused;
    uint8_t answer[kServerHelloSize];
    c.take(answer, sizeof answer);
    auto reply = decode_server_hello(ByteView(answer, sizeof answer));
    if (!reply.ok() || !verify_server_hello(key, hello.mac, reply.value))
      return HelloStatus::refused;
    return reply.value.status;
  }
};

SessionId session_id(uint8_t first) {
  SessionId id{};
  id[0] = first;  // the worker that owns it: the first 8 bytes modulo the workers
  id[15] = 0x5a;
  return id;
}

std::vector<uint8_t> open_and_send(uint32_t flow, uint16_t target_port, const std::string& text) {
  std::vector<uint8_t> out;
  OpenFlow open;
  open.flow_id = flow;
  open.target = udptun::test::address_of("127.0.0.1:" + std::to_string(target_port));
  append_frame(out, open);
  append_frame(out, Data{flow, false, {}, udptun::test::view_of(text)});
  return out;
}

// OPEN_FLOW and DATA become a datagram from the flow's own socket; the target's reply comes
// back as DATA on the flow; CLOSE_FLOW closes the flow and its socket.
void test_frames_in_datagrams_out(void**) {
  ServerUnderTest s;
  assert_true(s.start());
  DatagramPeer target;
  StreamPeer client;
  assert_true(s.handshake(client, session_id(1), false) == HelloStatus::new_session);
  assert_true(client.write(open_and_send(7, target.port(), "ping")));
  DatagramPeer::Datagram d;
  assert_true(run_until(s.loop, [&] { return target.receive(d); }));
  assert_string_equal(d.payload.c_str(), "ping");
  const uint16_t flow_port = d.from_port;
  assert_true(target.send_to(flow_port, "pong"));
  ReceivedFrame f;
  assert_true(run_until(s.loop, [&] { return next_frame_of(client, FrameType::data, f); }));
  assert_int_equal(f.flow_id, 7);
  assert_string_equal(f.payload.c_str(), "pong");
  assert_true(s.stats_say([](const udpserver_stats& st) {
    return st.flows == 1 && st.flows_opened == 1 && st.datagrams_to_targets == 1 &&
           st.datagrams_from_targets == 1;
  }));
  std::vector<uint8_t> close;
  append_frame(close, CloseFlow{7, CloseReason::normal});
  assert_true(client.write(close));
  assert_true(s.stats_say([](const udpserver_stats& st) { return st.flows == 0; }));
  // Its socket went with it: nothing listens on its port now.
  assert_true(target.send_to(flow_port, "too late"));
  assert_true(
      s.stats_say([](const udpserver_stats& st) { return st.datagrams_from_targets == 1; }));
}

// A session outlives its connection: resumed on a new one, its flow sends from the same port.
void test_session_outlives_its_connection(void**) {
  ServerUnderTest s;
  assert_true(s.start());
  DatagramPeer target;
  StreamPeer client;
  const SessionId id = session_id(3);
  assert_true(s.handshake(client, id, false) == HelloStatus::new_session);
  assert_true(client.write(open_and_send(1, target.port(), "before")));
  DatagramPeer::Datagram d;
  assert_true(run_until(s.loop, [&] { return target.receive(d); }));
  const uint16_t flow_port = d.from_port;
  client.close_now();
  assert_true(s.stats_say([](const udpserver_stats& st) {
    return st.sessions == 1 && st.sessions_attached == 0 && st.flows == 1;
  }));
  StreamPeer again;
  assert_true(s.handshake(again, id, true) == HelloStatus::resumed);
  std::vector<uint8_t> data;
  append_frame(data, Data{1, false, {}, udptun::test::view_of("after")});
  assert_true(again.write(data));
  assert_true(run_until(s.loop, [&] { return target.receive(d); }));
  assert_string_equal(d.payload.c_str(), "after");
  assert_int_equal(d.from_port, flow_port);
  assert_true(s.stats_say([](const udpserver_stats& st) { return st.sessions_resumed == 1; }));
}

// With two workers, worker 0 accepts every connection and runs its handshake; a session that
// worker 1 owns gets its connection handed over there, and is served from there.
void test_connection_handed_to_the_owning_worker(void**) {
  ServerUnderTest s;
  assert_true(s.start(2));
  DatagramPeer target;
  StreamPeer to_worker1, to_worker0;
  assert_true(s.handshake(to_worker1, session_id(1), false) == HelloStatus::new_session);
  if (!run_until(s.loop, [&] { return s.log_has("connection handed to worker 1"); }))
    fail_msg("no hand-off in the log:\n%s", s.log.c_str());
  assert_true(s.handshake(to_worker0, session_id(2), false) == HelloStatus::new_session);
  assert_true(to_worker1.write(open_and_send(1, target.port(), "from worker 1")));
  assert_true(to_worker0.write(open_and_send(1, target.port(), "from worker 0")));
  DatagramPeer::Datagram got[2];
  int n = 0;
  assert_true(run_until(s.loop, [&] {
    if (n < 2 && target.receive(got[n])) n++;
    return n == 2;
  }));
  for (const auto& g : got) assert_true(target.send_to(g.from_port, "re: " + g.payload));
  ReceivedFrame f1, f0;
  assert_true(run_until(s.loop, [&] { return next_frame_of(to_worker1, FrameType::data, f1); }));
  assert_true(run_until(s.loop, [&] { return next_frame_of(to_worker0, FrameType::data, f0); }));
  assert_string_equal(f1.payload.c_str(), "re: from worker 1");
  assert_string_equal(f0.payload.c_str(), "re: from worker 0");
  std::lock_guard<std::mutex> lock(s.log_mutex);
  // Only the first went anywhere: worker 0 keeps what it owns.
  assert_int_equal(s.log.find("handed to worker"), s.log.rfind("handed to worker"));
}

// A target the policy refuses (a private address) gets FLOW_STATUS target_forbidden, its data
// goes nowhere, and the session goes on: the next flow opens.
void test_forbidden_target_is_refused_with_a_status(void**) {
  ServerUnderTest s;
  assert_true(s.start());
  StreamPeer client;
  assert_true(s.handshake(client, session_id(5), false) == HelloStatus::new_session);
  std::vector<uint8_t> out;
  OpenFlow open;
  open.flow_id = 9;
  open.target = udptun::test::address_of("10.1.2.3:53");
  append_frame(out, open);
  append_frame(out, Data{9, false, {}, udptun::test::view_of("to a private address")});
  assert_true(client.write(out));
  ReceivedFrame status;
  assert_true(
      run_until(s.loop, [&] { return next_frame_of(client, FrameType::flow_status, status); }));
  assert_int_equal(status.flow_id, 9);
  assert_int_equal(status.state_or_reason, static_cast<uint8_t>(FlowState::target_forbidden));
  DatagramPeer target;
  assert_true(client.write(open_and_send(10, target.port(), "allowed")));
  DatagramPeer::Datagram d;
  assert_true(run_until(s.loop, [&] { return target.receive(d); }));
  assert_string_equal(d.payload.c_str(), "allowed");
  assert_true(s.stats_say([](const udpserver_stats& st) {
    return st.flows == 1 && st.drops_forbidden >= 1 && st.datagrams_to_targets == 1;
  }));
}

// A flow quiet past --flow-idle-timeout-ms is closed by the session's sweep, and the client
// told (CLOSE_FLOW idle).
void test_idle_flow_is_closed_and_the_client_told(void**) {
  ServerUnderTest s;
  assert_true(s.start(1, R"(,"flow_idle_timeout_ms":300)"));
  DatagramPeer target;
  StreamPeer client;
  assert_true(s.handshake(client, session_id(6), false) == HelloStatus::new_session);
  assert_true(client.write(open_and_send(4, target.port(), "once")));
  DatagramPeer::Datagram d;
  assert_true(run_until(s.loop, [&] { return target.receive(d); }));
  ReceivedFrame closed;
  assert_true(
      run_until(s.loop, [&] { return next_frame_of(client, FrameType::close_flow, closed); }));
  assert_int_equal(closed.flow_id, 4);
  assert_int_equal(closed.state_or_reason, static_cast<uint8_t>(CloseReason::idle));
  assert_true(s.stats_say(
      [](const udpserver_stats& st) { return st.flows == 0 && st.flows_closed_idle == 1; }));
}

}  // namespace

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_in_datagrams_out),
      cmocka_unit_test(test_session_outlives_its_connection),
      cmocka_unit_test(test_connection_handed_to_the_owning_worker),
      cmocka_unit_test(test_forbidden_target_is_refused_with_a_status),
      cmocka_unit_test(test_idle_flow_is_closed_and_the_client_told),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
