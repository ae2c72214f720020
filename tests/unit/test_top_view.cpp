// udptunctl top's screen without a terminal: rates from two status replies, each kind of
// service's columns, drops by reason, and a screen that never passes 80 columns.
#include <cJSON.h>

#include <string>
#include <vector>

#include "top_view.hpp"
// Last: cmocka defines macros the headers above must not see.
#include "cmocka_support.hpp"

using udptun::ctl::compact_number;
using udptun::ctl::TopView;

namespace {

cJSON* status(const std::string& services, const std::string& routing = "null") {
  std::string text =
      "{\"statusCode\":0,\"result\":{\"services\":[" + services + "],\"routing\":" + routing + "}}";
  cJSON* j = cJSON_Parse(text.c_str());
  assert_non_null(j);
  return j;
}

std::string row_of(const std::vector<std::string>& screen, const std::string& name) {
  for (const auto& l : screen) {
    if (l.rfind(name + " ", 0) == 0) return l;
  }
  return "";
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

static void test_rates_come_from_two_updates(void**) {
  TopView v;
  const char* local1 =
      R"({"name":"udp-local","state":"running","stats":{"link_up":1,"rtt_us":250,"flows":3,)"
      R"("datagrams_up":100,"datagrams_down":50,"bytes_up":10000,"bytes_down":5000}})";
  const char* local2 =
      R"({"name":"udp-local","state":"running","stats":{"link_up":1,"rtt_us":250,"flows":3,)"
      R"("datagrams_up":300,"datagrams_down":150,"bytes_up":50000,"bytes_down":25000,)"
      R"("drops_queue_full":7}})";
  cJSON* a = status(local1);
  v.update(a, 10.0);
  cJSON_Delete(a);
  auto f = fields(row_of(v.screen("01:02:03"), "udp-local"));
  assert_int_equal(f.size(), 10);
  assert_string_equal(f[5].c_str(), "-");  // no rate from one update
  cJSON* b = status(local2, R"({"tun":"udptun0","connectionStatus":0})");
  v.update(b, 12.0);
  cJSON_Delete(b);
  std::vector<std::string> screen = v.screen("01:02:05");
  assert_true(screen[0].find("01:02:05") != std::string::npos);
  assert_true(screen[0].find("routing: via udptun0, connected") != std::string::npos);
  f = fields(row_of(screen, "udp-local"));
  assert_string_equal(f[1].c_str(), "running");
  assert_string_equal(f[2].c_str(), "up");
  assert_string_equal(f[3].c_str(), "0.2ms");
  assert_string_equal(f[4].c_str(), "3");
  assert_string_equal(f[5].c_str(), "100");    // (300-100)/2 s
  assert_string_equal(f[6].c_str(), "50");     // (150-50)/2
  assert_string_equal(f[7].c_str(), "20.0K");  // (50000-10000)/2 bytes a second
  assert_string_equal(f[9].c_str(), "4");      // 7 drops in 2 s
}

static void test_each_kind_and_drops_by_reason(void**) {
  TopView v;
  cJSON* s = status(
      R"({"name":"udp-server","state":"running","stats":{"sessions":3,"sessions_attached":2,)"
      R"("flows":9,"datagrams_to_targets":1,"drops_amplification":4,"drops_filtered":2}},)"
      R"({"name":"tun2socks-with-a-very-long-name","state":"restarting","stats":{"packets_in":5,)"
      R"("udp_tunnel_up":0,"udp_flows":2,"tcp_connections":3,"udp_dropped":1}},)"
      R"({"name":"ss-local","state":"stopped"})");
  v.update(s, 1.0);
  cJSON_Delete(s);
  std::vector<std::string> screen = v.screen("00:00:00");
  auto server = fields(row_of(screen, "udp-server"));
  assert_string_equal(server[2].c_str(), "2");  // attached sessions
  assert_string_equal(server[3].c_str(), "-");  // a server has no link of its own
  assert_string_equal(server[4].c_str(), "9");
  auto t2s = fields(row_of(screen, "tun2socks-wi"));  // names are cut to their column
  assert_string_equal(t2s[1].c_str(), "restarting");
  assert_string_equal(t2s[4].c_str(), "5");  // UDP flows + TCP connections
  auto ss = fields(row_of(screen, "ss-local"));
  assert_string_equal(ss[2].c_str(), "-");
  bool drops_line = false;
  for (const auto& l : screen) {
    if (l == "  udp-server: amplification 4 filtered 2") drops_line = true;
    assert_true(l.size() <= 80);
  }
  assert_true(drops_line);
}

static void test_compact_numbers_fit_six_columns(void**) {
  assert_string_equal(compact_number(0).c_str(), "0");
  assert_string_equal(compact_number(9999).c_str(), "9999");
  assert_string_equal(compact_number(12345).c_str(), "12.3K");
  assert_string_equal(compact_number(999'949).c_str(), "999.9K");
  assert_string_equal(compact_number(999'950).c_str(), "1.0M");
  assert_string_equal(compact_number(123'456'789).c_str(), "123.5M");
  assert_string_equal(compact_number(5e15).c_str(), "5000T");
  assert_string_equal(compact_number(-5).c_str(), "0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rates_come_from_two_updates),
      cmocka_unit_test(test_each_kind_and_drops_by_reason),
      cmocka_unit_test(test_compact_numbers_fit_six_columns),
  };
  return cmocka_run_group_tests_name("top_view", tests, nullptr, nullptr);
}
