// The libraries in one process through their C APIs, with real traffic: a server and a client
// instance talk to each other, forward and in-process; a front that cannot listen reports it.
// (Start/stop cycles and refused configurations: test_library_cycles.cpp, on every platform.)
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <vector>

#include <atomic>
#include <cstring>
#include <string>

#include "../unit/cmocka_support.hpp"
#include "harness.hpp"
#include "library_fixture.hpp"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"

using harness::EchoServer;
using harness::UdpClient;

static void test_server_and_client_in_one_process(void**) {
  EchoServer target;
  TunnelPair pair(target.port());
  UdpClient client;
  for (int i = 0; i < 20; ++i) {
    assert_true(
        client.echo(harness::loopback(AF_INET, static_cast<uint16_t>(pair.local_seen.port.load())),
                    "in-process " + std::to_string(i), 2000));
  }
  // Stats arrive through the snapshot API from another thread.
  udplocal_stats st{};
  assert_true(harness::eventually(
      [&] {
        udplocal_get_stats(pair.local, &st);
        return st.datagrams_up >= 20 && st.datagrams_down >= 20 && st.link_up == 1;
      },
      3000));
  udpserver_stats sst{};
  assert_true(harness::eventually(
      [&] {
        udpserver_get_stats(pair.server, &sst);
        return sst.sessions == 1 && sst.flows == 1 && sst.datagrams_to_targets >= 20;
      },
      3000));
  pair.stop();
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
    // Each once; the order may change while the session's added connections join (a flow
    // then moves to them).
    std::vector<std::string> sorted = ls.payloads;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < 10; ++i) {
      assert_string_equal(sorted[i].c_str(), ("inproc " + std::to_string(i)).c_str());
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
      cmocka_unit_test(test_listen_failure_reports_error),
      cmocka_unit_test(test_in_process_datagram_path),
  };
  return cmocka_run_group_tests_name("library_lifecycle", tests, nullptr, nullptr);
}
