// The C API over Server: no exception crosses it, every failure is a return code or message.
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "server.hpp"
#include "udptun/udpserver.h"

struct udpserver {
  std::unique_ptr<udptun::server::Server> server;
};

namespace {
void copy_error(char* err, size_t errlen, const std::string& msg) {
  if (err && errlen) std::snprintf(err, errlen, "%s", msg.c_str());
}
}  // namespace

extern "C" {

udpserver_t* udpserver_new(const char* config_json, char* err, size_t errlen) {
  try {
    udptun::server::ServerConfig cfg;
    std::string error;
    if (!udptun::server::parse_server_config(config_json, cfg, error)) {
      copy_error(err, errlen, error);
      return nullptr;
    }
    auto handle = std::make_unique<udpserver>();
    handle->server = std::make_unique<udptun::server::Server>(std::move(cfg));
    return handle.release();
  } catch (const std::exception& e) {
    copy_error(err, errlen, e.what());
    return nullptr;
  }
}

int udpserver_start(udpserver_t* s, const udpserver_callbacks* cb, void* user) {
  if (!s) return -EINVAL;
  try {
    return s->server->start(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

int udpserver_run(udpserver_t* s, const udpserver_callbacks* cb, void* user) {
  if (!s) return -EINVAL;
  try {
    return s->server->run(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

void udpserver_stop(udpserver_t* s) {
  if (s) s->server->stop();
}

void udpserver_get_stats(udpserver_t* s, udpserver_stats* out) {
  if (!s || !out) return;
  s->server->snapshot(out);
}

void udpserver_free(udpserver_t* s) {
  delete s;  // ~Server stops and joins
}

}  // extern "C"
