// The C API over Engine: no exception crosses it.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "engine.hpp"
#include "udptun/runtime/stats_json.hpp"
#include "udptun/tun2socks.h"

struct tun2socks {
  std::unique_ptr<udptun::t2s::Engine> engine;
};

extern "C" {

tun2socks_t* tun2socks_new(const char* config_json, char* err, size_t errlen) {
  try {
    udptun::t2s::Tun2SocksConfig cfg;
    std::string error;
    if (!udptun::t2s::parse_tun2socks_config(config_json, cfg, error)) {
      if (err && errlen) std::snprintf(err, errlen, "%s", error.c_str());
      return nullptr;
    }
    auto handle = std::make_unique<tun2socks>();
    handle->engine = std::make_unique<udptun::t2s::Engine>(std::move(cfg));
    return handle.release();
  } catch (const std::exception& e) {
    if (err && errlen) std::snprintf(err, errlen, "%s", e.what());
    return nullptr;
  }
}

int tun2socks_start(tun2socks_t* t, const tun2socks_callbacks* cb, void* user) {
  if (!t) return -EINVAL;
  try {
    return t->engine->start(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

int tun2socks_run(tun2socks_t* t, const tun2socks_callbacks* cb, void* user) {
  if (!t) return -EINVAL;
  try {
    return t->engine->run(cb, user);
  } catch (...) {
    return -ENOMEM;
  }
}

void tun2socks_stop(tun2socks_t* t) {
  if (t) t->engine->stop();
}

int tun2socks_packet_in(tun2socks_t* t, const uint8_t* packet, size_t len) {
  if (!t || !packet || len == 0 || len > 65535) return -EINVAL;
  try {
    return t->engine->packet_in(packet, len);
  } catch (...) {
    return -ENOMEM;
  }
}

void tun2socks_get_stats(tun2socks_t* t, tun2socks_stats* out) {
  if (t && out) t->engine->snapshot(out);
}

size_t tun2socks_stats_json(const tun2socks_stats* s, char* out, size_t cap) {
  if (!s) return 0;
  try {
    return udptun::runtime::StatsJson()
        .add("packets_in", s->packets_in)
        .add("packets_out", s->packets_out)
        .add("packets_dropped", s->packets_dropped)
        .add("tcp_connections", s->tcp_connections)
        .add("tcp_opened", s->tcp_opened)
        .add("tcp_refused", s->tcp_refused)
        .add("tcp_bytes_up", s->tcp_bytes_up)
        .add("tcp_bytes_down", s->tcp_bytes_down)
        .add("udp_datagrams_up", s->udp_datagrams_up)
        .add("udp_datagrams_down", s->udp_datagrams_down)
        .add("udp_dropped", s->udp_dropped)
        .add("udp_tunnel_up", s->udp_tunnel_up)
        .add("udp_rtt_us", s->udp_rtt_us)
        .add("udp_flows", s->udp_flows)
        .copy_to(out, cap);
  } catch (...) {
    if (out && cap) *out = '\0';
    return 0;
  }
}

void tun2socks_free(tun2socks_t* t) {
  delete t;
}

}  // extern "C"
