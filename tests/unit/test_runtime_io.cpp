// runtime/'s I/O pieces on a loop the test drives itself (uv_run step by step, a deadline
// instead of sleeps): TcpStream between two ends over loopback (connect, data, the bounded
// output queue, close after flush, EOF), UdpSocket (send, queued batches leaving at the end
// of the iteration, the sender's address), EventLoop::post from another thread, and
// ConfigReader's refusals.
#include <uv.h>
#include "udptun/protocol/socket_api.hpp"

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "loop_driver.hpp"
#include "udptun/runtime/config_reader.hpp"
#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/tcp_stream.hpp"
#include "udptun/runtime/udp_socket.hpp"
// Last: cmocka defines a fail() macro that the headers above must not see.
#include "cmocka_support.hpp"

using namespace udptun::runtime;
using udptun::protocol::ByteView;
using udptun::test::run_until;

namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

struct Recorder : TcpStream::Events {
  std::string data;
  std::string closed;  // the reason, once closed
  int connected = 1;   // 1: not yet
  bool drained = false;
  void on_stream_data(ByteView d) override {
    data.append(reinterpret_cast<const char*>(d.data), d.size);
  }
  void on_stream_closed(const char* reason) override { closed = reason ? reason : "?"; }
  void on_stream_connected(int status) override { connected = status; }
  void on_stream_drained() override { drained = true; }
};

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

static void test_tcp_stream_both_ends(void**) {
  EventLoop loop;
  // A listener of the test's own; the accepted connection becomes a TcpStream.
  struct Listener {
    uv_tcp_t tcp;
    EventLoop* loop;
    Recorder events;
    std::unique_ptr<TcpStream> accepted;
  } server{};
  server.loop = &loop;
  uv_tcp_init(loop.get(), &server.tcp);
  server.tcp.data = &server;
  sockaddr_in any = loopback(0);
  assert_int_equal(uv_tcp_bind(&server.tcp, reinterpret_cast<sockaddr*>(&any), 0), 0);
  assert_int_equal(uv_listen(reinterpret_cast<uv_stream_t*>(&server.tcp), 8,
                             [](uv_stream_t* l, int) {
                               auto* s = static_cast<Listener*>(l->data);
                               s->accepted =
                                   std::make_unique<TcpStream>(*s->loop, s->events, 1 << 20);
                               s->accepted->accept_from(l);
                               s->accepted->start_reading();
                             }),
                   0);
  sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&server.tcp, reinterpret_cast<sockaddr*>(&bound), &len);
  sockaddr_in to = loopback(ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));

  Recorder client_events;
  TcpStream client(loop, client_events, 100);  // a 100-byte output queue
  assert_int_equal(client.connect(reinterpret_cast<sockaddr*>(&to)), 0);
  assert_true(run_until(loop, [&] { return client_events.connected != 1 && server.accepted; }));
  assert_int_equal(client_events.connected, 0);
  assert_int_equal(client.start_reading(), 0);
  assert_true(client.peer_address().has_value());

  // The queue is bounded: what does not fit is refused (the caller drops), unless essential.
  std::string sixty(60, 'a');
  assert_true(client.write(view(sixty)));
  assert_false(client.write(view(sixty)));
  assert_int_equal(client.queued_bytes(), 60);
  assert_true(client.write(view("!"), /*essential=*/true));
  assert_true(run_until(loop, [&] { return server.events.data.size() == 61; }));
  assert_string_equal(server.events.data.c_str(), (sixty + "!").c_str());
  assert_true(client_events.drained);
  assert_int_equal(client.queued_bytes(), 0);

  // The other way, then close after flush: the bytes arrive, then EOF.
  assert_true(server.accepted->write(view("reply")));
  server.accepted->close_after_flush();
  assert_true(run_until(loop, [&] { return !client_events.closed.empty(); }));
  assert_string_equal(client_events.data.c_str(), "reply");
  assert_false(client.is_open());
  assert_false(client.write(view("late")));  // a closed stream takes nothing

  uv_close(reinterpret_cast<uv_handle_t*>(&server.tcp), nullptr);
  server.accepted.reset();
  uv_run(loop.get(), UV_RUN_NOWAIT);
}

