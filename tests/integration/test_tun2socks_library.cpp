// libtun2socks in one process with the callbacks packet device (no TUN, no root): UDP packets
// handed in come back as reply packets through the in-process udp-local and a udp-server;
// ports on the drop list stay unanswered; instances start and stop 100 times without leaks.
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../unit/cmocka_support.hpp"
#include "../unit/packet_builder.hpp"
#include "harness.hpp"
#include "udptun/tun2socks.h"
#include "udptun/udpserver.h"

using namespace packet_builder;

static const char* kKey = "tun2socks library test key 01234";

struct Packets {
  std::mutex m;
  std::vector<std::vector<uint8_t>> out;
  std::atomic<int> started{0}, stopped{0};
  size_t count() {
    std::lock_guard<std::mutex> lock(m);
    return out.size();
  }
};

static tun2socks_callbacks packet_callbacks() {
  tun2socks_callbacks cb{};
  cb.packet_out = [](void* u, const uint8_t* p, size_t n) {
    auto* c = static_cast<Packets*>(u);
    std::lock_guard<std::mutex> lock(c->m);
    c->out.emplace_back(p, p + n);
  };
  cb.started = [](void* u, const char*) { static_cast<Packets*>(u)->started++; };
  cb.stopped = [](void* u) { static_cast<Packets*>(u)->stopped++; };
  cb.log = [](void*, int, const char*) {};
  return cb;
}

struct Server {
  udpserver_t* s = nullptr;
  std::atomic<int> port{0};
  std::atomic<uint64_t> snapshots{0}, connections{0};  // from its stats, every 100 ms
  Server() {
    char err[256];
    std::string json = std::string(R"({"listen":"127.0.0.1:0","psk":")") + kKey +
                       R"(","allow_targets":["127.0.0.0/8","::1"],"stats_interval_ms":100})";
    s = udpserver_new(json.c_str(), err, sizeof err);
    udpserver_callbacks cb{};
    cb.started = [](void* u, const char* a) {
      static_cast<Server*>(u)->port = std::atoi(std::strrchr(a, ':') + 1);
    };
    cb.stats = [](void* u, const udpserver_stats* st) {
      auto* self = static_cast<Server*>(u);
      self->connections = st->connections;
      self->snapshots++;
    };
    cb.log = [](void*, int, const char*) {};
    udpserver_start(s, &cb, this);
    harness::eventually([&] { return port != 0; }, 3000);
  }
  ~Server() {
    udpserver_stop(s);
    udpserver_free(s);
  }
  // Its connections all closed, as a snapshot taken after this call says (3 s at most).
  bool connections_closed() {
    uint64_t from = snapshots;
    return harness::eventually([&] { return snapshots >= from + 2 && connections == 0; }, 3000);
  }
};

static std::string t2s_json(int server_port, const std::string& extra = "") {
  return std::string(
             R"({"device":"callbacks","socks5":"127.0.0.1:9","udp":"udp-local","udp_local":{"server":"127.0.0.1:)") +
         std::to_string(server_port) + R"(","psk":")" + kKey + R"("})" + extra + "}";
}

