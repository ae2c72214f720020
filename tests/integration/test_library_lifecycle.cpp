// The libraries in one process through their C APIs: a server and a client instance talk to
// each other; instances start and stop 200 times without leaking fds, threads or memory;
// bad configurations are refused with a message.
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <vector>

#include <atomic>
#include <cstring>
#include <string>

#include "../unit/cmocka_support.hpp"
#include "harness.hpp"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"

using harness::EchoServer;
using harness::UdpClient;

static const char* kKey = "library lifecycle key 0123456789";

struct Seen {
  std::atomic<int> started{0}, stopped{0}, sessions_up{0}, errors{0};
  std::atomic<int> port{0};
};

static udpserver_callbacks server_callbacks() {
  udpserver_callbacks cb{};
  cb.started = [](void* u, const char* address) {
    auto* s = static_cast<Seen*>(u);
    s->port = std::atoi(std::strrchr(address, ':') + 1);
    s->started++;
  };
  cb.stopped = [](void* u) { static_cast<Seen*>(u)->stopped++; };
  cb.error = [](void* u, const char*) { static_cast<Seen*>(u)->errors++; };
  cb.log = [](void*, int, const char*) {};
  return cb;
}

static udplocal_callbacks local_callbacks() {
  udplocal_callbacks cb{};
  cb.started = [](void* u, const char*, const char* address) {
    auto* s = static_cast<Seen*>(u);
    s->port = std::atoi(std::strrchr(address, ':') + 1);
    s->started++;
  };
  cb.session = [](void* u, const char*, int up, int) {
    if (up) static_cast<Seen*>(u)->sessions_up++;
  };
  cb.stopped = [](void* u) { static_cast<Seen*>(u)->stopped++; };
  cb.error = [](void* u, const char*) { static_cast<Seen*>(u)->errors++; };
  cb.log = [](void*, int, const char*) {};
  return cb;
}

static std::string server_json() {
  return std::string(R"({"listen":"127.0.0.1:0","psk":")") + kKey +
         R"(","allow_targets":["127.0.0.0/8"],"stats_interval_ms":100})";
}

static std::string local_json(int server_port, int target_port) {
  return std::string(R"({"server":"127.0.0.1:)") + std::to_string(server_port) + R"(","psk":")" +
         kKey + R"(","forward":"127.0.0.1:0=127.0.0.1:)" + std::to_string(target_port) +
         R"(","stats_interval_ms":100})";
}

static void test_server_and_client_in_one_process(void**) {
  EchoServer target;
  char err[256];
  Seen ss, ls;
  udpserver_t* server = udpserver_new(server_json().c_str(), err, sizeof err);
  assert_non_null(server);
  auto scb = server_callbacks();
  assert_int_equal(udpserver_start(server, &scb, &ss), 0);
  assert_true(harness::eventually([&] { return ss.started == 1; }, 3000));
  udplocal_t* local = udplocal_new(local_json(ss.port, target.port()).c_str(), err, sizeof err);
  assert_non_null(local);
  auto lcb = local_callbacks();
  assert_int_equal(udplocal_start(local, &lcb, &ls), 0);
  assert_true(harness::eventually([&] { return ls.started == 1 && ls.sessions_up == 1; }, 3000));
  UdpClient client;
  for (int i = 0; i < 20; ++i) {
    assert_true(client.echo(harness::loopback(AF_INET, static_cast<uint16_t>(ls.port.load())),
                            "in-process " + std::to_string(i), 2000));
  }
  // Stats arrive through the snapshot API from another thread.
  udplocal_stats st{};
  assert_true(harness::eventually(
      [&] {
        udplocal_get_stats(local, &st);
        return st.datagrams_up >= 20 && st.datagrams_down >= 20 && st.link_up == 1;
      },
      3000));
  udpserver_stats sst{};
  assert_true(harness::eventually(
      [&] {
        udpserver_get_stats(server, &sst);
        return sst.sessions == 1 && sst.flows == 1 && sst.datagrams_to_targets >= 20;
      },
      3000));
  udplocal_stop(local);
  udpserver_stop(server);
  udplocal_free(local);
  udpserver_free(server);
  assert_int_equal(ls.stopped, 1);
  assert_int_equal(ss.stopped, 1);
  assert_int_equal(ss.errors + ls.errors, 0);
}

