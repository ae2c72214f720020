// The C API over Client: no exception crosses it, every failure is a return code or message.
#include <cerrno>
#include <cstdio>
#include <memory>

#include "client.hpp"
#include "udptun/runtime/c_api_shim.hpp"
#include "udptun/runtime/stats_json.hpp"
#include "udptun/udplocal.h"
#include "udptun/udplocal_guest.hpp"

struct udplocal : udptun::runtime::CApiHandle<udptun::udplocal::Client> {};

udplocal_t* udptun::udplocal::new_guest(const char* config_json, runtime::EventLoop& host,
                                        char* err, size_t errlen) {
  return udptun::runtime::c_api_new<udplocal_t, udptun::udplocal::Client>(
      config_json, err, errlen, udptun::udplocal::parse_client_config, &host);
}

extern "C" {

udplocal_t* udplocal_new(const char* config_json, char* err, size_t errlen) {
  return udptun::runtime::c_api_new<udplocal_t, udptun::udplocal::Client>(
      config_json, err, errlen, udptun::udplocal::parse_client_config);
}

int udplocal_start(udplocal_t* c, const udplocal_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(c, [&](auto& i) { return i.start(cb, user); });
}

int udplocal_run(udplocal_t* c, const udplocal_callbacks* cb, void* user) {
  return udptun::runtime::c_api_call(c, [&](auto& i) { return i.run(cb, user); });
}

void udplocal_stop(udplocal_t* c) {
  if (c) c->instance->stop();
}

void udplocal_get_stats(udplocal_t* c, udplocal_stats* out) {
  if (c && out) c->instance->snapshot(out);
}

size_t udplocal_stats_json(const udplocal_stats* s, char* out, size_t cap) {
  return udptun::runtime::c_api_stats_json(
      s, out, cap, [](udptun::runtime::StatsJson& j, const auto& v) {
        j.add("link_up", v.link_up)
            .add("connects", v.connects)
            .add("sessions_new", v.sessions_new)
            .add("sessions_resumed", v.sessions_resumed)
            .add("handshake_refusals", v.handshake_refusals)
            .add("link_losses", v.link_losses)
            .add("flows", v.flows)
            .add("flows_opened", v.flows_opened)
            .add("flows_closed_idle", v.flows_closed_idle)
            .add("flows_refused", v.flows_refused)
            .add("datagrams_up", v.datagrams_up)
            .add("bytes_up", v.bytes_up)
            .add("datagrams_down", v.datagrams_down)
            .add("bytes_down", v.bytes_down)
            .add("drops_link_down", v.drops_link_down)
            .add("drops_queue_full", v.drops_queue_full)
            .add("drops_queue_aged", v.drops_queue_aged)
            .add("drops_refused", v.drops_refused)
            .add("drops_flow_limit", v.drops_flow_limit)
            .add("drops_socks5_fragment", v.drops_socks5_fragment)
            .add("drops_rate_limited", v.drops_rate_limited)
            .add("drops_not_allowed", v.drops_not_allowed)
            .add("socks5_reassembled", v.socks5_reassembled)
            .add("socks5_reassembly_timeouts", v.socks5_reassembly_timeouts)
            .add("socks5_reassembly_abandoned", v.socks5_reassembly_abandoned)
            .add("drops_socks5_foreign", v.drops_socks5_foreign)
            .add("drops_socks5_malformed", v.drops_socks5_malformed)
            .add("drops_send_failed", v.drops_send_failed)
            .add("socks5_connections", v.socks5_connections)
            .add("rtt_us", v.rtt_us)
            .add("lanes_up", v.lanes_up)
            .add("duplicates_sent", v.duplicates_sent)
            .add("duplicates_dropped", v.duplicates_dropped);
      });
}

int udplocal_submit(udplocal_t* c, const struct sockaddr* src, const struct sockaddr* dst,
                    const uint8_t* data, size_t len) {
  return udptun::runtime::c_api_call(
      c, [&](auto& i) { return i.submit_in_process(src, dst, data, len); });
}

void udplocal_free(udplocal_t* c) {
  delete c;
}

}  // extern "C"
