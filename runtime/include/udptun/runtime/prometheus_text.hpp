// The Prometheus text exposition format (version 0.0.4), without I/O: families of samples
// with their # HELP and # TYPE, and the rules that turn an instance's flat stats object
// (the *_stats_json output) into conventional metric names — counters ending in _total,
// one family per kind of thing with a bounded label (direction, reason), never a label per
// flow or per address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace udptun::runtime {

enum class MetricType { counter, gauge, histogram };

// How one stats key becomes a sample: `family` (without the udptun_ prefix) and its labels,
// e.g. {"datagrams_to_targets", "datagrams_total", "direction=\"up\"", counter, "..."}.
struct MetricRule {
  const char* key;
  const char* family;
  const char* labels;  // "" or label="value" pairs, comma-separated
  MetricType type;
  const char* help;
  double scale = 1;  // e.g. 1e-6: microseconds in the stats, seconds in the metric
};

// Cumulative buckets of observations in seconds, for a link's round-trip times.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Adds another histogram's observations (the same bounds: a sum of like instances).
  void add(const Histogram& other);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one more than bounds: the +Inf bucket
  uint64_t count_ = 0;
  double sum_ = 0;
};

class PrometheusText {
 public:
  // `common_labels` go on every sample (e.g. service="tun2socks" in the controller's view).
  explicit PrometheusText(std::string common_labels = "");
  void add(const std::string& family, MetricType type, const std::string& help,
           const std::string& labels, double value);
  void add_histogram(const std::string& family, const std::string& help, const std::string& labels,
                     const Histogram& h);
  // Every key of a flat JSON object of numbers: by its rule when there is one; otherwise
  // drops_X → drops_total{reason="X"}, anything else → X_total (a counter). Returns false
  // (adding nothing) when `stats_json` is not such an object. `labels` go on each sample
  // (component="udp-local" for an in-process instance).
  bool add_stats(const std::string& stats_json, const std::vector<MetricRule>& rules,
                 const std::string& labels = "");
  // Families in the order first added, each with its HELP and TYPE once.
  std::string text() const;

 private:
  struct Family {
    std::string name;
    MetricType type;
    std::string help;
    std::vector<std::string> samples;  // "name{labels} value"
  };
  Family& family(const std::string& name, MetricType type, const std::string& help);
  std::string labels_with_common(const std::string& labels) const;

  std::string common_labels_;
  std::vector<Family> families_;
};

// A component's stats struct through its *_stats_json function, then add_stats.
template <class Stats>
bool add_stats_struct(PrometheusText& text, size_t (*to_json)(const Stats*, char*, size_t),
                      const Stats& stats, const std::vector<MetricRule>& rules,
                      const std::string& labels = "") {
  char json[4096];
  size_t n = to_json(&stats, json, sizeof json);
  return n < sizeof json && text.add_stats(json, rules, labels);
}

// A label value as the format wants it: backslash, quote and newline escaped.
std::string prometheus_label_value(const std::string& value);

}  // namespace udptun::runtime