static void cycle_once(int target_port) {
  char err[256];
  Seen ss, ls;
  udpserver_t* server = udpserver_new(server_json().c_str(), err, sizeof err);
  auto scb = server_callbacks();
  udpserver_start(server, &scb, &ss);
  harness::eventually([&] { return ss.started == 1; }, 3000);
  udplocal_t* local = udplocal_new(local_json(ss.port, target_port).c_str(), err, sizeof err);
  auto lcb = local_callbacks();
  udplocal_start(local, &lcb, &ls);
  harness::eventually([&] { return ls.sessions_up == 1; }, 3000);
  udplocal_stop(local);
  udplocal_free(local);
  udpserver_stop(server);
  udpserver_free(server);
}

static void test_start_stop_200_times_leaks_nothing(void**) {
  EchoServer target;
  for (int i = 0; i < 5; ++i) cycle_once(target.port());  // warm-up: allocator arenas, caches
  int fds_before = harness::count_open_fds();
  long rss_before = harness::resident_kib();
  for (int i = 0; i < 200; ++i) cycle_once(target.port());
  int fds_after = harness::count_open_fds();
  long rss_after = harness::resident_kib();
  std::fprintf(stderr, "    fds %d -> %d, RSS %ld -> %ld KiB over 200 cycles\n", fds_before,
               fds_after, rss_before, rss_after);
  // A server closes a gone client's connection a moment later: allow for that, never growth.
  assert_true(harness::eventually([&] { return harness::count_open_fds() <= fds_before; }, 3000));
  (void)fds_after;
  if (const char* why = harness::own_rss_unjudgeable()) {
    std::fprintf(stderr, "    (RSS not judged: %s)\n", why);
    return;
  }
  assert_true(rss_after - rss_before < 4096);
}

static void test_stop_before_start_and_run_on_caller_thread(void**) {
  char err[256];
  Seen ss;
  udpserver_t* server = udpserver_new(server_json().c_str(), err, sizeof err);
  udpserver_stop(server);  // before it runs: run returns at once
  auto scb = server_callbacks();
  assert_int_equal(udpserver_run(server, &scb, &ss), 0);
  assert_int_equal(ss.stopped, 1);
  udpserver_free(server);
}

static void test_bad_configurations_are_refused_with_a_message(void**) {
  struct {
    const char* json;
    const char* says;
  } server_cases[] = {
      {"{not json", "invalid JSON"},
      {"[]", "JSON object"},
      {R"({"psk":"0123456789abcdef"})", "\"listen\" is required"},
      {R"({"listen":"127.0.0.1:1","psk":"short"})", "at least 16"},
      {R"({"listen":"127.0.0.1:1","psk":"0123456789abcdef","lisen":1})",
       "unknown configuration key \"lisen\""},
      {R"({"listen":"127.0.0.1:1","psk":"0123456789abcdef","max_sessions":-1})",
       "\"max_sessions\""},
      {R"({"listen":"127.0.0.1:1","psk":"0123456789abcdef","allow_targets":["10.0.0.0/33"]})",
       "CIDR"},
      {R"({"listen":"host.example:1","psk":"0123456789abcdef"})", "IP address"},
      {R"({"listen":"127.0.0.1:1","psk_file":"/nonexistent/key"})",
       "key file: cannot read /nonexistent/key"},
  };
  for (auto& c : server_cases) {
    char err[256] = "";
    udpserver_t* s = udpserver_new(c.json, err, sizeof err);
    if (s || !std::strstr(err, c.says)) std::fprintf(stderr, "%s -> '%s'\n", c.json, err);
    assert_null(s);
    assert_non_null(std::strstr(err, c.says));
  }
  struct {
    const char* json;
    const char* says;
  } local_cases[] = {
      {R"({"psk":"0123456789abcdef","forward":"127.0.0.1:1=127.0.0.1:2"})",
       "\"server\" is required"},
      {R"({"server":"127.0.0.1:1","psk":"0123456789abcdef"})", "nothing to serve"},
      {R"({"server":"127.0.0.1:1","psk":"0123456789abcdef","forward":"127.0.0.1:1"})",
       "LISTEN_ADDR:PORT=TARGET"},
      {R"({"server":"127.0.0.1:1","psk":"0123456789abcdef","forward":"[::1:1=x:2"})",
       "missing ']'"},
      {R"({"server":"127.0.0.1:1","psk":"0123456789abcdef","socks5":"127.0.0.1:1","socks5_username":"u"})",
       "go together"},
  };
  for (auto& c : local_cases) {
    char err[256] = "";
    udplocal_t* l = udplocal_new(c.json, err, sizeof err);
    if (l || !std::strstr(err, c.says)) std::fprintf(stderr, "%s -> '%s'\n", c.json, err);
    assert_null(l);
    assert_non_null(std::strstr(err, c.says));
  }
}

static void test_listen_failure_reports_error(void**) {
  EchoServer occupant;  // holds a UDP port: the forward front cannot bind it
  char err[256];
  Seen ls;
  std::string json = std::string(R"({"server":"127.0.0.1:1","psk":")") + kKey +
                     R"(","forward":"127.0.0.1:)" + std::to_string(occupant.port()) +
                     R"(=127.0.0.1:9"})";
  udplocal_t* local = udplocal_new(json.c_str(), err, sizeof err);
  assert_non_null(local);
  auto lcb = local_callbacks();
  assert_true(udplocal_run(local, &lcb, &ls) < 0);
  assert_int_equal(ls.errors, 1);
  assert_int_equal(ls.stopped, 1);
  udplocal_free(local);
}