static void test_udp_sockets_and_batches(void**) {
  EventLoop loop;
  struct Inbox : UdpSocket::Events {
    std::vector<std::string> got;
    uint16_t from_port = 0;
    void on_datagram(ByteView p, const sockaddr* from) override {
      got.emplace_back(reinterpret_cast<const char*>(p.data), p.size);
      from_port = ntohs(reinterpret_cast<const sockaddr_in*>(from)->sin_port);
    }
  } a_in, b_in;
  UdpSocket a(loop, a_in), b(loop, b_in);
  sockaddr_in any = loopback(0);
  assert_int_equal(a.open(reinterpret_cast<sockaddr*>(&any)), 0);
  assert_int_equal(b.open(reinterpret_cast<sockaddr*>(&any)), 0);
  sockaddr_storage a_addr, b_addr;
  assert_int_equal(a.local_address(&a_addr), 0);
  assert_int_equal(b.local_address(&b_addr), 0);
  uint16_t a_port = ntohs(reinterpret_cast<sockaddr_in*>(&a_addr)->sin_port);

  assert_int_equal(a.send(view("one"), reinterpret_cast<sockaddr*>(&b_addr)), 0);
  assert_int_equal(a.send(view("tw"), view("o"), reinterpret_cast<sockaddr*>(&b_addr)), 0);
  assert_true(run_until(loop, [&] { return b_in.got.size() == 2; }));
  assert_string_equal(b_in.got[0].c_str(), "one");
  assert_string_equal(b_in.got[1].c_str(), "two");
  assert_int_equal(b_in.from_port, a_port);

  // Queued datagrams leave together at the end of the iteration, in order, whole.
  for (int i = 0; i < 10; ++i) {
    std::string n = std::to_string(i);
    b.queue(view("q"), view(n), reinterpret_cast<sockaddr*>(&a_addr));
  }
  assert_true(a_in.got.empty());
  assert_true(run_until(loop, [&] { return a_in.got.size() == 10; }));
  for (int i = 0; i < 10; ++i)
    assert_string_equal(a_in.got[i].c_str(), ("q" + std::to_string(i)).c_str());
  a.close();
  b.close();
  uv_run(loop.get(), UV_RUN_NOWAIT);
}

static void test_post_runs_on_the_loop_thread(void**) {
  EventLoop loop;
  std::thread::id ran_on;
  int runs = 0;
  std::thread other([&] {
    assert_true(loop.post([&] {
      ran_on = std::this_thread::get_id();
      ++runs;
    }));
  });
  other.join();
  assert_true(run_until(loop, [&] { return runs == 1; }));
  assert_true(ran_on == std::this_thread::get_id());
  loop.request_stop();
  assert_false(loop.post([&] { ++runs; }));  // stopping: refused, never run
  uv_run(loop.get(), UV_RUN_NOWAIT);
  assert_int_equal(runs, 1);
}

static void test_config_reader_refusals(void**) {
  {
    ConfigReader r(R"({"listen":"127.0.0.1:7001","n":5,"flag":true,"list":["a","b"],"typo":1})");
    std::string s;
    uint64_t n = 0;
    bool flag = false;
    std::vector<std::string> list;
    std::optional<udptun::protocol::Address> endpoint;
    assert_true(r.get_string("missing", s));  // absent: untouched, fine
    assert_true(r.get_uint("n", 1, 10, n) && n == 5);
    assert_true(r.get_bool("flag", flag) && flag);
    assert_true(r.get_strings("list", list) && list.size() == 2);
    assert_true(r.get_ip_endpoint("listen", endpoint) && endpoint.has_value());
    assert_false(r.no_unknown_keys());
    assert_true(r.error().find("typo") != std::string::npos);
  }
  {
    ConfigReader r(R"({"n":50})");
    uint64_t n = 0;
    assert_false(r.get_uint("n", 1, 10, n));
    assert_true(r.error().find("\"n\"") != std::string::npos);
  }
  {
    ConfigReader r(R"({"listen":"example.com:80"})");
    std::optional<udptun::protocol::Address> endpoint;
    assert_false(r.get_ip_endpoint("listen", endpoint));
    assert_true(r.error().find("listen") != std::string::npos);
    assert_false(endpoint.has_value());
  }
  {
    ConfigReader r(R"({"s":5})");
    std::string s;
    assert_false(r.get_string("s", s));
    assert_true(r.error().find("must be a string") != std::string::npos);
  }
  assert_false(ConfigReader("[1,2]").ok());
  assert_false(ConfigReader("{bad json").ok());
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp_stream_both_ends),
      cmocka_unit_test(test_udp_sockets_and_batches),
      cmocka_unit_test(test_post_runs_on_the_loop_thread),
      cmocka_unit_test(test_config_reader_refusals),
  };
  return cmocka_run_group_tests_name("runtime_io", tests, nullptr, nullptr);
}
