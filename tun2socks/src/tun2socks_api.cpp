// The C API over Engine: no exception crosses it.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "engine.hpp"
#include "udptun/runtime/c_api_shim.hpp"
#include "udptun/runtime/stats_json.hpp"
#include "udptun/tun2socks.h"

struct tun2socks : udptun::runtime::CApiHandle<udptun::tun2socks::Engine> {};

extern "C" {

tun2socks_t* tun2socks_new(const char* config_json, char* err, size_t errlen) {
  return udptun::runtime::c_api_new<tun2socks_t, udptun::tun2socks::Engine>(
      config_json, err, errlen, udptun::tun2socks::parse_engine_config);
}

int tun2socks_start(tun2socks_t* t, const tun2socks_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(t, [&](auto& i) { return i.start(cb, user); });
}

int tun2socks_run(tun2socks_t* t, const tun2socks_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(t, [&](auto& i) { return i.run(cb, user); });
}

void tun2socks_stop(tun2socks_t* t) {
  if (t) t->instance->stop();
}

int tun2socks_packet_in(tun2socks_t* t, const uint8_t* packet, size_t len) {
  if (!t || !packet || len == 0 || len > 65535) return -EINVAL;
  try {
    return t->instance->packet_in(packet, len);
  } catch (...) {
    return -ENOMEM;
  }
}

void tun2socks_get_stats(tun2socks_t* t, tun2socks_stats* out) {
  if (t && out) t->instance->snapshot(out);
}

size_t tun2socks_stats_json(const tun2socks_stats* s, char* out, size_t cap) {
  return udptun::runtime::c_api_stats_json(s, out, cap,
                                           [](udptun::runtime::StatsJson& j, const auto& v) {
                                             j.add("packets_in", v.packets_in)
                                                 .add("packets_out", v.packets_out)
                                                 .add("packets_dropped", v.packets_dropped)
                                                 .add("tcp_connections", v.tcp_connections)
                                                 .add("tcp_opened", v.tcp_opened)
                                                 .add("tcp_refused", v.tcp_refused)
                                                 .add("tcp_bytes_up", v.tcp_bytes_up)
                                                 .add("tcp_bytes_down", v.tcp_bytes_down)
                                                 .add("udp_datagrams_up", v.udp_datagrams_up)
                                                 .add("udp_datagrams_down", v.udp_datagrams_down)
                                                 .add("udp_dropped", v.udp_dropped)
                                                 .add("udp_tunnel_up", v.udp_tunnel_up)
                                                 .add("udp_rtt_us", v.udp_rtt_us)
                                                 .add("udp_flows", v.udp_flows);
                                           });
}

void tun2socks_free(tun2socks_t* t) {
  delete t;
}

}  // extern "C"