struct InProcessSeen : Seen {
  std::mutex m;
  std::vector<std::string> payloads;
  std::vector<std::string> sources, destinations;
};

static std::string sockaddr_text(const struct sockaddr* sa) {
  char ip[64] = "";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
  }
  return std::string(ip) + ":" + std::to_string(port);
}

static void test_in_process_datagram_path(void**) {
  EchoServer target;
  char err[256];
  Seen ss;
  udpserver_t* server = udpserver_new(server_json().c_str(), err, sizeof err);
  auto scb = server_callbacks();
  assert_int_equal(udpserver_start(server, &scb, &ss), 0);
  assert_true(harness::eventually([&] { return ss.started == 1; }, 3000));
  std::string json = std::string(R"({"server":"127.0.0.1:)") + std::to_string(ss.port) +
                     R"(","psk":")" + kKey + R"(","in_process":true})";
  udplocal_t* local = udplocal_new(json.c_str(), err, sizeof err);
  if (!local) std::fprintf(stderr, "%s\n", err);
  assert_non_null(local);
  InProcessSeen ls;
  auto lcb = local_callbacks();
  lcb.datagram = [](void* u, const struct sockaddr* src, const struct sockaddr* dst,
                    const uint8_t* data, size_t len) {
    auto* s = static_cast<InProcessSeen*>(u);
    std::lock_guard<std::mutex> lock(s->m);
    s->payloads.emplace_back(reinterpret_cast<const char*>(data), len);
    s->sources.push_back(sockaddr_text(src));
    s->destinations.push_back(sockaddr_text(dst));
  };
  assert_int_equal(udplocal_start(local, &lcb, &ls), 0);
  assert_true(harness::eventually([&] { return ls.sessions_up == 1; }, 3000));
  // The application's address need not exist anywhere: it is only a label for the replies.
  sockaddr_in app{};
  app.sin_family = AF_INET;
  app.sin_port = htons(4321);
  inet_pton(AF_INET, "10.9.8.7", &app.sin_addr);
  sockaddr_storage dst = harness::loopback(AF_INET, target.port());
  for (int i = 0; i < 10; ++i) {
    std::string msg = "inproc " + std::to_string(i);
    assert_int_equal(
        udplocal_submit(local, reinterpret_cast<sockaddr*>(&app), reinterpret_cast<sockaddr*>(&dst),
                        reinterpret_cast<const uint8_t*>(msg.data()), msg.size()),
        0);
  }
  assert_true(harness::eventually(
      [&] {
        std::lock_guard<std::mutex> lock(ls.m);
        return ls.payloads.size() == 10;
      },
      3000));
  {
    std::lock_guard<std::mutex> lock(ls.m);
    for (size_t i = 0; i < 10; ++i) {
      assert_string_equal(ls.payloads[i].c_str(), ("inproc " + std::to_string(i)).c_str());
      assert_string_equal(ls.sources[i].c_str(),
                          ("127.0.0.1:" + std::to_string(target.port())).c_str());
      assert_string_equal(ls.destinations[i].c_str(), "10.9.8.7:4321");
    }
  }
  assert_int_equal(udplocal_submit(local, nullptr, reinterpret_cast<sockaddr*>(&dst), nullptr, 0),
                   -EINVAL);
  udplocal_stop(local);
  udplocal_free(local);
  udpserver_stop(server);
  udpserver_free(server);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_and_client_in_one_process),
      cmocka_unit_test(test_start_stop_200_times_leaks_nothing),
      cmocka_unit_test(test_stop_before_start_and_run_on_caller_thread),
      cmocka_unit_test(test_bad_configurations_are_refused_with_a_message),
      cmocka_unit_test(test_listen_failure_reports_error),
      cmocka_unit_test(test_in_process_datagram_path),
  };
  return cmocka_run_group_tests_name("library_lifecycle", tests, nullptr, nullptr);
}
