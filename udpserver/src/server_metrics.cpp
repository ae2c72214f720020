// udp-server's /metrics: its counters as they are now, named by runtime/metric_names.
#include "server.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::server {

std::string Server::render_metrics() {
  refresh_derived_stats();
  char json[4096];
  size_t n = udpserver_stats_json(&stats_, json, sizeof json);
  runtime::PrometheusText text;
  if (n < sizeof json) text.add_stats(json, runtime::server_metric_rules());
  return text.text();
}

}  // namespace udptun::server
