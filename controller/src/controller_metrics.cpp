// proxy-controller's /metrics: one scrape target for a machine. Each service's state and
// restarts, and its counters (from its stats channel or in-process instance) under the
// names the service's own /metrics uses, labelled service="NAME" — a set bounded by what
// root declared and max_services.
#include "controller.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::controller {

std::string Controller::render_metrics() const {
  using runtime::MetricType;
  runtime::PrometheusText text;
  for (const ServiceStatus& s : supervisor_.status()) {
    std::string label = "service=\"" + runtime::prometheus_label_value(s.name) + "\"";
    text.add("service_up", MetricType::gauge, "1 while the service runs, else 0.", label,
             s.state == ServiceState::running ? 1 : 0);
    text.add("service_restarts_total", MetricType::counter,
             "Times the supervisor started the service again after it ended.", label,
             static_cast<double>(s.restarts));
    if (!s.stats.empty()) text.add_stats(s.stats, runtime::metric_rules_for_stats(s.stats), label);
  }
  text.add("routing_configured", MetricType::gauge,
           "1 while configureRouting's routes are in place, else 0.", "", routing_state_ ? 1 : 0);
  text.add("tunnel_connected", MetricType::gauge,
           "1 while the tunnel is reported connected (statusChanged), else 0.", "",
           tunnel_status_ == kConnected ? 1 : 0);
  text.add("control_connections_refused_total", MetricType::counter,
           "Control socket connections refused (over the cap).", "",
           static_cast<double>(connections_refused_));
  return text.text();
}

}  // namespace udptun::controller
