// What the library tests share: a key, each instance's callbacks counting what they saw, and
// configurations for a server and a forwarding client on loopback.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

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
