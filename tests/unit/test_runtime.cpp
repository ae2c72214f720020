// runtime/ below the daemons, without processes or sleeps: rate limits and backoff (pure,
// the clock passed in), descriptor passing over a socketpair, and TLS sessions talking to each
// other in memory (certificates made by openssl, as the integration tests make them), and the
// event loop's report of handles its owners left open.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "udptun/protocol/socket_api.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cmocka_support.hpp"
#include "harness.hpp"
#include "udptun/runtime/backoff.hpp"
#include "udptun/runtime/descriptor_passing.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/mailbox.hpp"
#include "udptun/runtime/tls.hpp"
#include "udptun/runtime/token_bucket.hpp"

using namespace udptun::runtime;
using udptun::protocol::ByteView;

static void test_rate_limit(void**) {
  RateLimit unlimited;
  for (int i = 0; i < 1000; ++i) assert_true(unlimited.admit(65'000, 0));
  RateLimit packets(10, 0);  // 10 a second, a burst of 10
  int passed = 0;
  for (int i = 0; i < 30; ++i) passed += packets.admit(100, 1'000);
  assert_int_equal(passed, 10);
  assert_false(packets.admit(100, 1'050));  // half a token back
  assert_true(packets.admit(100, 1'100));   // one token back
  RateLimit bytes(0, 1'000);                // the burst still holds one maximal datagram
  assert_true(bytes.admit(60'000, 5'000));
  assert_false(bytes.admit(6'000, 5'000));        // 5,535 left of the 65,535 burst
  assert_true(bytes.admit(500, 5'000 + 61'000));  // 61 s later
}

static void test_backoff_grows_to_its_cap_and_resets(void**) {
  ExponentialBackoff b(100, 1'000);
  uint64_t d1 = b.next_delay_ms(), d2 = b.next_delay_ms();
  assert_true(d1 >= 75 && d1 <= 125);
  assert_true(d2 >= 150 && d2 <= 250);
  for (int i = 0; i < 10; ++i) assert_true(b.next_delay_ms() <= 1'250);
  b.reset();
  assert_true(b.next_delay_ms() <= 125);
}

// 300 descriptors (more than one SCM_RIGHTS message holds) and a body, both whole at the far
// end; each received descriptor is the same open file as the one sent.
static void test_descriptor_passing(void**) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::vector<int> read_ends, write_ends;
  for (int i = 0; i < 300; ++i) {
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    read_ends.push_back(p[0]);
    write_ends.push_back(p[1]);
  }
  std::string body(100'000, 'b');
  // The sender blocks until the receiver reads: both sides in this thread, so the socket
  // buffers must hold it all (they do for this size).
  int big = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  assert_true(send_package(sv[0], body, write_ends, 2'000).ok());
  std::string got;
  std::vector<int> fds;
  assert_true(receive_package(sv[1], got, fds, 1 << 20, 1'000, 2'000).ok());
  assert_true(got == body);
  assert_int_equal(fds.size(), 300);
  for (size_t i = 0; i < fds.size(); i += 37) {
    char c = static_cast<char>('a' + i % 26), back = 0;
    assert_int_equal(write(fds[i], &c, 1), 1);
    assert_int_equal(read(read_ends[i], &back, 1), 1);
    assert_int_equal(back, c);
  }
  // Over the receiver's limit: refused, and nothing it received is left open.
  assert_true(send_package(sv[0], "x", {write_ends[0], write_ends[1], write_ends[2]}, 2'000).ok());
  std::vector<int> few;
  udptun::Status refused = receive_package(sv[1], got, few, 100, 2, 500);
  assert_false(refused.ok());
  assert_non_null(std::strstr(refused.message().c_str(), "larger than allowed"));
  assert_true(few.empty());
  for (int fd : fds) close(fd);
  for (int fd : read_ends) close(fd);
  for (int fd : write_ends) close(fd);
  close(sv[0]);
  close(sv[1]);
}

// Shuttles records between a client and a server session until neither has more to say.
static bool handshake(TlsSession& client, TlsSession& server, std::string& error) {
  std::vector<uint8_t> to_server, to_client, plain;
  if (client.start(to_server, error) != TlsSession::Status::ok) return false;
  for (int round = 0; round < 20 && !(client.established() && server.established()); ++round) {
    std::vector<uint8_t> out;
    if (!to_server.empty() &&
        server.receive(ByteView(to_server), out, plain, error) != TlsSession::Status::ok)
      return false;
    to_server.clear();
    to_client.insert(to_client.end(), out.begin(), out.end());
    out.clear();
    if (!to_client.empty() &&
        client.receive(ByteView(to_client), out, plain, error) != TlsSession::Status::ok)
      return false;
    to_client.clear();
    to_server.insert(to_server.end(), out.begin(), out.end());
  }
  return client.established() && server.established();
}

static void test_tls_sessions_in_memory(void**) {
  harness::TempDir dir;
  harness::Certificate c = harness::make_certificate(dir.path(), "unit.test");
  assert_false(c.pin.empty());
  std::string error;
  auto server_ctx = TlsContext::server({c.cert, c.key});
  assert_true(server_ctx.ok());
  auto client_ctx = TlsContext::client({c.pin, "", ""});
  assert_true(client_ctx.ok());
  TlsSession client(*client_ctx.value()), server(*server_ctx.value());
  assert_true(handshake(client, server, error));
  // 100 KB one way, in records, back to the same bytes.
  std::string message(100'000, '\0');
  for (size_t i = 0; i < message.size(); ++i) message[i] = static_cast<char>(i * 7);
  std::vector<uint8_t> records, out, plain;
  assert_true(
      client.send(ByteView(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
                  records, error) == TlsSession::Status::ok);
  assert_true(records.size() > message.size());
  assert_null(memmem(records.data(), records.size(), message.data() + 1000, 64));  // not in clear
  assert_true(server.receive(ByteView(records), out, plain, error) == TlsSession::Status::ok);
  assert_true(std::string(plain.begin(), plain.end()) == message);
  // Another certificate's pin: the handshake fails, saying why.
  harness::Certificate other = harness::make_certificate(dir.path(), "other.test");
  auto wrong_ctx = TlsContext::client({other.pin, "", ""});
  assert_true(wrong_ctx.ok());
  TlsSession wrong(*wrong_ctx.value()), server2(*server_ctx.value());
  assert_false(handshake(wrong, server2, error));
  assert_non_null(std::strstr(error.c_str(), "not the one expected"));
  // Bad options are refused up front.
  auto bad_pin = TlsContext::client({"12ab", "", ""});
  assert_false(bad_pin.ok());
  assert_non_null(std::strstr(bad_pin.message().c_str(), "SHA-256"));
  assert_false(TlsContext::client({"", "", ""}).ok());
  auto no_cert = TlsContext::server({dir.path() + "/none.pem", c.key});
  assert_false(no_cert.ok());
  assert_non_null(std::strstr(no_cert.message().c_str(), "none.pem"));
}

// Runs `body` in a child process (then exits it with 0): how the child ended, and what it wrote
// to stderr. What is tested here is often an abort.
struct ChildOutcome {
  int status = 0;
  std::string said;
};
static ChildOutcome in_child(const std::function<void()>& body) {
  int err[2];
  assert_int_equal(pipe(err), 0);
  pid_t child = fork();
  if (child == 0) {
    dup2(err[1], 2);
    body();
    _exit(0);
  }
  close(err[1]);
  ChildOutcome out;
  char buf[512];
  ssize_t n;
  while ((n = read(err[0], buf, sizeof buf)) > 0) out.said.append(buf, static_cast<size_t>(n));
  close(err[0]);
  assert_int_equal(waitpid(child, &out.status, 0), child);
  return out;
}

// An owner that leaves a libuv handle open when its loop goes: the loop closes it, says so on
// stderr, and in a debug build (the ASan tests') aborts, so such a leak fails the tests that
// caused it. Run in a child: the abort is what is tested.
static void test_event_loop_reports_handles_left_open(void**) {
  ChildOutcome child = in_child([] {
    EventLoop loop;
    auto* timer = new uv_timer_t;  // freed by nobody: the leak under test
    uv_timer_init(loop.get(), timer);
  });
  assert_non_null(std::strstr(child.said.c_str(), "1 handle(s) its owners left open: timer"));
#ifdef NDEBUG
  assert_true(WIFEXITED(child.status) && WEXITSTATUS(child.status) == 0);
#else
  assert_true(WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGABRT);
#endif
}

// Which thread may touch a loop's handles (UDPTUN_ASSERT_LOOP_THREAD in debug builds): any
// while the loop does not run, then only the thread running it.
static void test_loop_thread_is_known(void**) {
  EventLoop loop;
  assert_true(loop.on_loop_thread());  // not running: set-up
  std::atomic<int> inside{-1}, outside{-1};
  assert_int_equal(loop.start_thread([&] {
    assert_true(loop.post([&] { inside = loop.on_loop_thread() ? 1 : 0; }));
    loop.run([] {});
  }),
                   0);
  for (int i = 0; i < 200 && inside < 0; ++i) usleep(5'000);
  outside = loop.on_loop_thread() ? 1 : 0;
  loop.request_stop();
  loop.join();
  assert_int_equal(inside.load(), 1);
  assert_int_equal(outside.load(), 0);  // this thread, while another runs it
  assert_true(loop.on_loop_thread());   // stopped: tear-down
}

// A mailbox closed from another thread while its loop runs: debug builds abort and say where
// (release builds leave the check out: there the test has nothing to see).
static void test_mailbox_checks_its_thread(void**) {
#ifdef NDEBUG
  harness::report_skip("thread checks are debug builds' (the ASan tests run them)");
  skip();
#else
  ChildOutcome child = in_child([] {
    EventLoop loop;
    Mailbox<std::vector<int> > box;
    std::atomic<bool> running{false};
    loop.start_thread([&] {
      box.open(loop, [](std::vector<int>&) {});
      loop.post([&] { running = true; });
      loop.run([&] { box.close(); });
    });
    for (int i = 0; i < 400 && !running; ++i) usleep(5'000);
    box.close();  // not the loop's thread: aborts here
  });
  assert_true(WIFSIGNALED(child.status) && WTERMSIG(child.status) == SIGABRT);
  assert_non_null(std::strstr(child.said.c_str(), "mailbox.hpp"));
  assert_non_null(std::strstr(child.said.c_str(), "touched from another thread"));
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_backoff_grows_to_its_cap_and_resets),
      cmocka_unit_test(test_descriptor_passing),
      cmocka_unit_test(test_tls_sessions_in_memory),
      cmocka_unit_test(test_event_loop_reports_handles_left_open),
      cmocka_unit_test(test_loop_thread_is_known),
      cmocka_unit_test(test_mailbox_checks_its_thread),
  };
  return cmocka_run_group_tests_name("runtime", tests, nullptr, nullptr);
}
