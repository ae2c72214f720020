// A session over several TCP connections (udp-local --connections): the server agrees to the
// lanes, added connections JOIN the session, small flows travel on two of them and each
// datagram still reaches the application exactly once, both ways; lanes come back together
// after a cut; a JOIN for a session or a lane the server does not have is refused.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "../unit/cmocka_support.hpp"
#include "raw_client.hpp"
#include "tunnel_fixture.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"

using harness::EchoServer;
using harness::UdpClient;
using namespace udptun::protocol;

static const char* kKey = "test key: correct horse battery staple\n";

// Sends `count` distinct datagrams from each client, 20 ms apart (a small flow, long enough
// for copies to start), then counts every reply: each must come back once.
static void assert_each_reply_once(TunnelFixture& fx, std::vector<UdpClient*> clients, int count) {
  std::vector<std::map<std::string, int>> seen(clients.size());
  auto drain = [&](int wait_ms) {
    for (size_t c = 0; c < clients.size(); ++c) {
      char buf[256];
      ssize_t n;
      while ((n = clients[c]->receive(buf, sizeof buf, wait_ms)) > 0)
        seen[c][std::string(buf, static_cast<size_t>(n))]++;
    }
  };
  for (int i = 0; i < count; ++i) {
    for (size_t c = 0; c < clients.size(); ++c) {
      std::string msg = "flow " + std::to_string(c) + " datagram " + std::to_string(i);
      clients[c]->send_to(fx.front(), msg.data(), msg.size());
    }
    usleep(20'000);
    drain(0);
  }
  drain(300);
  for (size_t c = 0; c < clients.size(); ++c) {
    int answered = 0;
    for (const auto& [msg, times] : seen[c]) {
      if (times != 1) std::fprintf(stderr, "    \"%s\" came back %d times\n", msg.c_str(), times);
      REQUIRE(times == 1, fx);
      answered++;
    }
    // Loopback loses nothing: every datagram of every flow came back.
    if (answered != count)
      std::fprintf(stderr, "    flow %zu: %d of %d came back\n", c, answered, count);
    REQUIRE(answered == count, fx);
  }
}

static void test_small_flows_travel_on_two_lanes_and_arrive_once(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--connections", "3"}), fx);
  UdpClient a, b, c;
  REQUIRE(fx.echo_eventually(a, "first", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 3; }, 5000), fx);
  // The server publishes its counters every 100 ms: waited for (a slow machine lags).
  REQUIRE(harness::eventually([&] { return fx.server_counter("lanes_joined") >= 2; }, 3000), fx);
  assert_each_reply_once(fx, {&a, &b, &c}, 60);
  // Copies went both ways and the second of each was dropped, at each end.
  REQUIRE(harness::eventually([&] { return fx.server_counter("duplicates_dropped") > 0; }, 2000),
          fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("duplicates_dropped") > 0; }, 2000),
          fx);
  REQUIRE(harness::eventually(
              [&] {
                return fx.local_counter("duplicates_sent") >= 60 &&
                       fx.server_counter("duplicates_sent") >= 60;
              },
              3000),
          fx);
  double sent_up = fx.local_counter("duplicates_sent");
  double sent_down = fx.server_counter("duplicates_sent");
  std::fprintf(stderr, "    copies: %.0f up, %.0f down; dropped %.0f at the server, %.0f here\n",
               sent_up, sent_down, fx.server_counter("duplicates_dropped"),
               fx.local_counter("duplicates_dropped"));
  REQUIRE(sent_up >= 60 && sent_down >= 60, fx);
}

// --duplicate-below-kbps 0: the lanes, without copies.
static void test_copies_can_be_turned_off(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--duplicate-below-kbps", "0"}), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--connections", "2", "--duplicate-below-kbps", "0"}),
          fx);
  UdpClient a, b;
  REQUIRE(fx.echo_eventually(a, "first", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 2; }, 5000), fx);
  assert_each_reply_once(fx, {&a, &b}, 40);
  // Published counters (never -1 once a snapshot is out): no copy either way.
  REQUIRE(harness::eventually(
              [&] {
                return fx.local_counter("duplicates_sent") == 0 &&
                       fx.server_counter("duplicates_sent") == 0;
              },
              3000),
          fx);
}

// A server that takes one connection per session: udp-local keeps one, and works.
static void test_server_that_takes_one_connection(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--max-connections-per-session", "1"}), fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--connections", "4"}), fx);
  UdpClient a;
  REQUIRE(fx.echo_eventually(a, "first", 5000), fx);
  assert_each_reply_once(fx, {&a}, 20);
  REQUIRE(harness::eventually(
              [&] {
                return fx.local_counter("lanes_up") == 1 && fx.server_counter("lanes_joined") == 0;
              },
              3000),
          fx);
}

// Every connection cut at once (a broken path): the session resumes, its lanes join again,
// and the flow keeps its server-side port.
static void test_lanes_resume_together_after_a_cut(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  harness::CuttableRelay relay(fx.server_port);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), {"--connections", "3"},
                         harness::endpoint(AF_INET, relay.port())),
          fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "before the cut", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 3; }, 5000), fx);
  uint16_t port_before = target.last_source_port();
  double joined_before = fx.server_counter("lanes_joined");
  relay.cut();
  REQUIRE(fx.echo_eventually(client, "after the cut", 10000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 3; }, 5000), fx);
  REQUIRE(harness::eventually(
              [&] { return fx.server_counter("lanes_joined") >= joined_before + 2; }, 3000),
          fx);
  assert_int_equal(target.last_source_port(), port_before);
  assert_each_reply_once(fx, {&client}, 30);
}

