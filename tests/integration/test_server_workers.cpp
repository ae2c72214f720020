// udp-server's worker loops: sessions spread over the workers by their ids, every connection
// taken through its handshake by worker 0 and handed to the owner (plain TCP and TLS, with the
// bytes sent right behind the hello), a resumed session back on the worker that owns it (same
// flow, same source port at the target), the counters summed over the workers, drain and
// planned restarts across all of them. The tests choose session ids, so which worker owns a
// session is known: with 2 workers, id bytes 0..7 read as a little-endian number, even → 0.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../unit/cmocka_support.hpp"
#include "raw_client.hpp"
#include "tunnel_fixture.hpp"
#include "udptun/protocol/frame.hpp"
#include "udptun/protocol/frame_decoder.hpp"
#include "udptun/protocol/session_record.hpp"

using harness::EchoServer;
using harness::UdpClient;
using namespace udptun::protocol;
using namespace raw_client;

static const char* kKey = "test key: correct horse battery staple\n";

// A session id owned by worker `worker` of `workers` (and distinct per `n`).
static SessionId session_on(unsigned worker, unsigned workers, unsigned n) {
  SessionId id{};
  uint64_t h = static_cast<uint64_t>(n) * workers + worker;
  std::memcpy(id.data(), &h, sizeof h);
  id[15] = 0x5a;
  return id;
}

// Frames from the server, collected: DATA payloads and FLOW_STATUS states.
struct Collected : FrameSink {
  std::vector<std::string> data;
  bool on_frame(const Frame& f) override {
    if (auto* d = std::get_if<Data>(&f))
      data.emplace_back(reinterpret_cast<const char*>(d->payload.data), d->payload.size);
    return true;
  }
};

// Sends DATA on `flow` and waits for the echo of `msg`.
static bool echo_on(int fd, uint32_t flow, const std::string& msg, int timeout_ms = 3000) {
  std::vector<uint8_t> out;
  Data d;
  d.flow_id = flow;
  d.payload = ByteView(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  append_frame(out, d);
  if (write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) return false;
  FrameDecoder decoder;
  Collected got;
  uint8_t buf[65536];
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) != 1) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    ByteView view(buf, static_cast<size_t>(n));
    if (decoder.feed(view, got) == FrameDecoder::Status::error) return false;
    for (const auto& s : got.data)
      if (s == msg) return true;
  }
  return false;
}

static void open_flow(int fd, uint32_t flow, uint16_t target_port) {
  uint8_t ip[4] = {127, 0, 0, 1};
  std::vector<uint8_t> out;
  append_frame(out, OpenFlow{flow, Address::ipv4(ip, target_port), false, {}});
  (void)!write(fd, out.data(), out.size());
}

// udp-server with two workers (and `extra`), listening.
static bool start_two_workers(TunnelFixture& fx, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--workers", "2"});
  return fx.start_server(extra) &&
         harness::eventually(
             [&] { return fx.server->log().find("listening on") != std::string::npos; }, 5000);
}

static int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// `n` authenticated sessions, alternating between the two workers, each with flow 1 to
// `target_port` open; the connections (every one REQUIREd).
static std::vector<int> sessions_on_both_workers(TunnelFixture& fx, unsigned n,
                                                 uint16_t target_port) {
  std::vector<int> fds;
  for (unsigned i = 0; i < n; ++i) {
    SessionId id = session_on(i % 2, 2, i);
    ServerHello reply;
    int fd = authenticated(fx.server_port, kKey, &reply, &id);
    REQUIRE(fd >= 0, fx);
    REQUIRE(reply.status == HelloStatus::new_session, fx);
    open_flow(fd, 1, target_port);
    fds.push_back(fd);
  }
  return fds;
}

// Eight sessions, four owned by each worker: all served, each on its owner, counted once.
static void test_sessions_spread_over_workers(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(start_two_workers(fx, {"--log-level", "debug"}), fx);
  std::vector<int> fds = sessions_on_both_workers(fx, 8, target.port());
  for (size_t i = 0; i < fds.size(); ++i)
    REQUIRE(echo_on(fds[i], 1, "through worker " + std::to_string(i % 2)), fx);
  std::string log = fx.server->log();
  REQUIRE(count_of(log, "2 workers") == 1, fx);
  REQUIRE(count_of(log, "flows, worker 0)") == 4, fx);
  REQUIRE(count_of(log, "flows, worker 1)") == 4, fx);
  REQUIRE(count_of(log, "connection handed to worker 1") == 4, fx);
  // The counters are the sum over both workers.
  REQUIRE(harness::eventually(
              [&] {
                return fx.server_counter("sessions") == 8 && fx.server_counter("flows") == 8 &&
                       fx.server_counter("connections") == 8 &&
                       fx.server_counter("sessions_attached") == 8;
              },
              3000),
          fx);
  for (int fd : fds) close(fd);
  REQUIRE(harness::eventually(
              [&] {
                return fx.server_counter("connections") == 0 &&
                       fx.server_counter("sessions_attached") == 0 &&
                       fx.server_counter("sessions") == 8;
              },
              3000),
          fx);
}

