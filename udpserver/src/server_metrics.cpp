// udp-server's /metrics: its counters as they are now, named by runtime/metric_names.
#include <algorithm>

#include "client_link.hpp"
#include "server.hpp"
#include "tun2socks_egress.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::udpserver {

std::string Server::render_metrics() {
  refresh_derived_stats();
  runtime::PrometheusText text;
  runtime::add_stats_struct(text, udpserver_stats_json, stats_, runtime::server_metric_rules());
  // Queue depths: replies waiting in the clients' TCP output queues, all and the deepest.
  size_t total = 0, deepest = 0;
  for (const auto& l : links_) {
    size_t q = l->stream().queued_bytes();
    total += q;
    deepest = std::max(deepest, q);
  }
  text.add("queued_bytes", runtime::MetricType::gauge,
           "Replies waiting in the clients' TCP output queues (all connections).", "",
           static_cast<double>(total));
  text.add("queued_bytes_max", runtime::MetricType::gauge,
           "The deepest one connection's output queue.", "", static_cast<double>(deepest));
  if (egress_) {
    text.add("egress_tun2socks_dropped_total", runtime::MetricType::counter,
             "Datagrams the tun2socks egress dropped: refused on the way in, or replies lost to "
             "its full queue.",
             "", static_cast<double>(egress_->dropped()));
  }
  return text.text();
}

}  // namespace udptun::udpserver