// A udp-local killed and started again with its state directory resumes the session and
// numbers its copies from 0 again: the server, which saw higher numbers on the same flow,
// must take them (it forgets what it saw when a first connection comes).
static void test_restarted_local_copies_are_taken(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(fx.start_server(), fx);
  std::string state = fx.dir.path() + "/state";
  mkdir(state.c_str(), 0700);
  std::vector<std::string> args = {"--connections", "2", "--state-dir", state};
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), args), fx);
  UdpClient client;
  REQUIRE(fx.echo_eventually(client, "first", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 2; }, 5000), fx);
  assert_each_reply_once(fx, {&client}, 40);
  uint16_t port_before = target.last_source_port();
  fx.local->kill9();
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()), args), fx);
  REQUIRE(fx.echo_eventually(client, "after the restart", 5000), fx);
  REQUIRE(harness::eventually([&] { return fx.local_counter("lanes_up") == 2; }, 5000), fx);
  assert_int_equal(target.last_source_port(), port_before);  // the same flow, resumed
  assert_each_reply_once(fx, {&client}, 40);
  REQUIRE(harness::eventually([&] { return fx.local_counter("duplicates_sent") > 0; }, 3000), fx);
}

// Reads frames off a raw connection until a LANES frame (or `timeout_ms`).
static bool read_lanes(int fd, Lanes& out, int timeout_ms) {
  struct Sink : FrameSink {
    Lanes* out;
    bool got = false;
    bool on_frame(const Frame& f) override {
      if (auto* l = std::get_if<Lanes>(&f)) {
        *out = *l;
        got = true;
        return false;
      }
      return true;
    }
  } sink;
  sink.out = &out;
  FrameDecoder decoder;
  auto deadline = raw_client::now_ms() + static_cast<uint64_t>(timeout_ms);
  while (!sink.got && raw_client::now_ms() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    uint8_t buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    if (decoder.feed(ByteView(buf, static_cast<size_t>(n)), sink) == FrameDecoder::Status::error)
      return false;
  }
  return sink.got;
}

static void test_join_needs_a_live_session_and_an_agreed_lane(void**) {
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--max-connections-per-session", "2"}), fx);
  REQUIRE(harness::eventually(
              [&] {
                int fd = raw_client::tcp_connect(fx.server_port);
                if (fd >= 0) close(fd);
                return fd >= 0;
              },
              3000),
          fx);
  ServerHello reply;
  SessionId session{};
  session[0] = 0x5A;
  // 1. No such session.
  REQUIRE(raw_client::authenticated(fx.server_port, kKey, &reply, &session, false, 1) < 0, fx);
  assert_int_equal(static_cast<int>(reply.reason), static_cast<int>(RefuseReason::no_session));
  // 2. The session exists, but no lanes were agreed yet.
  int first = raw_client::authenticated(fx.server_port, kKey, &reply, &session);
  REQUIRE(first >= 0, fx);
  REQUIRE(raw_client::authenticated(fx.server_port, kKey, &reply, &session, false, 1) < 0, fx);
  assert_int_equal(static_cast<int>(reply.reason), static_cast<int>(RefuseReason::no_session));
  // 3. Four asked, two granted: lane 1 joins, lane 2 is refused.
  std::vector<uint8_t> ask;
  append_frame(ask, Lanes{4, lane_feature::kSequenced});
  REQUIRE(write(first, ask.data(), ask.size()) == static_cast<ssize_t>(ask.size()), fx);
  Lanes granted;
  REQUIRE(read_lanes(first, granted, 3000), fx);
  assert_int_equal(granted.count, 2);
  int lane1 = raw_client::authenticated(fx.server_port, kKey, &reply, &session, false, 1);
  REQUIRE(lane1 >= 0, fx);
  assert_int_equal(static_cast<int>(reply.status), static_cast<int>(HelloStatus::resumed));
  REQUIRE(raw_client::authenticated(fx.server_port, kKey, &reply, &session, false, 2) < 0, fx);
  assert_int_equal(static_cast<int>(reply.reason), static_cast<int>(RefuseReason::no_session));
  REQUIRE(harness::eventually([&] { return fx.server_counter("lanes_joined") == 1; }, 2000), fx);
  // The session counts once, however many connections it has.
  REQUIRE(harness::eventually([&] { return fx.server_counter("sessions_attached") == 1; }, 2000),
          fx);
  close(lane1);
  close(first);
  REQUIRE(harness::eventually([&] { return fx.server_counter("sessions_attached") == 0; }, 3000),
          fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_flows_travel_on_two_lanes_and_arrive_once),
      cmocka_unit_test(test_copies_can_be_turned_off),
      cmocka_unit_test(test_server_that_takes_one_connection),
      cmocka_unit_test(test_lanes_resume_together_after_a_cut),
      cmocka_unit_test(test_restarted_local_copies_are_taken),
      cmocka_unit_test(test_join_needs_a_live_session_and_an_agreed_lane),
  };
  return cmocka_run_group_tests_name("connection lanes", tests, nullptr, nullptr);
}