// The bytes a client sends right behind its hello (here: OPEN_FLOW and DATA in the same
// write) travel with the connection to the owner worker.
static void test_bytes_behind_the_hello_move_with_the_connection(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(start_two_workers(fx), fx);
  int fd = tcp_connect(fx.server_port);
  Challenge challenge;
  REQUIRE(fd >= 0 && read_challenge(fd, challenge), fx);
  PreSharedKey key = key_of(kKey);
  SessionId id = session_on(1, 2, 7);
  ClientHello h;
  auto hello = hello_for(key, challenge, &h, &id);
  std::vector<uint8_t> out(hello.begin(), hello.end());
  uint8_t ip[4] = {127, 0, 0, 1};
  append_frame(out, OpenFlow{1, Address::ipv4(ip, target.port()), false, {}});
  std::string msg = "right behind the hello";
  Data d;
  d.flow_id = 1;
  d.payload = ByteView(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  append_frame(out, d);
  REQUIRE(write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()), fx);
  uint8_t resp[kServerHelloSize];
  REQUIRE(read_exact(fd, resp, sizeof resp), fx);
  auto reply = decode_server_hello(ByteView(resp, sizeof resp));
  REQUIRE(reply.ok() && verify_server_hello(key, h.mac, reply.value), fx);
  REQUIRE(reply.value.status == HelloStatus::new_session, fx);
  REQUIRE(harness::eventually([&] { return target.received() >= 1; }, 3000), fx);
  REQUIRE(echo_on(fd, 1, "and after it"), fx);
  close(fd);
}

// A session resumed on a new connection lands on the worker that owns it: its flow is still
// there (no OPEN_FLOW again) and the target sees the same source port.
static void test_resumed_session_goes_back_to_its_worker(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(start_two_workers(fx), fx);
  for (unsigned worker = 0; worker < 2; ++worker) {
    SessionId id = session_on(worker, 2, 3);
    int fd = authenticated(fx.server_port, kKey, nullptr, &id);
    REQUIRE(fd >= 0, fx);
    open_flow(fd, 1, target.port());
    REQUIRE(echo_on(fd, 1, "before"), fx);
    uint16_t port = target.last_source_port();
    close(fd);
    REQUIRE(harness::eventually([&] { return fx.server_counter("sessions_attached") == 0; }, 3000),
            fx);
    ServerHello reply;
    fd = authenticated(fx.server_port, kKey, &reply, &id, true);
    REQUIRE(fd >= 0, fx);
    REQUIRE(reply.status == HelloStatus::resumed, fx);
    REQUIRE(echo_on(fd, 1, "after the resume"), fx);
    REQUIRE(target.last_source_port() == port, fx);
    close(fd);
  }
  REQUIRE(harness::eventually([&] { return fx.server_counter("sessions_resumed") == 2; }, 3000),
          fx);
}

// Over TLS the connection moves with its TLS session: udp-local resumes a recorded session
// owned by worker 1, so its connection always changes worker after the hello.
static void test_tls_connection_moves_to_its_worker(void**) {
  EchoServer target;
  TunnelFixture fx;
  harness::Certificate c = harness::make_certificate(fx.dir.path(), "udptun.test");
  std::string state = fx.dir.path() + "/state";
  mkdir(state.c_str(), 0700);
  SessionRecord record;
  record.session = session_on(1, 2, 11);
  fx.dir.write("state/udp-local.state", encode_session_record(record));
  REQUIRE(fx.start_server(
              {"--workers", "2", "--log-level", "debug", "--tls-cert", c.cert, "--tls-key", c.key}),
          fx);
  REQUIRE(fx.start_local(harness::endpoint(AF_INET, target.port()),
                         {"--tls", "--tls-pin", c.pin, "--state-dir", state}),
          fx);
  UdpClient app;
  REQUIRE(fx.echo_eventually(app, "over TLS, on worker 1", 5000), fx);
  std::string log = fx.server->log();
  // The session's first connection, and its added ones (--connections) as they join.
  REQUIRE(count_of(log, "connection handed to worker 1") >= 1, fx);
  REQUIRE(count_of(log, "flows, worker 1)") == 1, fx);
  for (int i = 0; i < 20; ++i)
    REQUIRE(app.echo(fx.front(), "again " + std::to_string(i), 1000), fx);
}