static void test_udp_packets_come_back_as_replies(void**) {
  harness::EchoServer target(AF_INET);
  harness::EchoServer target6(AF_INET6);
  Server server;
  char err[256];
  tun2socks_t* t =
      tun2socks_new(t2s_json(server.port, R"(,"drop_udp_ports":[443])").c_str(), err, sizeof err);
  if (!t) std::fprintf(stderr, "%s\n", err);
  assert_non_null(t);
  Packets pk;
  auto cb = packet_callbacks();
  assert_int_equal(tun2socks_start(t, &cb, &pk), 0);
  assert_true(harness::eventually([&] { return pk.started == 1; }, 3000));

  auto v4 = ipv4_packet(17, "10.0.85.2", 40000, "127.0.0.1", target.port(), "ping over tun2socks");
  bool answered = harness::eventually(
      [&] {
        tun2socks_packet_in(t, v4.data(), v4.size());
        usleep(50'000);
        return pk.count() > 0;
      },
      5000);
  assert_true(answered);
  {
    std::lock_guard<std::mutex> lock(pk.m);
    const auto& r = pk.out[0];
    assert_int_equal(r[9], 17);
    uint8_t lo[4] = {127, 0, 0, 1}, app[4] = {10, 0, 85, 2};
    assert_memory_equal(&r[12], lo, 4);   // from the target
    assert_memory_equal(&r[16], app, 4);  // to the app
    assert_int_equal(r[20] << 8 | r[21], target.port());
    assert_int_equal(r[22] << 8 | r[23], 40000);
    assert_memory_equal(&r[28], "ping over tun2socks", 19);
    pk.out.clear();
  }

  auto v6 = ipv6_udp_packet("fd00:85::2", 40001, "::1", target6.port(), "ping over IPv6");
  answered = harness::eventually(
      [&] {
        tun2socks_packet_in(t, v6.data(), v6.size());
        usleep(50'000);
        return pk.count() > 0;
      },
      5000);
  assert_true(answered);
  {
    std::lock_guard<std::mutex> lock(pk.m);
    const auto& r = pk.out[0];
    assert_int_equal(r[0] >> 4, 6);
    assert_int_equal(r[40] << 8 | r[41], target6.port());
    assert_memory_equal(&r[48], "ping over IPv6", 14);
    pk.out.clear();
  }

  // UDP to a dropped port (QUIC) never leaves.
  uint64_t before = target.received();
  auto quic = ipv4_packet(17, "10.0.85.2", 40002, "127.0.0.1", 443, "quic");
  for (int i = 0; i < 5; ++i) tun2socks_packet_in(t, quic.data(), quic.size());
  tun2socks_stats st{};
  assert_true(harness::eventually(
      [&] {
        tun2socks_get_stats(t, &st);
        return st.udp_dropped >= 5;
      },
      3000));
  assert_int_equal(target.received(), before);
  tun2socks_stop(t);
  tun2socks_free(t);
  assert_int_equal(pk.stopped, 1);
}

static void test_one_instance_per_process(void**) {
  Server server;
  char err[256];
  tun2socks_t* a = tun2socks_new(t2s_json(server.port).c_str(), err, sizeof err);
  tun2socks_t* b = tun2socks_new(t2s_json(server.port).c_str(), err, sizeof err);
  Packets pa, pb;
  std::atomic<int> b_errors{0};
  auto cba = packet_callbacks();
  auto cbb = packet_callbacks();
  cbb.error = [](void* u, const char*) { (*static_cast<std::atomic<int>*>(u))++; };
  cbb.started = nullptr;
  cbb.stopped = nullptr;
  assert_int_equal(tun2socks_start(a, &cba, &pa), 0);
  assert_true(harness::eventually([&] { return pa.started == 1; }, 3000));
  assert_true(tun2socks_run(b, &cbb, &b_errors) < 0);  // lwIP is process-wide: refused clearly
  assert_int_equal(b_errors.load(), 1);
  tun2socks_free(b);
  tun2socks_free(a);
}

static void test_start_stop_100_times(void**) {
  Server server;
  auto cycle = [&] {
    char err[256];
    tun2socks_t* t = tun2socks_new(t2s_json(server.port).c_str(), err, sizeof err);
    Packets pk;
    auto cb = packet_callbacks();
    tun2socks_start(t, &cb, &pk);
    harness::eventually([&] { return pk.started == 1; }, 3000);
    tun2socks_stop(t);
    tun2socks_free(t);
  };
  for (int i = 0; i < 3; ++i) cycle();
  assert_true(server.connections_closed());  // the warm-up clients' connections
  int fds = harness::count_open_fds();
  long rss = harness::resident_kib();
  for (int i = 0; i < 100; ++i) cycle();
  std::fprintf(stderr, "    fds %d -> %d, RSS %ld -> %ld KiB over 100 cycles\n", fds,
               harness::count_open_fds(), rss, harness::resident_kib());
  // The server closes each old connection a moment after its client went away: wait for that.
  assert_true(harness::eventually([&] { return harness::count_open_fds() <= fds; }, 3000));
  if (const char* why = harness::own_rss_unjudgeable()) {
    std::fprintf(stderr, "    (RSS not judged: %s)\n", why);
    return;
  }
  assert_true(harness::resident_kib() - rss < 4096);
}

static void test_bad_configurations(void**) {
  struct {
    const char* json;
    const char* says;
  } cases[] = {
      {R"({"socks5":"127.0.0.1:1080"})", "give a device"},
      {R"({"tun":"t0"})", "\"socks5\" is required"},
      {R"({"tun":"has/slash","socks5":"127.0.0.1:1"})", "interface name"},
      {R"({"tun":"t0","socks5":"name.example:1"})", "IP address"},
      {R"({"tun":"t0","socks5":"127.0.0.1:1","udp":"udp-local"})", "needs \"udp_local\""},
      {R"({"tun":"t0","socks5":"127.0.0.1:1","udp":"quic"})", "\"udp\" must be"},
      {R"({"tun":"t0","socks5":"127.0.0.1:1","drop_udp_ports":[0]})", "drop_udp_ports"},
      {R"({"tun":"t0","socks5":"127.0.0.1:1","mtu":100})", "\"mtu\""},
  };
  for (auto& c : cases) {
    char err[256] = "";
    tun2socks_t* t = tun2socks_new(c.json, err, sizeof err);
    if (t || !std::strstr(err, c.says)) std::fprintf(stderr, "%s -> '%s'\n", c.json, err);
    assert_null(t);
    assert_non_null(std::strstr(err, c.says));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_udp_packets_come_back_as_replies),
      cmocka_unit_test(test_one_instance_per_process),
      cmocka_unit_test(test_start_stop_100_times),
      cmocka_unit_test(test_bad_configurations),
  };
  return cmocka_run_group_tests_name("tun2socks_library", tests, nullptr, nullptr);
}
