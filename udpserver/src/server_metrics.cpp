// udp-server's /metrics: its counters as they are now, named by runtime/metric_names.
#include "server.hpp"
#include "tun2socks_egress.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::udpserver {

std::string Server::render_metrics() {
  WorkerCounters now = all_counters();  // other workers': as of their last publication
  stats_ = now.stats;
  runtime::PrometheusText text;
  runtime::add_stats_struct(text, udpserver_stats_json, stats_, runtime::server_metric_rules());
  // Queue depths: replies waiting in the clients' TCP output queues, all and the deepest.
  size_t total = now.queued_bytes, deepest = now.queued_bytes_max;
  text.add("queued_bytes", runtime::MetricType::gauge,
           "Replies waiting in the clients' TCP output queues (all connections).", "",
           static_cast<double>(total));
  text.add("queued_bytes_max", runtime::MetricType::gauge,
           "The deepest one connection's output queue.", "", static_cast<double>(deepest));
  text.add_histogram("queue_sojourn_seconds",
                     "How long replies waited in the per-flow queues while a client's link was "
                     "full.",
                     "", now.sojourn);
  text.add("workers", runtime::MetricType::gauge, "Event loops serving sessions.", "",
           static_cast<double>(workers_.size()));
  for (auto& w : workers_) {
    text.add("worker_handshakes_total", runtime::MetricType::counter,
             "Handshakes each worker ran (with TLS they go to the least busy worker).",
             "worker=\"" + std::to_string(w->index()) + "\"",
             static_cast<double>(w->counters().handshakes));
  }
  if (egress_) {
    text.add("egress_tun2socks_dropped_total", runtime::MetricType::counter,
             "Datagrams the tun2socks egress dropped: refused on the way in, or replies lost to "
             "its full queue.",
             "", static_cast<double>(egress_->dropped()));
  }
  return text.text();
}

}  // namespace udptun::udpserver
