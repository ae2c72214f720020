// udp-local's /metrics: its counters as they are now and the link's round trips.
#include "client.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::udplocal {

std::string Client::render_metrics() {
  refresh_derived_stats();
  runtime::PrometheusText text;
  runtime::add_stats_struct(text, udplocal_stats_json, stats_, runtime::local_metric_rules());
  text.add("queued_bytes", runtime::MetricType::gauge,
           "Bytes waiting: in the link's TCP output queue and per-flow queues, or held while the "
           "link is down.",
           "queue=\"link_output\"", static_cast<double>(tunnel_.output_queued_bytes()));
  text.add("queued_bytes", runtime::MetricType::gauge, "", "queue=\"link_down\"",
           static_cast<double>(tunnel_.held_bytes()));
  text.add_histogram("link_rtt_seconds", "Heartbeat round trips to udp-server.", "",
                     tunnel_.rtt_histogram());
  text.add_histogram("queue_sojourn_seconds",
                     "How long datagrams waited in the per-flow queues while the link was full.",
                     "", tunnel_.queue_sojourn());
  text.add("pacing_bytes_per_second", runtime::MetricType::gauge,
           "The carrier's rate cap while the path's queue stands above the target (0: none).", "",
           static_cast<double>(tunnel_.pacing_Bps()));
  return text.text();
}

}  // namespace udptun::udplocal
