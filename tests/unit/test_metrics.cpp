// Prometheus metrics below the daemons: the text format (families, HELP/TYPE once, labels,
// escaping, histograms, stats objects through the naming tables) and the /metrics endpoint
// on a loop of its own, against well-behaved and hostile scrapers over loopback.
#include <sys/time.h>
#include <unistd.h>
#include "udptun/protocol/socket_api.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "udptun/runtime/event_loop.hpp"
#include "udptun/runtime/log.hpp"
#include "udptun/runtime/metric_names.hpp"
#include "udptun/runtime/metrics_endpoint.hpp"
#include "udptun/runtime/prometheus_text.hpp"
// Last: cmocka defines a fail() macro that the headers above must not see.
#include "cmocka_support.hpp"

using namespace udptun::runtime;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

// An endpoint serving on its own loop thread; stopped and joined by the destructor.
class ServedEndpoint {
 public:
  explicit ServedEndpoint(MetricsEndpoint::Limits limits) {
    std::promise<std::string> bound;
    auto address = bound.get_future();
    loop_.start_thread([this, limits, &bound] {
      endpoint_ = std::make_unique<MetricsEndpoint>(
          loop_, log_,
          [this] { return "udptun_renders_total " + std::to_string(++renders_) + "\n"; }, limits);
      udptun::protocol::Address any = *udptun::protocol::parse_address_text("127.0.0.1:0").address;
      bound.set_value(endpoint_->listen(any).ok() ? endpoint_->bound_address() : "");
      loop_.run([this] {
        scrapes_ = endpoint_->scrapes();
        refused_ = endpoint_->refused();
        endpoint_.reset();
      });
    });
    std::string a = address.get();
    port_ = static_cast<uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
  ~ServedEndpoint() { stop(); }
  void stop() {
    loop_.request_stop();
    loop_.join();
  }
  uint16_t port() const { return port_; }
  uint64_t scrapes() const { return scrapes_; }
  uint64_t refused() const { return refused_; }

 private:
  EventLoop loop_;
  Logger log_;
  std::unique_ptr<MetricsEndpoint> endpoint_;
  int renders_ = 0;
  uint16_t port_ = 0;
  uint64_t scrapes_ = 0, refused_ = 0;
};

int connect_to(uint16_t port, const char* from = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (from) {  // another loopback address, as another host would be
    sockaddr_in me{};
    me.sin_family = AF_INET;
    inet_pton(AF_INET, from, &me.sin_addr);
    assert_int_equal(bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me), 0);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_int_equal(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Everything the server sends until it closes (or 3 s pass).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string exchange(uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply = read_all(fd);
  close(fd);
  return reply;
}

}  // namespace

static void test_families_have_help_and_type_once(void**) {
  PrometheusText t("service=\"tun\\\"2\"");
  t.add("datagrams_total", MetricType::counter, "Datagrams.", "direction=\"up\"", 5);
  t.add("flows", MetricType::gauge, "Flows now.", "", 2);
  t.add("datagrams_total", MetricType::counter, "", "direction=\"down\"", 7);
  std::string s = t.text();
  assert_string_equal(s.c_str(),
                      "# HELP udptun_datagrams_total Datagrams.\n"
                      "# TYPE udptun_datagrams_total counter\n"
                      "udptun_datagrams_total{service=\"tun\\\"2\",direction=\"up\"} 5\n"
                      "udptun_datagrams_total{service=\"tun\\\"2\",direction=\"down\"} 7\n"
                      "# HELP udptun_flows Flows now.\n"
                      "# TYPE udptun_flows gauge\n"
                      "udptun_flows{service=\"tun\\\"2\"} 2\n");
  assert_string_equal(prometheus_label_value("a\\b\"c\nd").c_str(), "a\\\\b\\\"c\\nd");
}

static void test_histogram_buckets_are_cumulative(void**) {
  Histogram h({0.001, 0.01, 0.1});
  for (double v : {0.0005, 0.002, 0.003, 0.5}) h.observe(v);
  PrometheusText t;
  t.add_histogram("link_rtt_seconds", "Round trips.", "", h);
  std::string s = t.text();
  assert_true(contains(s, "# TYPE udptun_link_rtt_seconds histogram\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_bucket{le=\"0.001\"} 1\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_bucket{le=\"0.01\"} 3\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_bucket{le=\"0.1\"} 3\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_bucket{le=\"+Inf\"} 4\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_sum 0.5055\n"));
  assert_true(contains(s, "udptun_link_rtt_seconds_count 4\n"));
}

static void test_stats_objects_get_conventional_names(void**) {
  PrometheusText t;
  assert_true(
      t.add_stats("{\"link_up\":1,\"datagrams_up\":10,\"datagrams_down\":4,"
                  "\"drops_queue_full\":3,\"rtt_us\":1500,\"something_new\":9}",
                  local_metric_rules(), "component=\"udp-local\""));
  std::string s = t.text();
  assert_true(
      contains(s, "# TYPE udptun_link_up gauge\nudptun_link_up{component=\"udp-local\"} 1\n"));
  assert_true(contains(s, "udptun_datagrams_total{component=\"udp-local\",direction=\"up\"} 10\n"));
  assert_true(contains(s, "udptun_drops_total{component=\"udp-local\",reason=\"queue_full\"} 3\n"));
  assert_true(contains(s, "udptun_link_rtt_last_seconds{component=\"udp-local\"} 0.0015\n"));
  // A key no table names yet still shows, as a counter.
  assert_true(contains(s, "# TYPE udptun_something_new_total counter\n"));
  assert_int_equal(count_of(s, "# HELP udptun_datagrams_total "), 1);
  assert_false(t.add_stats("not json", local_metric_rules()));
  assert_false(t.add_stats("[1]", local_metric_rules()));
  // Each component's stats are told apart by a key only it has.
  assert_ptr_equal(&metric_rules_for_stats("{\"packets_in\":1}"), &tun2socks_metric_rules());
  assert_ptr_equal(&metric_rules_for_stats("{\"sessions_attached\":1}"), &server_metric_rules());
  assert_ptr_equal(&metric_rules_for_stats("{\"link_up\":1}"), &local_metric_rules());
}

static void test_endpoint_answers_get_metrics_and_nothing_else(void**) {
  ServedEndpoint served({});
  std::string reply = exchange(served.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_true(contains(reply, "HTTP/1.1 200 OK\r\n"));
  assert_true(contains(reply, "Content-Type: text/plain; version=0.0.4"));
  assert_true(contains(reply, "\r\n\r\nudptun_renders_total 1\n"));
  // Rendered again for every scrape: the counters as they are now.
  assert_true(contains(exchange(served.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
                       "udptun_renders_total 2\n"));
  assert_true(contains(exchange(served.port(), "GET / HTTP/1.1\r\n\r\n"), "404 Not Found"));
  assert_true(contains(exchange(served.port(), "POST /metrics HTTP/1.1\r\n\r\n"), "405"));
  assert_true(contains(exchange(served.port(), "garbage\r\n\r\n"), "400 Bad Request"));
  std::string head = exchange(served.port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  assert_true(contains(head, "200 OK") && !contains(head, "udptun_renders_total"));
  served.stop();
  assert_int_equal(served.scrapes(), 3);
  assert_int_equal(served.refused(), 3);
}

static void test_hostile_scrapers_are_cut_off(void**) {
  MetricsEndpoint::Limits limits;
  limits.max_scrapers = 4;
  limits.deadline_ms = 300;
  ServedEndpoint served(limits);
  // An endless request head: closed once it passes the limit, unanswered.
  int fd = connect_to(served.port());
  std::string junk(8192, 'a');
  send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  assert_true(read_all(fd).empty());
  close(fd);
  // Silent connections fill the slots and are cut at the deadline.
  std::vector<int> silent;
  for (size_t i = 0; i < limits.max_scrapers; ++i) silent.push_back(connect_to(served.port()));
  for (int s : silent) {
    assert_true(read_all(s).empty());  // closed at the deadline
    close(s);
  }
  assert_true(contains(exchange(served.port(), "GET /metrics HTTP/1.1\r\n\r\n"), "200 OK"));
  served.stop();
  assert_int_equal(served.scrapes(), 1);
  assert_true(served.refused() >= 1 + limits.max_scrapers);
}

// Idle connections that take every slot, replaced as they go, cannot lock a scraper out: the
// one that waited longest makes room, and the page says how many went.
static void test_idle_connections_cannot_lock_scrapers_out(void**) {
  MetricsEndpoint::Limits limits;
  limits.max_scrapers = 4;
  limits.deadline_ms = 5000;  // long: the scrapes below must not wait for it
  ServedEndpoint served(limits);
  std::vector<int> idle;
  for (size_t i = 0; i < limits.max_scrapers; ++i) idle.push_back(connect_to(served.port()));
  for (int round = 1; round <= 3; ++round) {
    auto started = std::chrono::steady_clock::now();
    std::string page = exchange(served.port(), "GET /metrics HTTP/1.1\r\n\r\n");
    auto took = std::chrono::steady_clock::now() - started;
    assert_true(contains(page, "200 OK"));
    assert_true(took < std::chrono::seconds(1));
    assert_true(contains(page, "udptun_metrics_requests_total{outcome=\"evicted\"} " +
                                   std::to_string(round) + "\n"));
    // The one evicted was the oldest idle one: closed now, not at the deadline.
    assert_true(read_all(idle.front()).empty());
    close(idle.front());
    idle.erase(idle.begin());
    idle.push_back(connect_to(served.port()));  // the flood replaces it
  }
  for (int fd : idle) close(fd);
  served.stop();
  assert_int_equal(served.scrapes(), 3);
}

// --metrics-allow: a scraper from elsewhere is closed at accept, unanswered, and counted; the
// named one is served.
static void test_only_allowed_scrapers_are_answered(void**) {
  MetricsEndpoint::Limits limits;
  assert_true(limits.allowed.add("127.0.0.2/32").ok());
  ServedEndpoint served(limits);
  int stranger = connect_to(served.port());  // from 127.0.0.1
  const std::string request = "GET /metrics HTTP/1.1\r\n\r\n";
  send(stranger, request.data(), request.size(), MSG_NOSIGNAL);
  assert_true(read_all(stranger).empty());
  close(stranger);
  int allowed = connect_to(served.port(), "127.0.0.2");
  send(allowed, request.data(), request.size(), MSG_NOSIGNAL);
  assert_true(contains(read_all(allowed), "200 OK"));
  close(allowed);
  served.stop();
  assert_int_equal(served.scrapes(), 1);
  assert_int_equal(served.refused(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_families_have_help_and_type_once),
      cmocka_unit_test(test_histogram_buckets_are_cumulative),
      cmocka_unit_test(test_stats_objects_get_conventional_names),
      cmocka_unit_test(test_endpoint_answers_get_metrics_and_nothing_else),
      cmocka_unit_test(test_hostile_scrapers_are_cut_off),
      cmocka_unit_test(test_idle_connections_cannot_lock_scrapers_out),
      cmocka_unit_test(test_only_allowed_scrapers_are_answered),
  };
  return cmocka_run_group_tests_name("metrics", tests, nullptr, nullptr);
}
