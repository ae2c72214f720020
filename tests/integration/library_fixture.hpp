// What the library tests share: a key, each instance's callbacks counting what they saw,
// configurations for a server and a forwarding client on loopback, and the two started with
// the tunnel up between them. Include after cmocka_support.hpp (the pair asserts).
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "portable_harness.hpp"
#include "udptun/udplocal.h"
#include "udptun/udpserver.h"

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

// A udp-server and a udp-local forwarding to `target_port`, both started, the session up
// (asserted). stop() stops and frees both (also at destruction) and asserts a clean stop.
struct TunnelPair {
  Seen server_seen, local_seen;
  udpserver_t* server = nullptr;
  udplocal_t* local = nullptr;
  udpserver_callbacks server_cb = server_callbacks();
  udplocal_callbacks local_cb = local_callbacks();

  // Each step is marked for a harness::Watchdog, so a hang says where it is.
  explicit TunnelPair(int target_port) {
    char err[256];
    harness::progress("udpserver_new");
    server = udpserver_new(server_json().c_str(), err, sizeof err);
    assert_non_null(server);
    harness::progress("udpserver_start");
    assert_int_equal(udpserver_start(server, &server_cb, &server_seen), 0);
    assert_true(harness::eventually([&] { return server_seen.started == 1; }, 3000));
    harness::progress("udplocal_new");
    local = udplocal_new(local_json(server_seen.port, target_port).c_str(), err, sizeof err);
    assert_non_null(local);
    harness::progress("udplocal_start");
    assert_int_equal(udplocal_start(local, &local_cb, &local_seen), 0);
    assert_true(harness::eventually(
        [&] { return local_seen.started == 1 && local_seen.sessions_up == 1; }, 3000));
  }
  ~TunnelPair() { stop(); }

  void stop() {
    if (!server) return;
    harness::progress("udplocal_stop, udpserver_stop");
    udplocal_stop(local);
    udpserver_stop(server);
    harness::progress("udplocal_free (joins its loop thread)");
    udplocal_free(local);
    harness::progress("udpserver_free (joins its loop thread)");
    udpserver_free(server);
    harness::progress("stopped");
    local = nullptr;
    server = nullptr;
    assert_int_equal(local_seen.stopped + server_seen.stopped, 2);
    assert_int_equal(local_seen.errors + server_seen.errors, 0);
  }
};
