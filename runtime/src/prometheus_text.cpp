#include "udptun/runtime/prometheus_text.hpp"

#include <cJSON.h>

#include <cmath>
#include <cstdio>
#include <memory>

namespace udptun::runtime {

namespace {

constexpr const char* kPrefix = "udptun_";

const char* type_name(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

std::string format_value(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integers (every counter) exactly; other values with enough digits to round-trip.
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string join_labels(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  counts_[i]++;
  count_++;
  sum_ += value;
}

void Histogram::add(const Histogram& other) {
  if (other.bounds_ != bounds_) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
}

PrometheusText::PrometheusText(std::string common_labels)
    : common_labels_(std::move(common_labels)) {}

PrometheusText::Family& PrometheusText::family(const std::string& name, MetricType type,
                                               const std::string& help) {
  for (auto& f : families_) {
    if (f.name != name) continue;
    if (f.help.empty()) f.help = help;  // one rule of a family carries its help
    return f;
  }
  families_.push_back({name, type, help, {}});
  return families_.back();
}

std::string PrometheusText::labels_with_common(const std::string& labels) const {
  std::string all = join_labels(common_labels_, labels);
  return all.empty() ? "" : "{" + all + "}";
}

void PrometheusText::add(const std::string& family_name, MetricType type, const std::string& help,
                         const std::string& labels, double value) {
  std::string name = kPrefix + family_name;
  family(name, type, help)
      .samples.push_back(name + labels_with_common(labels) + " " + format_value(value));
}

void PrometheusText::add_histogram(const std::string& family_name, const std::string& help,
                                   const std::string& labels, const Histogram& h) {
  std::string name = kPrefix + family_name;
  Family& f = family(name, MetricType::histogram, help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
    f.samples.push_back(name + "_bucket" +
                        labels_with_common(join_labels(labels, "le=\"" + le + "\"")) + " " +
                        format_value(static_cast<double>(cumulative)));
  }
  f.samples.push_back(name + "_sum" + labels_with_common(labels) + " " + format_value(h.sum()));
  f.samples.push_back(name + "_count" + labels_with_common(labels) + " " +
                      format_value(static_cast<double>(h.count())));
}

bool PrometheusText::add_stats(const std::string& stats_json, const std::vector<MetricRule>& rules,
                               const std::string& labels) {
  std::unique_ptr<cJSON, void (*)(cJSON*)> root(cJSON_Parse(stats_json.c_str()), cJSON_Delete);
  if (!root || !cJSON_IsObject(root.get())) return false;
  const cJSON* item;
  cJSON_ArrayForEach(item, root.get()) {
    if (!cJSON_IsNumber(item) || !item->string) continue;
    std::string key = item->string;
    const MetricRule* rule = nullptr;
    for (const auto& r : rules) {
      if (key == r.key) rule = &r;
    }
    if (rule) {
      add(rule->family, rule->type, rule->help, join_labels(labels, rule->labels),
          item->valuedouble * rule->scale);
    } else if (key.rfind("drops_", 0) == 0) {
      add("drops_total", MetricType::counter, "Datagrams dropped, by reason.",
          join_labels(labels, "reason=\"" + prometheus_label_value(key.substr(6)) + "\""),
          item->valuedouble);
    } else {
      add(key + "_total", MetricType::counter, "The " + key + " counter of the stats object.",
          labels, item->valuedouble);
    }
  }
  return true;
}

std::string PrometheusText::text() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    for (const auto& s : f.samples) out += s + "\n";
  }
  return out;
}

std::string prometheus_label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace udptun::runtime
