// The C API over Client: no exception crosses it, every failure is a return code or message.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "client.hpp"
#include "udptun/runtime/stats_json.hpp"
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

size_t udplocal_stats_json(const udplocal_stats* s, char* out, size_t cap) {
  if (!s) return 0;
  try {
    return udptun::runtime::StatsJson()
        .add("link_up", s->link_up)
        .add("connects", s->connects)
        .add("sessions_new", s->sessions_new)
        .add("sessions_resumed", s->sessions_resumed)
        .add("handshake_refusals", s->handshake_refusals)
        .add("link_losses", s->link_losses)
        .add("flows", s->flows)
        .add("flows_opened", s->flows_opened)
        .add("flows_closed_idle", s->flows_closed_idle)
        .add("flows_refused", s->flows_refused)
        .add("datagrams_up", s->datagrams_up)
        .add("bytes_up", s->bytes_up)
        .add("datagrams_down", s->datagrams_down)
        .add("bytes_down", s->bytes_down)
        .add("drops_link_down", s->drops_link_down)
        .add("drops_queue_full", s->drops_queue_full)
        .add("drops_refused", s->drops_refused)
        .add("drops_flow_limit", s->drops_flow_limit)
        .add("drops_socks5_fragment", s->drops_socks5_fragment)
        .add("drops_rate_limited", s->drops_rate_limited)
        .add("drops_not_allowed", s->drops_not_allowed)
        .add("socks5_reassembled", s->socks5_reassembled)
        .add("socks5_reassembly_timeouts", s->socks5_reassembly_timeouts)
        .add("socks5_reassembly_abandoned", s->socks5_reassembly_abandoned)
        .add("drops_socks5_foreign", s->drops_socks5_foreign)
        .add("drops_socks5_malformed", s->drops_socks5_malformed)
        .add("drops_send_failed", s->drops_send_failed)
        .add("socks5_connections", s->socks5_connections)
        .add("rtt_us", s->rtt_us)
        .copy_to(out, cap);
  } catch (...) {
    if (out && cap) *out = '\0';
    return 0;
  }
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