// Drain with clients on both workers: each is told to move, and the server stops once they
// have all gone.
static void test_drain_spans_every_worker(void**) {
  EchoServer target;
  TunnelFixture fx;
  REQUIRE(start_two_workers(fx, {"--drain-grace-ms", "20000"}), fx);
  std::vector<int> fds = sessions_on_both_workers(fx, 4, target.port());
  for (int fd : fds) REQUIRE(echo_on(fd, 1, "before the drain"), fx);
  kill(fx.server->pid(), SIGTERM);
  // Each client hears GOAWAY (shutting down) and is still relayed meanwhile.
  for (int fd : fds) {
    FrameDecoder decoder;
    struct GoAwaySeen : FrameSink {
      bool seen = false;
      bool on_frame(const Frame& f) override {
        if (auto* g = std::get_if<GoAway>(&f)) seen = g->reason == GoAwayReason::shutting_down;
        return true;
      }
    } sink;
    uint8_t buf[4096];
    for (int waited = 0; waited < 3000 && !sink.seen; waited += 20) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) != 1) continue;
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      (void)decoder.feed(ByteView(buf, static_cast<size_t>(n)), sink);
    }
    REQUIRE(sink.seen, fx);
  }
  REQUIRE(echo_on(fds[1], 1, "while draining"), fx);
  REQUIRE(fx.server->running(), fx);
  for (int fd : fds) close(fd);
  REQUIRE(fx.server->wait_exit(5000) == 0, fx);
  REQUIRE(count_of(fx.server->log(), "drained: every client moved") == 1, fx);
}

// A planned restart hands over the sessions of every worker; each resumes on the
// successor's owner worker with its source port.
static void test_planned_restart_hands_over_every_worker(void**) {
  EchoServer target;
  TunnelFixture fx;
  std::string handover = fx.dir.path() + "/handover.sock";
  REQUIRE(start_two_workers(fx, {"--handover-socket", handover}), fx);
  std::vector<uint16_t> ports;
  std::vector<SessionId> ids;
  for (unsigned i = 0; i < 4; ++i) {
    ids.push_back(session_on(i % 2, 2, i));
    int fd = authenticated(fx.server_port, kKey, nullptr, &ids.back());
    REQUIRE(fd >= 0, fx);
    open_flow(fd, 1, target.port());
    REQUIRE(echo_on(fd, 1, "before the restart"), fx);
    ports.push_back(target.last_source_port());
    close(fd);
  }
  auto predecessor = std::move(fx.server);
  REQUIRE(start_two_workers(fx, {"--handover-socket", handover}), fx);
  REQUIRE(predecessor->wait_exit(10000) == 0, fx);
  REQUIRE(count_of(predecessor->log(), "handed over 1 listeners, 4 sessions, 4 flows") == 1, fx);
  for (size_t i = 0; i < ids.size(); ++i) {
    ServerHello reply;
    int fd = authenticated(fx.server_port, kKey, &reply, &ids[i], true);
    REQUIRE(fd >= 0, fx);
    REQUIRE(reply.status == HelloStatus::resumed, fx);
    REQUIRE(echo_on(fd, 1, "after the restart"), fx);
    REQUIRE(target.last_source_port() == ports[i], fx);
    close(fd);
  }
}

// The configuration: a bad worker count is refused, and more than one with the tun2socks
// egress (its stack is single-threaded); 0 means one per core.
static void test_worker_count_is_checked(void**) {
  TunnelFixture fx;
  REQUIRE(fx.start_server({"--workers", "257"}), fx);
  REQUIRE(fx.server->wait_exit(5000) != 0, fx);
  REQUIRE(fx.server->log().find("\"workers\"") != std::string::npos, fx);
  REQUIRE(fx.start_server(
              {"--workers", "2", "--egress", "tun2socks", "--egress-socks5", "127.0.0.1:9"}),
          fx);
  REQUIRE(fx.server->wait_exit(5000) != 0, fx);
  REQUIRE(fx.server->log().find("the tun2socks egress runs on one worker") != std::string::npos,
          fx);
  REQUIRE(fx.start_server({"--workers", "0"}), fx);
  unsigned cores = std::thread::hardware_concurrency();
  unsigned workers = 0;
  REQUIRE(harness::eventually(
              [&] {
                std::string log = fx.server->log();
                size_t at = log.find(" worker");
                if (at == std::string::npos) return false;
                size_t start = log.rfind(' ', at - 1);
                workers = static_cast<unsigned>(std::atoi(log.c_str() + start + 1));
                return true;
              },
              3000),
          fx);
  std::printf("    --workers 0: %u workers on %u cores\n", workers, cores);
  REQUIRE(workers >= 1 && workers <= cores, fx);
}

int main(void) {
  harness::bound_sanitizer_quarantine();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sessions_spread_over_workers),
      cmocka_unit_test(test_bytes_behind_the_hello_move_with_the_connection),
      cmocka_unit_test(test_resumed_session_goes_back_to_its_worker),
      cmocka_unit_test(test_tls_connection_moves_to_its_worker),
      cmocka_unit_test(test_drain_spans_every_worker),
      cmocka_unit_test(test_planned_restart_hands_over_every_worker),
      cmocka_unit_test(test_worker_count_is_checked),
  };
  return cmocka_run_group_tests_name("server_workers", tests, nullptr, nullptr);
}
