// tun2socks' /metrics: its counters as they are now, and its in-process udp-local's (the
// latest snapshot from that instance's thread) with component="udp-local".
#include "engine.hpp"
#include "udptun/runtime/metric_names.hpp"

namespace udptun::tun2socks {

std::string Engine::render_metrics() {
  refresh_derived_stats();
  runtime::PrometheusText text;
  runtime::add_stats_struct(text, tun2socks_stats_json, stats_, runtime::tun2socks_metric_rules());
  if (udp_local_) {
    udplocal_stats u{};
    udplocal_get_stats(udp_local_, &u);
    runtime::add_stats_struct(text, udplocal_stats_json, u, runtime::local_metric_rules(),
                              "component=\"udp-local\"");
  }
  return text.text();
}

}  // namespace udptun::tun2socks
