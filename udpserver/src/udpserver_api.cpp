// The C API over Server: no exception crosses it, every failure is a return code or message.
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "server.hpp"
#include "udptun/runtime/stats_json.hpp"
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

int udpserver_drain(udpserver_t* s) {
  if (!s) return -1;
  return s->server->drain() ? 0 : -1;
}

void udpserver_get_stats(udpserver_t* s, udpserver_stats* out) {
  if (!s || !out) return;
  s->server->snapshot(out);
}

size_t udpserver_stats_json(const udpserver_stats* s, char* out, size_t cap) {
  if (!s) return 0;
  try {
    return udptun::runtime::StatsJson()
        .add("sessions", s->sessions)
        .add("sessions_attached", s->sessions_attached)
        .add("flows", s->flows)
        .add("connections", s->connections)
        .add("sessions_opened", s->sessions_opened)
        .add("sessions_resumed", s->sessions_resumed)
        .add("sessions_reaped", s->sessions_reaped)
        .add("sessions_evicted", s->sessions_evicted)
        .add("flows_opened", s->flows_opened)
        .add("flows_closed_idle", s->flows_closed_idle)
        .add("flows_evicted", s->flows_evicted)
        .add("flows_refused", s->flows_refused)
        .add("auth_failures", s->auth_failures)
        .add("protocol_errors", s->protocol_errors)
        .add("datagrams_to_targets", s->datagrams_to_targets)
        .add("bytes_to_targets", s->bytes_to_targets)
        .add("datagrams_from_targets", s->datagrams_from_targets)
        .add("bytes_from_targets", s->bytes_from_targets)
        .add("drops_send_failed", s->drops_send_failed)
        .add("drops_queue_full", s->drops_queue_full)
        .add("drops_detached", s->drops_detached)
        .add("drops_forbidden", s->drops_forbidden)
        .add("drops_unknown_flow", s->drops_unknown_flow)
        .add("links_paused", s->links_paused)
        .add("drops_duplicate_open", s->drops_duplicate_open)
        .add("drops_held", s->drops_held)
        .add("flows_setup_timeout", s->flows_setup_timeout)
        .add("flows_refused_full", s->flows_refused_full)
        .add("connections_refused", s->connections_refused)
        .add("log_lines_suppressed", s->log_lines_suppressed)
        .add("drops_not_from_relay", s->drops_not_from_relay)
        .add("drops_filtered", s->drops_filtered)
        .add("drops_amplification", s->drops_amplification)
        .add("drops_rate_limited_up", s->drops_rate_limited_up)
        .add("drops_rate_limited_down", s->drops_rate_limited_down)
        .add("egress_reassembled", s->egress_reassembled)
        .add("egress_fragments_dropped", s->egress_fragments_dropped)
        .copy_to(out, cap);
  } catch (...) {
    if (out && cap) *out = '\0';
    return 0;
  }
}

void udpserver_free(udpserver_t* s) {
  delete s;  // ~Server stops and joins
}

}  // extern "C"
