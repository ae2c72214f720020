// The one place that names each component's counters for Prometheus (udptun_*): every
// instance's own /metrics and proxy-controller's (which shows its services' counters too)
// use these, so a counter has the same name wherever it is scraped.
#pragma once

#include <string>
#include <vector>

#include "udptun/runtime/prometheus_text.hpp"

namespace udptun::runtime {

const std::vector<MetricRule>& server_metric_rules();     // udpserver_stats_json keys
const std::vector<MetricRule>& local_metric_rules();      // udplocal_stats_json keys
const std::vector<MetricRule>& tun2socks_metric_rules();  // tun2socks_stats_json keys
// The table for a stats object of any of the three, told apart by a key only it has.
const std::vector<MetricRule>& metric_rules_for_stats(const std::string& stats_json);

}  // namespace udptun::runtime
