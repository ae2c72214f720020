// The C API over Server: no exception crosses it, every failure is a return code or message.
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "server.hpp"
#include "udptun/runtime/c_api_shim.hpp"
#include "udptun/runtime/stats_json.hpp"
#include "udptun/udpserver.h"

struct udpserver : udptun::runtime::CApiHandle<udptun::udpserver::Server> {};

extern "C" {

udpserver_t* udpserver_new(const char* config_json, char* err, size_t errlen) {
  return udptun::runtime::c_api_new<udpserver_t, udptun::udpserver::Server>(
      config_json, err, errlen, udptun::udpserver::parse_server_config);
}

int udpserver_start(udpserver_t* s, const udpserver_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(s, [&](auto& i) { return i.start(cb, user); });
}

int udpserver_run(udpserver_t* s, const udpserver_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(s, [&](auto& i) { return i.run(cb, user); });
}

void udpserver_stop(udpserver_t* s) {
  if (s) s->instance->stop();
}

int udpserver_drain(udpserver_t* s) {
  if (!s) return -1;
  return s->instance->drain().ok() ? 0 : -1;
}

void udpserver_get_stats(udpserver_t* s, udpserver_stats* out) {
  if (!s || !out) return;
  s->instance->snapshot(out);
}

size_t udpserver_stats_json(const udpserver_stats* s, char* out, size_t cap) {
  return udptun::runtime::c_api_stats_json(
      s, out, cap, [](udptun::runtime::StatsJson& j, const auto& v) {
        j.add("sessions", v.sessions)
            .add("sessions_attached", v.sessions_attached)
            .add("flows", v.flows)
            .add("connections", v.connections)
            .add("sessions_opened", v.sessions_opened)
            .add("sessions_resumed", v.sessions_resumed)
            .add("sessions_reaped", v.sessions_reaped)
            .add("sessions_evicted", v.sessions_evicted)
            .add("flows_opened", v.flows_opened)
            .add("flows_closed_idle", v.flows_closed_idle)
            .add("flows_evicted", v.flows_evicted)
            .add("flows_refused", v.flows_refused)
            .add("auth_failures", v.auth_failures)
            .add("protocol_errors", v.protocol_errors)
            .add("datagrams_to_targets", v.datagrams_to_targets)
            .add("bytes_to_targets", v.bytes_to_targets)
            .add("datagrams_from_targets", v.datagrams_from_targets)
            .add("bytes_from_targets", v.bytes_from_targets)
            .add("drops_send_failed", v.drops_send_failed)
            .add("drops_queue_full", v.drops_queue_full)
            .add("drops_queue_aged", v.drops_queue_aged)
            .add("lanes_joined", v.lanes_joined)
            .add("duplicates_sent", v.duplicates_sent)
            .add("duplicates_dropped", v.duplicates_dropped)
            .add("udpgw_clients", v.udpgw_clients)
            .add("socks5_clients", v.socks5_clients)
            .add("drops_detached", v.drops_detached)
            .add("drops_forbidden", v.drops_forbidden)
            .add("drops_unknown_flow", v.drops_unknown_flow)
            .add("links_paused", v.links_paused)
            .add("drops_duplicate_open", v.drops_duplicate_open)
            .add("drops_held", v.drops_held)
            .add("flows_setup_timeout", v.flows_setup_timeout)
            .add("flows_refused_full", v.flows_refused_full)
            .add("connections_refused", v.connections_refused)
            .add("log_lines_suppressed", v.log_lines_suppressed)
            .add("drops_not_from_relay", v.drops_not_from_relay)
            .add("drops_filtered", v.drops_filtered)
            .add("drops_amplification", v.drops_amplification)
            .add("drops_rate_limited_up", v.drops_rate_limited_up)
            .add("drops_rate_limited_down", v.drops_rate_limited_down)
            .add("egress_reassembled", v.egress_reassembled)
            .add("egress_fragments_dropped", v.egress_fragments_dropped);
      });
}

void udpserver_free(udpserver_t* s) {
  delete s;  // ~Server stops and joins
}

}  // extern "C"
