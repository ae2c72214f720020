// The C API over Client: no exception crosses it, every failure is a return code or message.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "client.hpp"
#include "udptun/udplocal.h"

struct udplocal {
  std::unique_ptr<udptun::local::Client> client;
};

extern "C" {

udplocal_t* udplocal_new(const char* config_json, char* err, size_t errlen) {
  try {
    udptun::local::LocalConfig cfg;
    std::string error;
    if (!udptun::local::parse_local_config(config_json, cfg, error)) {
      if (err && errlen) std::snprintf(err, errlen, "%s", error.c_str());
      return nullptr;
    }
    auto handle = std::make_unique<udplocal>();
    handle->client = std::make_unique<udptun::local::Client>(std::move(cfg));
    return handle.release();
  } catch (const std::exception& e) {
    if (err && errlen) std::snprintf(err, errlen, "%s", e.what());
    return nullptr;
  }
}

int udplocal_start(udplocal_t* c, const udplocal_callbacks* cb, void* user) {
  if (!c) return -EINVAL;
  try {
    return c->client->start(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

int udplocal_run(udplocal_t* c, const udplocal_callbacks* cb, void* user) {
  if (!c) return -EINVAL;
  try {
    return c->client->run(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

void udplocal_stop(udplocal_t* c) {
  if (c) c->client->stop();
}

void udplocal_get_stats(udplocal_t* c, udplocal_stats* out) {
  if (c && out) c->client->snapshot(out);
}

int udplocal_submit(udplocal_t* c, const struct sockaddr* src, const struct sockaddr* dst,
                    const uint8_t* data, size_t len) {
  if (!c) return -EINVAL;
  try {
    return c->client->submit_in_process(src, dst, data, len);
  } catch (...) {
    return -ENOMEM;
  }
}

void udplocal_free(udplocal_t* c) {
  delete c;
}

}  // extern "C"
