// The libraries' lifecycle through their C APIs alone, on every platform (Linux, and Windows
// under Wine): instances start, bring a tunnel up and stop 200 times without leaking
// descriptors/handles or memory; stop before start; bad configurations are refused with a
// message.
#include <cstdio>
#include <cstring>
#include <string>

#include "../unit/cmocka_support.hpp"
#include "library_fixture.hpp"
#include "portable_harness.hpp"

// No datagram is sent: the forward target only has to be a valid address.
constexpr int kUnusedTarget = 9;

// One instance pair's whole life: started, the tunnel up between them, stopped, freed.
static void cycle_once() {
  TunnelPair(kUnusedTarget).stop();
}

static void test_start_stop_200_times_leaks_nothing(void**) {
  // A step takes milliseconds: a minute means a hang, named before the test's timeout.
  harness::Watchdog watchdog("start/stop cycles", 60'000);
  for (int i = 0; i < 5; ++i) cycle_once();  // warm-up: allocator arenas, caches
  int handles_before = harness::own_open_handles();
  long rss_before = harness::own_resident_kib();
  for (int i = 0; i < 200; ++i) cycle_once();
  long rss_after = harness::own_resident_kib();
  std::fprintf(stderr, "    descriptors/handles %d -> %d, RSS %ld -> %ld KiB over 200 cycles\n",
               handles_before, harness::own_open_handles(), rss_before, rss_after);
  if (handles_before < 0) {
    harness::report_skip("handle leak check: this platform does not count a process's handles");
  } else {
    // A server closes a gone client's connection a moment later: allow for that, never growth.
    assert_true(
        harness::eventually([&] { return harness::own_open_handles() <= handles_before; }, 3000));
  }
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_start_stop_200_times_leaks_nothing),
      cmocka_unit_test(test_stop_before_start_and_run_on_caller_thread),
      cmocka_unit_test(test_bad_configurations_are_refused_with_a_message),
  };
  return cmocka_run_group_tests_name("library_cycles", tests, nullptr, nullptr);
}
